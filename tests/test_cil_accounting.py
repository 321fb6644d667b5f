"""Replay-buffer accounting: payload codecs, bit budgets, class-balanced replacement (no training)."""

from __future__ import annotations

import numpy as np
import pytest

from bnn_edge.cil.buffer import BufferBudget, ClassBalancedBuffer, balanced_quotas
from bnn_edge.cil.codec import BinaryLatentCodec, FloatLatentCodec, PixelCodec, bits_per_pixel, label_bits
from bnn_edge.cil.engine import payload_bits
from bnn_edge.models import get_preset


# --- codecs -------------------------------------------------------------------------------------

def test_bits_per_pixel_and_label_bits():
    assert [bits_per_pixel(v) for v in (1, 15, 16, 127, 255)] == [1, 4, 5, 7, 8]
    assert [label_bits(n) for n in (1, 2, 10, 16, 17, 100)] == [0, 1, 4, 4, 5, 7]


def test_binary_latent_codec_is_one_bit_per_feature_and_exact():
    rng = np.random.default_rng(0)
    z = np.where(rng.random((7, 256)) < 0.5, -1.0, 1.0).astype(np.float32)
    c = BinaryLatentCodec(256)
    packed = c.encode(z)
    assert packed.dtype == np.uint8 and packed.shape == (7, 32)  # 256 bits = 32 bytes
    assert c.payload_bits == 256
    np.testing.assert_array_equal(c.decode(packed), z)
    np.testing.assert_array_equal(packed, np.packbits(z < 0, axis=-1, bitorder="little"))
    # layout: bit 1 means -1, feature k in bit k%8 of byte k//8 (FORMAT.md / LCE packing)
    one = np.ones((1, 256), np.float32)
    one[0, 0] = one[0, 9] = -1
    p = c.encode(one)
    assert p[0, 0] == 0b1 and p[0, 1] == 0b10 and p[0, 2:].sum() == 0


def test_binary_latent_codec_odd_width():
    z = np.where(np.random.default_rng(1).random((3, 37)) < 0.5, -1.0, 1.0)
    c = BinaryLatentCodec(37)
    assert c.encode(z).shape == (3, 5)
    np.testing.assert_array_equal(c.decode(c.encode(z)), z)


def test_float_latent_codec_costs_32_bits_per_feature():
    z = np.random.default_rng(2).normal(size=(4, 45)).astype(np.float32)
    c = FloatLatentCodec(45)
    assert c.payload_bits == 32 * 45 and c.encode(z).shape == (4, 180)
    np.testing.assert_array_equal(c.decode(c.encode(z)), z)


@pytest.mark.parametrize("vmax, shape", [(16, (8, 8, 1)), (255, (4, 4, 3)), (127, (5, 3, 2))])
def test_pixel_codec_stores_pixels_at_their_precision(vmax, shape):
    rng = np.random.default_rng(3)
    x = rng.integers(0, vmax + 1, (6,) + shape).astype(np.uint8)
    c = PixelCodec(shape, vmax)
    b = bits_per_pixel(vmax)
    assert c.payload_bits == int(np.prod(shape)) * b
    packed = c.encode(x)
    assert packed.shape == (6, -(-c.payload_bits // 8))
    np.testing.assert_array_equal(c.decode(packed), x)


def test_pixel_codec_rejects_out_of_range_pixels():
    with pytest.raises(ValueError):
        PixelCodec((2, 2, 1), 16).encode(np.full((1, 2, 2, 1), 17, np.uint8))


# --- budgets ------------------------------------------------------------------------------------

def test_digits_budget_counts_payload_plus_label_bits():
    tiny = get_preset("tiny")
    latent = BufferBudget(0.02, payload_bits(tiny, frozen_extractor=True), 10)
    native = BufferBudget(0.02, payload_bits(tiny, frozen_extractor=False), 10)
    assert latent.capacity_bits == native.capacity_bits == 20_000
    assert latent.bits_per_sample == 256 + 4 and latent.capacity == 20_000 // 260 == 76
    assert native.bits_per_sample == 8 * 8 * 5 + 4 and native.capacity == 20_000 // 324 == 61


def test_fp_preset_latent_costs_32_bits_per_feature():
    fp = get_preset("tiny-fp")
    assert not fp.binary
    assert payload_bits(fp, frozen_extractor=True) == 32 * fp.latent


def test_paper_shapes_give_24x_more_latent_samples_per_megabit():
    """32x32x3 8-bit images vs 1024-bit latents, 100 classes (7-bit labels): the paper's x24."""
    p = get_preset("paper")
    assert p.input_shape == (32, 32, 3) and p.vmax == 255 and p.latent == 1024
    lat_bits, nat_bits = payload_bits(p, True), payload_bits(p, False)
    assert lat_bits == 1024 and nat_bits == 32 * 32 * 3 * 8 == 24 * lat_bits
    lat, nat = BufferBudget(1.0, lat_bits, 100), BufferBudget(1.0, nat_bits, 100)
    assert (lat.bits_per_sample, nat.bits_per_sample) == (1031, 24583)
    assert lat.capacity == 969 and nat.capacity == 40
    assert lat.capacity / nat.capacity >= 24
    # the paper's 25 Mb figures: LR 24,400 samples (1024-bit latents), NR 1,150 (7-bit images)
    lat25 = BufferBudget(25.0, lat_bits, 100)
    nat25_7bit = BufferBudget(25.0, PixelCodec((32, 32, 3), 127).payload_bits, 100)
    assert abs(lat25.capacity - 24_400) / 24_400 < 0.01
    assert abs(nat25_7bit.capacity - 1_150) / 1_150 < 0.02


def test_capacity_bits_is_exact_for_decimal_megabits():
    assert BufferBudget(0.005, 260, 10).capacity_bits == 5000
    assert BufferBudget(0.3, 1, 2).capacity_bits == 300_000  # 0.3 * 1e6 = 299999.99999999994 in floats


# --- replacement --------------------------------------------------------------------------------

def _index_buffer(capacity_samples: int, num_classes: int, seed: int) -> ClassBalancedBuffer:
    """A buffer whose payload is one 16-bit value per sample (stores sample ids exactly)."""
    codec = PixelCodec((1, 1, 2), 255)
    bps = codec.payload_bits + label_bits(num_classes)
    return ClassBalancedBuffer(BufferBudget(capacity_samples * bps / 1e6, codec.payload_bits, num_classes), codec, seed)


def _ids(n0: int, n: int) -> np.ndarray:
    ids = np.arange(n0, n0 + n)
    return np.stack([ids % 256, ids // 256], -1).reshape(n, 1, 1, 2).astype(np.uint8)


def _decode_ids(x: np.ndarray) -> np.ndarray:
    return x[:, 0, 0, 0].astype(int) + 256 * x[:, 0, 0, 1].astype(int)


def test_buffer_is_class_balanced_after_each_phase_and_within_budget():
    buf = _index_buffer(76, 10, seed=0)
    y0 = np.repeat(np.arange(5), 140)
    buf.update(_ids(0, len(y0)), y0)
    counts = buf.class_counts()
    assert sorted(counts) == [0, 1, 2, 3, 4] and sum(counts.values()) == 76
    assert max(counts.values()) - min(counts.values()) <= 1
    stored_before = {c: set(_decode_ids(buf.samples()[0])[buf.labels == c]) for c in counts}
    n0 = len(y0)
    for phase, c in enumerate(range(5, 10)):
        y = np.full(130, c)
        buf.update(_ids(n0, 130), y)
        x, labels = buf.samples()
        ids = _decode_ids(x)
        counts = buf.class_counts()
        assert sorted(counts) == list(range(c + 1)) and len(buf) == 76
        assert max(counts.values()) - min(counts.values()) <= 1
        assert buf.bits_used == 76 * buf.budget.bits_per_sample <= buf.budget.capacity_bits
        # every stored sample is a sample of its class; old classes only ever lose samples
        assert np.all(ids[labels == c] >= n0) and np.all(ids[labels == c] < n0 + 130)
        for old, before in stored_before.items():
            now = set(ids[labels == old])
            assert now <= before
            stored_before[old] = now
        stored_before[c] = set(ids[labels == c])
        n0 += 130


def test_buffer_water_fills_classes_with_few_samples():
    buf = _index_buffer(30, 4, seed=1)
    y = np.concatenate([np.full(3, 0), np.full(50, 1), np.full(50, 2)])
    buf.update(_ids(0, len(y)), y)
    assert buf.class_counts() == {0: 3, 1: 14, 2: 13} or buf.class_counts() == {0: 3, 1: 13, 2: 14}


def test_balanced_quotas_properties():
    rng = np.random.default_rng(0)
    for _ in range(200):
        k = int(rng.integers(1, 8))
        avail = {c: int(rng.integers(0, 40)) for c in range(k)}
        cap = int(rng.integers(0, 120))
        q = balanced_quotas(avail, cap, rng)
        assert sum(q.values()) == min(cap, sum(avail.values()))
        assert all(0 <= q[c] <= avail[c] for c in avail)
        uncapped = [q[c] for c in avail if q[c] < avail[c]]
        if uncapped:  # no class holds more than one sample above a class that could still take more
            assert all(q[c] <= min(uncapped) + 1 for c in avail)


def test_buffer_is_seeded():
    y = np.repeat(np.arange(3), 40)
    a, b, c = (_index_buffer(10, 3, s) for s in (5, 5, 6))
    for buf in (a, b, c):
        buf.update(_ids(0, len(y)), y)
    ids = [sorted(_decode_ids(buf.samples()[0])) for buf in (a, b, c)]
    assert ids[0] == ids[1] and ids[0] != ids[2]


def test_within_class_choice_is_uniform_like_reservoir_sampling():
    """Each of 20 candidates ends up stored with probability 4/20, also after a later shrink."""
    hits = np.zeros(20)
    trials = 1500
    for seed in range(trials):
        buf = _index_buffer(8, 2, seed)
        buf.update(_ids(0, 20), np.zeros(20, int))  # class 0: 8 of 20 kept
        buf.update(_ids(100, 20), np.ones(20, int))  # class 0 shrinks to 4 of its 8
        x, y = buf.samples()
        hits[_decode_ids(x)[y == 0]] += 1
    expected = trials * 4 / 20
    sigma = np.sqrt(trials * 0.2 * 0.8)
    assert np.all(np.abs(hits - expected) < 4.5 * sigma), hits
