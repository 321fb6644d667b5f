"""Every simulator op (bnn_edge/sim) against an independent float reference built from TensorFlow ops.

The reference works on ±1 float32 tensors: sums of ±1 products are small integers, exact in
float32, so results are compared with equality. SAME one-padding is obtained without computing
pad amounts: with the input padded by +1, ``conv(x) = conv_SAME_zero(x - 1) + sum(w)`` (every
window of the padded input sees all taps, and ``x - 1`` is 0 in the padding).
"""

from __future__ import annotations

import numpy as np
import pytest

import bnn_edge  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from bnn_edge.sim import (
    bconv2d,
    bdense,
    bdepthwise2d,
    bmaxpool2d,
    concat,
    from_pm1,
    pack_bits,
    run_pack,
    thermo_encode,
    to_pm1,
    unpack_bits,
    words,
)
from converters.bitpack import tail_mask
from converters.bnnpack import INT32_MAX, INT32_MIN, NO_TENSOR, Pack
from converters.ops import DType, OpCode

tf = pytest.importorskip("tensorflow")

N = 3  # batch


def pm1(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return np.where(rng.random(shape) < 0.5, -1.0, 1.0).astype(np.float32)


def thresholds(rng: np.random.Generator, k: int, n: int) -> np.ndarray:
    """Near K/2 (balanced bits) plus the special values on the first channels."""
    t = rng.integers(k // 2 - 2 - int(np.sqrt(k)), k // 2 + 3 + int(np.sqrt(k)), size=n).astype(np.int64)
    special = [INT32_MIN, INT32_MAX, -1, 0, k, k - 1]
    m = min(len(special), n // 2)
    t[:m] = special[:m]
    return t.astype(np.int32)


def pair(v: int | tuple[int, int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else v


def tail_clear(words_: np.ndarray, c: int) -> bool:
    return not np.any(words_[..., -1] & np.uint32(~tail_mask(c) & 0xFFFFFFFF))


# --------------------------------------------------------------------------------------------
# Float references (TensorFlow), all returning y = K - 2*accum
# --------------------------------------------------------------------------------------------


def ref_conv(x: np.ndarray, w_ohwi: np.ndarray, stride, dilation, padding: str, groups: int) -> np.ndarray:
    s, d = pair(stride), pair(dilation)
    cout, _, _, cin_g = w_ohwi.shape
    cout_g = cout // groups
    outs = []
    for g in range(groups):
        xs = x[..., g * cin_g : (g + 1) * cin_g]
        f = np.transpose(w_ohwi[g * cout_g : (g + 1) * cout_g], (1, 2, 3, 0))  # HWIO
        if padding == "SAME":
            y = tf.nn.conv2d(xs - 1.0, f, strides=[1, *s, 1], padding="SAME", dilations=[1, *d, 1]).numpy()
            y = y + f.sum(axis=(0, 1, 2))
        else:
            y = tf.nn.conv2d(xs, f, strides=[1, *s, 1], padding="VALID", dilations=[1, *d, 1]).numpy()
        outs.append(y)
    return np.concatenate(outs, axis=-1)


def ref_depthwise(x: np.ndarray, w_hwc: np.ndarray, stride, padding: str) -> np.ndarray:
    """TF's depthwise conv at stride 1, VALID, on the input padded with +1 as TF's SAME pads for
    ``stride`` (``pad_total = max((out - 1) s + k - in, 0)``, the smaller half first), then every
    ``stride``-th output: TF's CPU kernel without oneDNN refuses unequal strides (AMD EPYC)."""
    sh, sw = pair(stride)
    kh, kw, _ = w_hwc.shape
    f = w_hwc[..., None]  # [kh, kw, c, 1]
    if padding == "SAME":
        pads = []
        for size, k, st in ((x.shape[1], kh, sh), (x.shape[2], kw, sw)):
            total = max((-(-size // st) - 1) * st + k - size, 0)
            pads.append((total // 2, total - total // 2))
        x = np.pad(x, ((0, 0), *pads, (0, 0)), constant_values=1.0)
    y = tf.nn.depthwise_conv2d(x, f, strides=[1, 1, 1, 1], padding="VALID").numpy()
    return y[:, ::sh, ::sw]


def ref_maxpool(x: np.ndarray, kh: int, kw: int, stride) -> np.ndarray:
    return tf.nn.max_pool2d(x, ksize=[kh, kw], strides=list(pair(stride)), padding="VALID").numpy()


def ref_dense(x_flat: np.ndarray, w: np.ndarray) -> np.ndarray:
    return tf.matmul(x_flat, w, transpose_b=True).numpy()


def ref_thermo(x_u8: np.ndarray, t: np.ndarray) -> np.ndarray:
    xf = tf.cast(x_u8, tf.float32)
    levels = [tf.where(xf[..., ci : ci + 1] >= float(tl), 1.0, -1.0) for ci in range(x_u8.shape[-1]) for tl in t]
    return tf.concat(levels, axis=-1).numpy()


def ref_bits(y: np.ndarray, k: int, thr: np.ndarray) -> np.ndarray:
    """±1 output of the BITS mode from y = K - 2*accum: -1 where accum > thr."""
    accum = (k - y.astype(np.float64)) / 2
    assert np.all(accum == np.round(accum))
    return np.where(accum > thr.astype(np.float64), -1.0, 1.0)


# --------------------------------------------------------------------------------------------
# Single ops
# --------------------------------------------------------------------------------------------

CONV_CASES = [
    # h, w, cin, cout, kh, kw, stride, dilation, padding, groups, out_bits
    (6, 6, 16, 8, 3, 3, 1, 1, "SAME", 1, True),
    (6, 5, 40, 12, 3, 3, 1, 1, "VALID", 1, False),
    (7, 6, 255, 16, 3, 3, 2, 1, "SAME", 1, True),
    (8, 7, 40, 6, 3, 3, 2, 1, "VALID", 1, False),
    (7, 7, 40, 8, 3, 3, 1, 2, "SAME", 1, True),
    (8, 7, 16, 5, 3, 3, 1, 2, "VALID", 1, False),
    (9, 9, 40, 8, 3, 3, 2, 2, "SAME", 1, False),
    (5, 5, 64, 16, 3, 3, 1, 1, "SAME", 2, True),
    (7, 6, 64, 6, 3, 3, 2, 1, "VALID", 2, False),
    (6, 6, 128, 8, 3, 3, 1, 1, "SAME", 4, False),
    (5, 4, 33, 7, 2, 2, 1, 1, "SAME", 1, False),
    (9, 6, 40, 33, 5, 3, (2, 1), 1, "SAME", 1, True),
    (6, 7, 16, 4, 4, 4, 3, 1, "SAME", 1, False),
    (2, 2, 16, 4, 5, 5, 1, 1, "SAME", 1, False),
    (3, 4, 255, 40, 1, 1, 1, 1, "SAME", 1, True),
    (4, 4, 1, 3, 3, 3, 1, 1, "SAME", 1, False),
]


@pytest.mark.parametrize("h,w,cin,cout,kh,kw,stride,dilation,padding,groups,out_bits", CONV_CASES)
def test_bconv2d(h, w, cin, cout, kh, kw, stride, dilation, padding, groups, out_bits) -> None:
    rng = np.random.default_rng(h * 1000 + cin * 10 + cout)
    cin_g = cin // groups
    x = pm1(rng, (N, h, w, cin))
    wt = pm1(rng, (cout, kh, kw, cin_g))
    k = kh * kw * cin_g
    thr = thresholds(rng, k, cout) if out_bits else None
    got = bconv2d(from_pm1(x), from_pm1(wt), thr, cin=cin, cout=cout, kh=kh, kw=kw, stride=stride,
                  dilation=dilation, padding=padding, groups=groups, out_bits=out_bits)
    y = ref_conv(x, wt, stride, dilation, padding, groups)
    if out_bits:
        assert got.dtype == np.uint32 and got.shape == y.shape[:3] + (words(cout),)
        assert tail_clear(got, cout)
        assert np.array_equal(to_pm1(got, cout, np.float32), ref_bits(y, k, thr))
    else:
        assert got.dtype == np.int32 and got.shape == y.shape
        assert np.array_equal(got, y.astype(np.int32))


def test_bconv2d_ignores_nothing_but_counts_padding() -> None:
    """All-+1 input and all-(-1) weights: every tap disagrees, padded ones too -> y = -K everywhere."""
    x = from_pm1(np.ones((1, 3, 3, 40)))
    wt = from_pm1(-np.ones((2, 3, 3, 40)))
    y = bconv2d(x, wt, cin=40, cout=2, kh=3, kw=3, padding="SAME", out_bits=False)
    assert np.all(y == -360)


def test_bconv2d_single_sample_and_flat_weights() -> None:
    rng = np.random.default_rng(5)
    x = from_pm1(pm1(rng, (2, 5, 5, 40)))
    wt = from_pm1(pm1(rng, (4, 3, 3, 40)))
    kw = dict(cin=40, cout=4, kh=3, kw=3, padding="SAME", out_bits=False)
    batch = bconv2d(x, wt, **kw)
    assert np.array_equal(bconv2d(x[1], wt.reshape(-1), **kw), batch[1])


def test_bconv2d_argument_errors() -> None:
    x = np.zeros((1, 4, 4, 1), np.uint32)
    with pytest.raises(ValueError, match="multiple of 32"):
        bconv2d(x, np.zeros(8, np.uint32), cin=16, cout=4, kh=1, kw=1, groups=2, out_bits=False)
    with pytest.raises(ValueError, match="needs thresholds"):
        bconv2d(x, np.zeros(4, np.uint32), cin=16, cout=4, kh=1, kw=1, out_bits=True)
    with pytest.raises(ValueError, match="words per pixel"):
        bconv2d(x, np.zeros(8, np.uint32), cin=40, cout=4, kh=1, kw=1, out_bits=False)


DW_CASES = [
    # h, w, c, kh, kw, stride, padding, out_bits
    (6, 6, 40, 3, 3, 1, "SAME", True),
    (5, 6, 16, 3, 3, 1, "VALID", False),
    (7, 7, 255, 3, 3, 2, "SAME", True),
    (4, 5, 33, 2, 2, 1, "SAME", False),
    (8, 6, 40, 3, 3, (2, 1), "SAME", False),
    (6, 6, 32, 5, 5, 2, "VALID", True),
    (3, 3, 7, 5, 5, 1, "SAME", False),
]


@pytest.mark.parametrize("h,w,c,kh,kw,stride,padding,out_bits", DW_CASES)
def test_bdepthwise2d(h, w, c, kh, kw, stride, padding, out_bits) -> None:
    rng = np.random.default_rng(h * 100 + c)
    x = pm1(rng, (N, h, w, c))
    wt = pm1(rng, (kh, kw, c))
    k = kh * kw
    thr = thresholds(rng, k, c) if out_bits else None
    got = bdepthwise2d(from_pm1(x), from_pm1(wt), thr, c=c, kh=kh, kw=kw, stride=stride, padding=padding,
                       out_bits=out_bits)
    y = ref_depthwise(x, wt, stride, padding)
    if out_bits:
        assert tail_clear(got, c)
        assert np.array_equal(to_pm1(got, c, np.float32), ref_bits(y, k, thr))
    else:
        assert got.dtype == np.int32 and np.array_equal(got, y.astype(np.int32))


POOL_CASES = [(6, 6, 40, 2, 2, 2), (7, 6, 255, 3, 3, 2), (5, 7, 16, 3, 2, (1, 2)), (4, 4, 33, 4, 4, 1),
              (5, 5, 64, 1, 1, 1)]


@pytest.mark.parametrize("h,w,c,kh,kw,stride", POOL_CASES)
def test_bmaxpool2d(h, w, c, kh, kw, stride) -> None:
    rng = np.random.default_rng(h + c)
    # mostly -1 so that all-(-1) windows (the only way to get -1 out) actually occur
    x = np.where(rng.random((N, h, w, c)) < 0.8, -1.0, 1.0).astype(np.float32)
    got = bmaxpool2d(from_pm1(x), kh=kh, kw=kw, stride=stride)
    ref = ref_maxpool(x, kh, kw, stride)
    assert tail_clear(got, c)
    assert np.array_equal(to_pm1(got, c, np.float32), ref)
    assert (ref == -1).any() and (ref == 1).any()


def test_bmaxpool2d_rejects_same() -> None:
    with pytest.raises(ValueError, match="VALID"):
        bmaxpool2d(np.zeros((1, 4, 4, 1), np.uint32), kh=2, kw=2, stride=2, padding="SAME")


DENSE_CASES = [(1, 1, 100, 24, True), (1, 1, 255, 10, False), (2, 2, 64, 40, True), (3, 1, 32, 7, False),
               (1, 1, 1, 3, False)]


@pytest.mark.parametrize("h,w,c,cout,out_bits", DENSE_CASES)
def test_bdense(h, w, c, cout, out_bits) -> None:
    rng = np.random.default_rng(c + cout)
    cin = h * w * c
    x = pm1(rng, (N, h, w, c))
    wt = pm1(rng, (cout, cin))
    thr = thresholds(rng, cin, cout) if out_bits else None
    got = bdense(from_pm1(x), from_pm1(wt), thr, cin=cin, cout=cout, out_bits=out_bits)
    y = ref_dense(x.reshape(N, cin), wt)  # flat in h, w, c order
    if out_bits:
        assert got.shape == (N, 1, 1, words(cout)) and tail_clear(got, cout)
        assert np.array_equal(to_pm1(got, cout, np.float32).reshape(N, cout), ref_bits(y, cin, thr))
    else:
        assert got.shape == (N, 1, 1, cout) and np.array_equal(got.reshape(N, cout), y.astype(np.int32))


CONCAT_CASES = [(3, 2, 40, 16, False), (2, 2, 32, 33, False), (1, 1, 20, 20, True), (2, 3, 255, 1, False),
                (1, 1, 7, 57, False)]


@pytest.mark.parametrize("h,w,ca,cb,same", CONCAT_CASES)
def test_concat(h, w, ca, cb, same) -> None:
    rng = np.random.default_rng(ca * 7 + cb)
    a = pm1(rng, (N, h, w, ca))
    b = a if same else pm1(rng, (N, h, w, cb))
    got = concat(from_pm1(a), from_pm1(b), ca=ca, cb=cb)
    assert tail_clear(got, ca + cb)
    assert np.array_equal(to_pm1(got, ca + cb, np.float32), tf.concat([a, b], axis=-1).numpy())


@pytest.mark.parametrize("c,levels", [(3, 16), (3, 85), (1, 1), (2, 40)])
def test_thermo_encode(c: int, levels: int) -> None:
    rng = np.random.default_rng(levels)
    t = np.sort(rng.integers(0, 256, size=levels)).astype(np.int32)
    t[0] = 0
    t[-1] = 255
    if levels > 3:
        t[1] = t[2]
    x = rng.integers(0, 256, size=(N, 4, 5, c), dtype=np.uint8)
    x[0, 0, 0, :] = 0
    x[0, 0, 1, :] = 255
    m = min(x[1].size, levels)
    x[1].flat[:m] = t[:m]  # pixels exactly at a level's threshold: x >= t is +1
    got = thermo_encode(x, t)
    assert got.shape == (N, 4, 5, words(c * levels)) and tail_clear(got, c * levels)
    assert np.array_equal(to_pm1(got, c * levels, np.float32), ref_thermo(x, t))


def test_thermo_all_pixel_values() -> None:
    x = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
    t = np.array([0, 1, 128, 128, 255], dtype=np.int32)
    assert np.array_equal(to_pm1(thermo_encode(x, t), 5, np.float32), ref_thermo(x, t))


# --------------------------------------------------------------------------------------------
# Whole packs (every golden case) against a TensorFlow re-implementation
# --------------------------------------------------------------------------------------------


def tf_run_pack(pack: Pack, inputs: np.ndarray) -> dict[int, np.ndarray]:
    """Float reference interpreter: BITS tensors are ±1 float32 ``[N, h, w, c]``."""
    t_in = pack.tensors[pack.input_tensor]
    vals: dict[int, np.ndarray] = {}
    vals[pack.input_tensor] = inputs if t_in.dtype == DType.UINT8 else to_pm1(inputs, t_in.c, np.float32)
    for op in pack.ops:
        x = vals[op.in0]
        ti, to = pack.tensors[op.in0], pack.tensors[op.out]
        p = op.params
        if op.type == OpCode.THERMO_ENCODE:
            vals[op.out] = ref_thermo(x, op.thresholds)
            continue
        if op.type == OpCode.BMAXPOOL2D:
            vals[op.out] = ref_maxpool(x, p[0], p[1], (p[2], p[3]))
            continue
        if op.type == OpCode.CONCAT:
            vals[op.out] = tf.concat([x, vals[op.in1]], axis=-1).numpy()
            continue
        if op.type == OpCode.BCONV2D:
            cin_g = ti.c // p[7]
            wt = to_pm1(op.weights.reshape(to.c, p[0], p[1], words(cin_g)), cin_g, np.float32)
            y = ref_conv(x, wt, (p[2], p[3]), (p[4], p[5]), "SAME" if p[6] == 0 else "VALID", p[7])
            k = p[0] * p[1] * cin_g
        elif op.type == OpCode.BDEPTHWISE2D:
            wt = to_pm1(op.weights.reshape(p[0], p[1], words(ti.c)), ti.c, np.float32)
            y = ref_depthwise(x, wt, (p[2], p[3]), "SAME" if p[4] == 0 else "VALID")
            k = p[0] * p[1]
        else:
            assert op.type == OpCode.BDENSE
            wt = to_pm1(op.weights.reshape(p[1], words(p[0])), p[0], np.float32)
            y = ref_dense(x.reshape(x.shape[0], -1), wt).reshape(x.shape[0], 1, 1, p[1])
            k = p[0]
        vals[op.out] = ref_bits(y, k, op.thresholds) if to.dtype == DType.BITS else y
    return vals


def _golden_cases():
    from bnn_edge.codegen.golden import build_cases

    return build_cases()


GOLDEN = _golden_cases()


@pytest.mark.parametrize("case", GOLDEN, ids=[c.name for c in GOLDEN])
def test_golden_case_matches_float_reference(case) -> None:
    pack = case.pack
    sim = run_pack(pack, case.inputs)
    ref = tf_run_pack(pack, case.inputs)
    for tid, value in sim["tensors"].items():
        spec = pack.tensors[tid]
        if tid == pack.input_tensor:
            continue
        if spec.dtype == DType.BITS:
            assert tail_clear(value, spec.c), tid
            assert np.array_equal(to_pm1(value, spec.c, np.float32), ref[tid]), f"tensor {tid}"
        else:
            assert np.array_equal(value, ref[tid].astype(np.int32)), f"tensor {tid}"
    if pack.latent_tensor != NO_TENSOR:
        assert np.array_equal(sim["latent"], sim["tensors"][pack.latent_tensor])
    assert np.array_equal(sim["output"], sim["tensors"][pack.output_tensor])


def test_golden_bits_are_not_degenerate() -> None:
    """The golden models' binary tensors carry information (not all +1 or all -1)."""
    for case in GOLDEN:
        if not case.name.startswith("model_"):
            continue
        sim = run_pack(case.pack, case.inputs)
        for tid, value in sim["tensors"].items():
            spec = case.pack.tensors[tid]
            if spec.dtype == DType.BITS:
                frac = unpack_bits(value, spec.c).mean()
                assert 0.1 < frac < 0.9, (case.name, tid, frac)
        assert len({tuple(v.ravel()) for v in sim["output"]}) == len(case.inputs)  # inputs give different logits


def test_run_pack_bytes_single_sample_and_batch_agree() -> None:
    from converters.bnnpack import write_pack

    case = next(c for c in GOLDEN if c.name == "model_digits_8x8")
    batch = run_pack(case.pack, case.inputs)
    from_bytes = run_pack(write_pack(case.pack), case.inputs)
    assert np.array_equal(batch["output"], from_bytes["output"])
    one = run_pack(case.pack, case.inputs[2])
    assert np.array_equal(one["output"], batch["output"][2])
    assert np.array_equal(one["latent"], batch["latent"][2])
    assert batch["latent"].shape == (len(case.inputs), 1, 1, 2) and batch["latent"].dtype == np.uint32
    with pytest.raises(ValueError, match="expected \\[N, 8, 8, 1\\]"):
        run_pack(case.pack, case.inputs[:, :4])


def test_pack_bits_helper_used_by_reference_is_sane() -> None:
    # the reference decodes pack weights with to_pm1; pin it to the literal definition once more
    assert to_pm1(pack_bits(np.array([[True, False, True]])), 3).tolist() == [[-1, 1, -1]]


def test_interpreter_batch_equals_one_image_at_a_time() -> None:
    """The batched, vectorised interpreter gives every image the result it gets alone (its speed is
    a benchmark figure, `benchmarks/bench_python.py`, not a timed test)."""
    case = next(c for c in GOLDEN if c.name == "model_digits_8x8")
    x = np.random.default_rng(0).integers(0, 256, size=(24, 8, 8, 1), dtype=np.uint8)
    batch = run_pack(case.pack, x)
    for i in (0, 7, 23):
        alone = run_pack(case.pack, x[i])
        assert np.array_equal(batch["output"][i], alone["output"])
        assert np.array_equal(batch["latent"][i], alone["latent"])