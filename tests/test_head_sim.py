"""The Python twin of the on-device head (bnn_edge.sim.head / prng): definitions, update rule,
memory accounting, state blob, float reference, and the CIL simulation on synthetic latents."""

from __future__ import annotations

import math
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bnn_edge.sim import store
from bnn_edge.sim.cil_stream import (
    DIGITS_TASKS,
    as_packed,
    group_tasks,
    simulate_cil,
    state_size,
    synthetic_latents,
)
from bnn_edge.sim.head import (
    EXP_LUT,
    EXP_LUT_LEN,
    FloatHead,
    HeadConfig,
    IntHead,
    head_memory,
    init_latents,
    parse_state,
    rshift_round,
    w1_from_seed,
)
from bnn_edge.sim.prng import XorShift32, fmix32, seed_stream
from converters.bitpack import from_pm1, to_pm1


def all_pm1(words: np.ndarray) -> np.ndarray:
    """All 32W channels of packed words as int8 +-1 (the project's one bit packing, bitpack.py)."""
    w = np.asarray(words)
    return to_pm1(w, 32 * w.shape[-1])


REPO = Path(__file__).resolve().parents[1]


# ---- PRNG -----------------------------------------------------------------------------------


def test_xorshift32_reference_values() -> None:
    r = XorShift32(1)
    assert [r.next_u32() for _ in range(3)] == [270369, 67634689, 2647435461]
    assert XorShift32(0).next_u32() != 0  # zero state replaced
    assert fmix32(0) == 0 and fmix32(1) == 0x514E28B7
    assert all(seed_stream(s, k) != 0 for s in range(4) for k in range(4))


@settings(deadline=None)  # timing varies with the machine's load
@given(st.integers(1, 2**32 - 1), st.integers(1, 2**32 - 1))
def test_below_is_multiply_shift(state: int, n: int) -> None:
    a, b = XorShift32(state), XorShift32(state)
    v = a.below(n)
    assert v == (b.next_u32() * n) >> 32
    assert 0 <= v < n


# ---- bits, LUT, rounding --------------------------------------------------------------------


@settings(deadline=None)  # timing varies with the machine's load
@given(st.integers(1, 4), st.integers(0, 2**31))
def test_head_uses_the_project_bit_packing(words: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    v = rng.choice(np.array([-1, 1], np.int8), size=(3, 32 * words))
    w = from_pm1(v)
    assert w.shape == (3, words) and w.dtype == np.uint32
    assert np.array_equal(all_pm1(w), v)
    # channel k = bit k % 32 of word k // 32; bit 1 means -1
    for k in range(32 * words):
        assert ((int(w[0, k // 32]) >> (k % 32)) & 1) == (v[0, k] < 0)


def test_exp_lut_formula_and_c_table() -> None:
    assert len(EXP_LUT) == EXP_LUT_LEN == 178
    assert EXP_LUT[0] == 32768 and EXP_LUT[-1] >= 1
    assert math.floor(32768 * math.exp(-EXP_LUT_LEN / 16) + 0.5) == 0  # entries past the end are 0
    for j, v in enumerate(EXP_LUT):
        assert v == math.floor(32768 * math.exp(-j / 16) + 0.5)
    # the C table is generated from EXP_LUT (tests/test_codegen_constants.py checks it is current)
    header = (REPO / "firmware/include/bnn/bnn_constants.h").read_text()
    body = re.search(r"#define BNN_HEAD_EXP_LUT \{ \\\n(.*?)\n\}", header, re.S)
    assert body is not None
    assert tuple(int(x) for x in body.group(1).replace("\\", " ").split(",")) == EXP_LUT
    assert re.search(rf"#define BNN_HEAD_EXP_LUT_LEN {EXP_LUT_LEN}u", header)
    (src,) = [p.read_text() for p in REPO.glob("firmware/src/**/bnn_head.c")]
    assert "static const uint16_t EXP_LUT[EXP_LUT_LEN] = BNN_HEAD_EXP_LUT;" in src


@settings(deadline=None)  # timing varies with the machine's load
@given(st.integers(-(2**30), 2**30), st.integers(0, 30))
def test_rshift_round_half_away_from_zero(x: int, s: int) -> None:
    q = Fraction(x, 2**s)
    want = int(abs(q) + Fraction(1, 2)) * (1 if x >= 0 else -1)
    assert int(rshift_round(np.array([x]), s)[0]) == want


@settings(deadline=None)  # timing varies with the machine's load
@given(st.lists(st.integers(-768, 768).map(lambda v: v * 2), min_size=1, max_size=12), st.integers(3, 9))
def test_softmax_q15_close_to_float(logits: list[int], ts: int) -> None:
    cfg = HeadConfig(temp_shift=ts)
    h, f = IntHead.__new__(IntHead), FloatHead.__new__(FloatHead)
    h.cfg = f.cfg = cfg
    h._lut = np.array(EXP_LUT + (0,), dtype=np.int64)
    f._inv_t = np.float32(1.0 / (1 << ts))
    p = h.softmax_q15(np.array(logits)) / 32768.0
    q = np.exp((np.array(logits) - max(logits)) / 2.0**ts)
    q /= q.sum()
    # the LUT index is floored to 1/16 nat: each exp is over-estimated by < exp(1/16)
    assert np.all(np.abs(p - q) <= 0.07)
    assert abs(p.sum() - 1) <= len(logits) / 32768
    assert np.allclose(f.softmax(np.array(logits)), q, atol=1e-6)


# ---- configuration and memory ---------------------------------------------------------------


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="multiple of 32"):
        HeadConfig(n_latent=100)
    with pytest.raises(ValueError, match="multiple of 32"):
        HeadConfig(n_hidden=40)
    with pytest.raises(ValueError, match="smaller than one sample"):
        HeadConfig(buffer_bytes=32)
    with pytest.raises(ValueError, match="max_classes"):
        HeadConfig(max_classes=0)
    with pytest.raises(ValueError, match="init_range"):
        HeadConfig(init_range=5000, latent_clip=4000)
    assert HeadConfig(buffer_bytes=33).n_slots == 1


def test_memory_figures_default() -> None:
    cfg = HeadConfig()
    m = head_memory(cfg, control_bytes=200)
    assert m == {
        "w1_bits": 4096,
        "w2_bits": 960,
        "w2_latent": 15360,
        "buffer": 124 * 33,
        "buffer_meta": 60,
        "scratch": 380,
        "control": 200,
        "arena": 24948,
        "total": 25148,
    }
    assert head_memory(cfg, w1_in_ram=False)["w1_bits"] == 0
    assert state_size(cfg) == len(IntHead(cfg).state_bytes()) == 48 + 40 + 20 + 15360 + 124 * 32 + 124


# ---- the head -------------------------------------------------------------------------------


def _small(**kw: int) -> HeadConfig:
    base = dict(n_latent=64, n_hidden=32, max_classes=5, buffer_bytes=9 * 20, epochs=2, lr_shift=7, temp_shift=5)
    base.update(kw)
    return HeadConfig(**base)


def test_init_is_seeded_and_nonzero() -> None:
    cfg = _small()
    lat = init_latents(cfg)
    assert lat.shape == (5, 2 * 96) and lat.dtype == np.int16
    assert np.all(lat != 0) and np.all(np.abs(lat) <= cfg.init_range)
    assert np.array_equal(lat, init_latents(cfg))
    assert not np.array_equal(lat, init_latents(_small(seed=2)))
    assert w1_from_seed(cfg).shape == (32, 2)


def test_label_errors_and_class_growth() -> None:
    h = IntHead(_small())
    z = np.array([1, 2], np.uint32)
    with pytest.raises(ValueError, match="no active class"):
        h.predict(z)
    with pytest.raises(ValueError, match="beyond max_classes"):
        h.learn(z, 5)
    with pytest.raises(ValueError, match="beyond max_classes"):
        h.buffer_add(z, 7)
    h.learn(z, 3)
    assert h.n_classes == 4 and h.logits(z).shape == (4,)


def test_forward_matches_definition() -> None:
    cfg = _small()
    h = IntHead(cfg)
    rng = np.random.default_rng(0)
    for i in range(30):
        h.learn(rng.integers(0, 2**32, 2, dtype=np.uint32), i % 5)
    zs = rng.integers(0, 2**32, (20, 2), dtype=np.uint32)
    zpm = all_pm1(zs).astype(int)
    w1 = all_pm1(h.w1_words).astype(int)
    hid = np.where(zpm @ w1.T >= 0, 1, -1)
    c = np.concatenate([zpm, hid], axis=1)
    d = np.concatenate([c, c], axis=1)
    w2 = all_pm1(h.w2_words()).astype(int)[: h.n_classes]
    assert np.array_equal(h.logits(zs), d @ w2.T)
    # packed form: 2C - 2 * popcount(d ^ w2)
    pc = np.array([[int(np.sum(all_pm1(from_pm1(di)) != wk)) for wk in w2] for di in d])
    assert np.array_equal(h.logits(zs), 2 * 96 - 2 * pc)


def test_single_sgd_step_by_hand() -> None:
    """One step recomputed with plain Python integers from the documented formulas."""
    cfg = _small(replay_k=0, lr_mul=3, lr_shift=8)
    h = IntHead(cfg)
    h.buffer_add(np.array([5, 6], np.uint32), 2)  # classes 0..2 active, no training
    before = h.latent.astype(int).copy()
    z = np.array([0xDEADBEEF, 0x01234567], np.uint32)
    c = h.channels(all_pm1(z)).astype(int)
    d = np.concatenate([c, c])
    signs = np.where(before >= 0, 1, -1)
    logits = [int(signs[k] @ d) for k in range(3)]
    m = max(logits)
    e = []
    for lg in logits:
        j = ((m - lg) * 16) >> cfg.temp_shift
        e.append(EXP_LUT[j] if j < len(EXP_LUT) else 0)
    s = sum(e)
    p = [(ek * 32768 + s // 2) // s for ek in e]
    y = 1
    want = before.copy()
    for k in range(3):
        g = p[k] - (32768 if k == y else 0)
        x = g * cfg.lr_mul
        step = (abs(x) + (1 << (cfg.lr_shift - 1))) >> cfg.lr_shift
        step = step if x >= 0 else -step
        want[k] = np.clip(before[k] - step * d, -cfg.latent_clip, cfg.latent_clip)
    h.learn(z, y)
    assert np.array_equal(h.latent.astype(int), want)
    assert h.steps == 1 and h.learned == 1 and h.buffer.fill == 2


def test_float_reference_step() -> None:
    cfg = _small(replay_k=0)
    f = FloatHead(cfg)
    f.buffer_add(np.array([5, 6], np.uint32), 1)
    before = f.latent.astype(np.float64).copy()
    z = np.array([0xDEADBEEF, 0x01234567], np.uint32)
    c = f.channels(all_pm1(z)).astype(np.float64)
    d = np.concatenate([c, c])
    lg = np.where(before[:2] >= 0, 1.0, -1.0) @ d
    p = np.exp((lg - lg.max()) / 2**cfg.temp_shift)
    p /= p.sum()
    g = p - np.array([1.0, 0.0])
    want = np.clip(before[:2] - (g * 32768 * cfg.lr_mul / 2**cfg.lr_shift)[:, None] * d, -cfg.latent_clip, cfg.latent_clip)
    f.learn(z, 0)
    assert np.allclose(f.latent[:2], want, atol=1e-2)


def test_saturation() -> None:
    cfg = _small(replay_k=0, lr_mul=32768, lr_shift=0, temp_shift=9)
    h = IntHead(cfg)
    h.buffer_add(np.array([5, 6], np.uint32), 1)
    h.learn(np.array([7, 8], np.uint32), 0)
    assert set(np.unique(h.latent[:2])) <= {-cfg.latent_clip, cfg.latent_clip}
    assert np.array_equal(h.latent[2:], init_latents(cfg)[2:])  # inactive rows untouched


def test_int_and_float_share_the_replay_stream() -> None:
    cfg = _small()
    hi, hf = IntHead(cfg, trace=True), FloatHead(cfg, trace=True)
    rng = np.random.default_rng(1)
    for i in range(60):
        z = rng.integers(0, 2**32, 2, dtype=np.uint32)
        for h in (hi, hf):
            h.learn(z, i % 4)
        if i % 20 == 19:
            hi.end_task()
            hf.end_task()
    assert hi.trace is not None and hf.trace is not None
    assert hi.trace.slots == hf.trace.slots and len(hi.trace.slots) > 200
    assert np.array_equal(hi.buffer.data, hf.buffer.data)
    assert hi.buffer.rng.state == hf.buffer.rng.state


def test_state_blob_layout_and_reload() -> None:
    cfg = _small()
    h = IntHead(cfg)
    rng = np.random.default_rng(2)
    for i in range(40):
        h.learn(rng.integers(0, 2**32, 2, dtype=np.uint32), i % 3)
    h.end_task()
    blob = h.state_bytes()
    assert len(blob) == state_size(cfg)
    f = parse_state(blob, cfg.max_classes, cfg.n_channels, 2)
    assert blob[:4] == b"BNHS"
    assert (f["n_latent"], f["n_hidden"], f["max_classes"], f["n_slots"]) == (64, 32, 5, 20)
    assert (f["n_classes"], f["tasks"], f["steps"], f["learned"], f["fill"]) == (
        3, 1, h.steps, 40, 20,
    )  # fmt: skip
    assert np.array_equal(f["latent"], h.latent) and np.array_equal(f["labels"], h.buffer.labels)
    assert f["rng_buf"] == h.buffer.rng.state and f["w1_crc"] == h.w1_crc()
    # through a flash image and back
    img = store.slot_image(blob, 7, 4096) + store.slot_image(b"x" * 10, 3, 4096)
    got = store.newest_state(img)
    assert got is not None and got.seq == 7 and got.blob == blob
    g = IntHead(cfg)
    g.load_state_bytes(got.blob)
    assert g.state_bytes() == blob
    zs = rng.integers(0, 2**32, (10, 2), dtype=np.uint32)
    assert np.array_equal(g.predict(zs), h.predict(zs))
    # shape, W1 and consistency checks
    with pytest.raises(ValueError, match="another head shape"):
        IntHead(_small(seed=9)).load_state_bytes(blob)
    bad = bytearray(blob)
    bad[48 + 20] ^= 1  # count[0]
    with pytest.raises(ValueError, match="inconsistent"):
        IntHead(cfg).load_state_bytes(bytes(bad))


def test_store_serial_order_and_damage() -> None:
    blob_a, blob_b = b"a" * 40, b"b" * 40
    img = store.slot_image(blob_a, 0xFFFFFFFF, 256) + store.slot_image(blob_b, 0, 256)
    got = store.newest_state(img)
    assert got is not None and got.slot == 1  # 0 follows 2**32 - 1
    dam = bytearray(img)
    dam[256 + 40] ^= 0x80  # a blob byte of slot 1
    got = store.newest_state(bytes(dam))
    assert got is not None and got.slot == 0
    assert store.newest_state(b"\xff" * 512) is None
    assert len(store.slot_header(blob_a, 1)) == 32 and store.blob_offset(64) == 64


# ---- CIL on synthetic latents ---------------------------------------------------------------


def _digits_like(seed: int, per_class: tuple[int, int] = (100, 180)) -> dict:
    tr_x, tr_y, te_x, te_y = synthetic_latents(seed=seed, train_per_class=per_class)
    return dict(
        latents_by_task=group_tasks(tr_x, DIGITS_TASKS),
        labels_by_task=group_tasks(tr_y, DIGITS_TASKS),
        test_latents_by_task=group_tasks(te_x, DIGITS_TASKS),
        test_labels_by_task=group_tasks(te_y, DIGITS_TASKS),
    )


def test_simulate_cil_digits_protocol() -> None:
    r = simulate_cil(**_digits_like(0), buffer_bytes=4096, ram_bytes=65536, seed=0)
    for kind in ("int", "float"):
        a = r[f"acc_{kind}"]
        assert a.shape == (6, 6)
        assert np.all(np.isnan(a[np.triu_indices(6, 1)]))
        assert not np.any(np.isnan(a[np.tril_indices(6)]))
        assert r[f"final_acc_{kind}"] >= 0.8
    assert r["final_acc_int"] >= 0.75  # the project target, on synthetic data
    assert abs(r["gap"]) <= 0.03
    assert r["fits"] and r["ram"]["total"] <= 65536 and r["ram"]["buffer"] <= 4096
    assert r["eval_on"] == "test" and r["config"].max_classes == 10
    assert r["trained_per_task"][0] > 500  # all pre-training latents offered to the buffer
    counts = r["int_head"].buffer.count
    assert counts.sum() == 124 and counts.max() - counts.min() <= 1  # class-balanced


def test_simulate_cil_shots_and_inputs() -> None:
    data = _digits_like(1, per_class=(30, 40))
    r = simulate_cil(**data, shots=5, buffer_bytes=1024, ram_bytes=16384, seed=3)
    assert r["trained_per_task"][1:] == [5] * 5
    assert not r["fits"]  # the head alone is > 16 KiB
    # +-1 values, bits and LCE-style int32 words are packed the same way
    x = data["latents_by_task"][0]
    assert np.array_equal(as_packed(all_pm1(x).astype(np.float32)), x)
    assert np.array_equal(as_packed(all_pm1(x).astype(np.int8)), x)
    assert np.array_equal(as_packed(all_pm1(x) < 0), x)
    assert np.array_equal(as_packed(x.view(np.int32)), x)
    r2 = simulate_cil([all_pm1(x)], [data["labels_by_task"][0]], buffer_bytes=1024, seed=3)
    assert r2["eval_on"] == "train" and r2["acc_int"].shape == (1, 1)
