"""Golden vectors for the firmware: small seeded packs, inputs, and the simulator's outputs.

``python -m bnn_edge.codegen.golden [--out firmware/tests/golden/golden_cases.h] [--seed N]`` writes
one C header holding, per case, a complete ``.bnnpack``, ``n_inputs`` input samples and the
output (and latent) tensor storage the firmware must reproduce byte for byte. The cases cover
every op type and option (see :func:`build_cases`) and two whole small models. The output is a
pure function of the seed and the numpy / bnn-edge versions named in its stamp.
"""

from __future__ import annotations

import argparse
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from bnn_edge import __version__
from bnn_edge.sim.interpreter import run_pack
from converters.bnnpack import (
    INT32_MAX,
    INT32_MIN,
    NO_TENSOR,
    OpSpec,
    Pack,
    TensorSpec,
    check_op,
    infer_output_shape,
    plan_arena,
    to_storage,
    write_pack,
)
from converters.bitpack import from_pm1, pack_bits
from converters.ops import DType, OpCode, Padding

__all__ = ["GoldenCase", "build_cases", "render_header", "main", "DEFAULT_SEED", "DEFAULT_OUT"]

DEFAULT_SEED = 1234
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "firmware" / "tests" / "golden" / "golden_cases.h"
_CANONICAL_OUT = "firmware/tests/golden/golden_cases.h"


@dataclass
class GoldenCase:
    """One golden case: a pack, a batch of inputs (storage values) and a one-line description."""

    name: str
    pack: Pack
    inputs: np.ndarray
    description: str


# --------------------------------------------------------------------------------------------
# Random data
# --------------------------------------------------------------------------------------------


def _pm1(rng: np.random.Generator, shape: Sequence[int]) -> np.ndarray:
    return np.where(rng.random(tuple(shape)) < 0.5, -1.0, 1.0)


def _random_words(rng: np.random.Generator, shape: Sequence[int], c: int) -> np.ndarray:
    """Random packed bits ``[*shape, words(c)]`` for ``c`` channels, tail bits 0."""
    return pack_bits(rng.random(tuple(shape) + (c,)) < 0.5)


def _thresholds(rng: np.random.Generator, k: int, n: int, *, edges: bool) -> np.ndarray:
    """Per-channel ``accum`` thresholds near ``K/2`` (so bits are balanced); with ``edges``, the
    first channels get the special values INT32_MIN (always 1), INT32_MAX (always 0), -1
    (always 1: accum >= 0), K (always 0) and 0 (1 unless every tap agrees)."""
    spread = max(1, int(np.sqrt(k)))
    t = rng.integers(k // 2 - spread, k // 2 + spread + 1, size=n).astype(np.int64)
    if edges:
        special = [INT32_MIN, INT32_MAX, -1, k, 0]
        m = min(n // 2, len(special))
        t[:m] = special[:m]
    return t.astype(np.int32)


def _thermo_thresholds(rng: np.random.Generator, levels: int) -> np.ndarray:
    """Non-decreasing u8 thresholds with repeats and both ends (0: never below; 255)."""
    t = np.sort(rng.integers(0, 256, size=levels))
    t[0] = 0
    t[-1] = 255
    if levels > 4:
        t[2] = t[1]  # a repeated level
    return np.sort(t).astype(np.int32)


def _images(rng: np.random.Generator, n: int, shape: Sequence[int]) -> np.ndarray:
    x = rng.integers(0, 256, size=(n,) + tuple(shape), dtype=np.uint8)
    x[0].flat[0] = 0
    x[0].flat[-1] = 255
    return x


# --------------------------------------------------------------------------------------------
# Pack building
# --------------------------------------------------------------------------------------------


class _Builder:
    """Accumulates tensors and ops of a pack, checking each op as it is added."""

    def __init__(self) -> None:
        self.tensors: list[TensorSpec] = []
        self.ops: list[OpSpec] = []

    def tensor(self, dtype: int, h: int, w: int, c: int) -> int:
        self.tensors.append(TensorSpec(dtype, h, w, c))
        return len(self.tensors) - 1

    def op(self, op_type: int, in0: int, out: int, params: Sequence[int], weights: np.ndarray | None = None,
           thresholds: np.ndarray | None = None, in1: int = NO_TENSOR) -> None:
        op = OpSpec(op_type, in0, in1, out, list(params), weights, thresholds)
        check_op(len(self.ops), op, self.tensors)
        self.ops.append(op)

    def pack(self, input_tensor: int, output_tensor: int, latent_tensor: int = NO_TENSOR,
             meta: dict | None = None) -> Pack:
        keep = [output_tensor] + ([latent_tensor] if latent_tensor != NO_TENSOR else [])
        tensors, arena = plan_arena(self.tensors, self.ops, input_tensor=input_tensor, keep=keep)
        pack = Pack(tensors, self.ops, input_tensor, latent_tensor, output_tensor, arena, 0, meta or {})
        write_pack(pack)  # validates
        return pack


def _shape_str(t: TensorSpec) -> str:
    return f"{t.dtype_name}[{t.h},{t.w},{t.c}]"


def _describe_pack(pack: Pack) -> str:
    parts = []
    for op in pack.ops:
        named = op.named_params()
        ps = ",".join(f"{k}={v}" for k, v in named.items())
        parts.append(f"{OpCode(op.type).name}({ps}) -> {_shape_str(pack.tensors[op.out])}")
    return f"{_shape_str(pack.tensors[pack.input_tensor])}: " + "; ".join(parts)


def _single(rng: np.random.Generator, op_type: int, in_shape: tuple[int, int, int], in_dtype: int,
            params: Sequence[int], out_dtype: int, out_c: int | None = None, *, n_inputs: int = 3,
            same_input: bool = False) -> tuple[Pack, np.ndarray]:
    """A one-op pack with random weights/thresholds and random inputs (a pack has one input, so
    a one-op CONCAT is ``concat(x, x)``; see :func:`_concat_pack` for distinct operands)."""
    b = _Builder()
    x = b.tensor(in_dtype, *in_shape)
    in1 = NO_TENSOR
    in_shapes = [in_shape]
    if op_type == OpCode.CONCAT:
        assert same_input, "use _concat_pack for two distinct inputs"
        in1 = x
        in_shapes.append(in_shape)
    probe = OpSpec(op_type, x, in1, 0, list(params))
    ho, wo, co = infer_output_shape(probe, in_shapes, cout=out_c)
    y = b.tensor(out_dtype, ho, wo, co)
    h, w, c = in_shape
    weights = thresholds = None
    if op_type == OpCode.THERMO_ENCODE:
        thresholds = _thermo_thresholds(rng, params[0])
    elif op_type == OpCode.BCONV2D:
        kh, kw, groups = params[0], params[1], params[7]
        cin_g = c // groups
        weights = from_pm1(_pm1(rng, (co, kh, kw, cin_g)))
        k = kh * kw * cin_g
    elif op_type == OpCode.BDEPTHWISE2D:
        kh, kw = params[0], params[1]
        weights = from_pm1(_pm1(rng, (kh, kw, c)))
        k = kh * kw
    elif op_type == OpCode.BDENSE:
        weights = from_pm1(_pm1(rng, (co, params[0])))
        k = params[0]
    if op_type in (OpCode.BCONV2D, OpCode.BDEPTHWISE2D, OpCode.BDENSE) and out_dtype == DType.BITS:
        thresholds = _thresholds(rng, k, co, edges=True)
    b.op(op_type, x, y, params, weights, thresholds, in1=in1)
    pack = b.pack(x, y)
    if in_dtype == DType.UINT8:
        inputs = _images(rng, n_inputs, in_shape)
    else:
        inputs = _random_words(rng, (n_inputs,) + in_shape[:2], c)
    return pack, inputs


def _concat_pack(rng: np.random.Generator, h: int, w: int, ca: int, cb: int, n_inputs: int = 3
                 ) -> tuple[Pack, np.ndarray]:
    """CONCAT of two distinct tensors: a pack has one input, so the input ``x[h, w, ca]`` is
    concatenated with ``y = BCONV2D 1x1 (x)`` of ``cb`` channels (a random binary map):
    ``out = concat(x, y)``, which exercises the bit layout of both operands."""
    bld = _Builder()
    x = bld.tensor(DType.BITS, h, w, ca)
    y = bld.tensor(DType.BITS, h, w, cb)
    z = bld.tensor(DType.BITS, h, w, ca + cb)
    wts = from_pm1(_pm1(rng, (cb, 1, 1, ca)))
    bld.op(OpCode.BCONV2D, x, y, [1, 1, 1, 1, 1, 1, Padding.VALID, 1], wts, _thresholds(rng, ca, cb, edges=False))
    bld.op(OpCode.CONCAT, x, z, [], in1=y)
    return bld.pack(x, z), _random_words(rng, (n_inputs, h, w), ca)


# --------------------------------------------------------------------------------------------
# Whole models
# --------------------------------------------------------------------------------------------


def _model(rng: np.random.Generator, *, name: str, hw: tuple[int, int], c_img: int, levels: int,
           convs: Sequence[tuple[int, int, int, int, int]], pool: int, dw: tuple[int, int], latent: int,
           head: int, classes: int) -> Pack:
    """thermo -> bconv* -> bmaxpool -> bdepthwise -> bdense(latent, bits) -> head:
    bdense(bits) h -> concat(latent, h) -> concat(c, c) -> bdense int32 logits.

    ``convs``: ``(cout, k, padding, groups, dilation)``; ``dw``: ``(k, padding)``.
    """
    b = _Builder()
    h, w = hw
    x = b.tensor(DType.UINT8, h, w, c_img)
    t = b.tensor(DType.BITS, h, w, c_img * levels)
    b.op(OpCode.THERMO_ENCODE, x, t, [levels], thresholds=_thermo_thresholds(rng, levels))
    cur, c = t, c_img * levels
    for cout, k, pad, groups, dil in convs:
        probe = OpSpec(OpCode.BCONV2D, cur, None, 0, [k, k, 1, 1, dil, dil, pad, groups])
        ho, wo, _ = infer_output_shape(probe, [b.tensors[cur].shape], cout=cout)
        nxt = b.tensor(DType.BITS, ho, wo, cout)
        cin_g = c // groups
        b.op(OpCode.BCONV2D, cur, nxt, probe.params, from_pm1(_pm1(rng, (cout, k, k, cin_g))),
             _thresholds(rng, k * k * cin_g, cout, edges=False))
        cur, c, h, w = nxt, cout, ho, wo
    ho, wo = (h - pool) // pool + 1, (w - pool) // pool + 1
    nxt = b.tensor(DType.BITS, ho, wo, c)
    b.op(OpCode.BMAXPOOL2D, cur, nxt, [pool, pool, pool, pool, Padding.VALID])
    cur, h, w = nxt, ho, wo
    k, pad = dw
    if pad == Padding.VALID:
        ho, wo = h - k + 1, w - k + 1
    else:
        ho, wo = h, w
    nxt = b.tensor(DType.BITS, ho, wo, c)
    b.op(OpCode.BDEPTHWISE2D, cur, nxt, [k, k, 1, 1, pad], from_pm1(_pm1(rng, (k, k, c))),
         _thresholds(rng, k * k, c, edges=False))
    cur, h, w = nxt, ho, wo
    cin = h * w * c
    lat = b.tensor(DType.BITS, 1, 1, latent)
    b.op(OpCode.BDENSE, cur, lat, [cin, latent], from_pm1(_pm1(rng, (latent, cin))), _thresholds(rng, cin, latent, edges=False))
    hh = b.tensor(DType.BITS, 1, 1, head)
    b.op(OpCode.BDENSE, lat, hh, [latent, head], from_pm1(_pm1(rng, (head, latent))), _thresholds(rng, latent, head, edges=False))
    cc = b.tensor(DType.BITS, 1, 1, latent + head)
    b.op(OpCode.CONCAT, lat, cc, [], in1=hh)
    dd = b.tensor(DType.BITS, 1, 1, 2 * (latent + head))
    b.op(OpCode.CONCAT, cc, dd, [], in1=cc)
    logits = b.tensor(DType.INT32, 1, 1, classes)
    b.op(OpCode.BDENSE, dd, logits, [2 * (latent + head), classes], from_pm1(_pm1(rng, (classes, 2 * (latent + head)))))
    meta = {"name": name, "classes": [f"c{i}" for i in range(classes)], "thermo_levels": levels,
            "generator": "bnn_edge.codegen.golden"}
    return b.pack(x, logits, lat, meta)


# --------------------------------------------------------------------------------------------
# The case list
# --------------------------------------------------------------------------------------------

S, V = Padding.SAME, Padding.VALID


def _conv(kh: int, kw: int, s: tuple[int, int] = (1, 1), d: tuple[int, int] = (1, 1), pad: int = S,
          groups: int = 1) -> list[int]:
    return [kh, kw, s[0], s[1], d[0], d[1], pad, groups]


_U, _B, _I = DType.UINT8, DType.BITS, DType.INT32

# name -> factory(rng) -> (pack, inputs)
_CASES: list[tuple[str, Callable[[np.random.Generator], tuple[Pack, np.ndarray]]]] = [
    ("thermo_L16_c3", lambda r: _single(r, OpCode.THERMO_ENCODE, (6, 5, 3), _U, [16], _B)),
    ("thermo_L85_c3", lambda r: _single(r, OpCode.THERMO_ENCODE, (4, 4, 3), _U, [85], _B)),
    ("bconv_3x3_same_c16_bits", lambda r: _single(r, OpCode.BCONV2D, (6, 6, 16), _B, _conv(3, 3), _B, 8)),
    ("bconv_3x3_valid_c40_int32", lambda r: _single(r, OpCode.BCONV2D, (6, 5, 40), _B, _conv(3, 3, pad=V), _I, 12)),
    ("bconv_3x3_same_s2_c255_bits", lambda r: _single(r, OpCode.BCONV2D, (7, 6, 255), _B, _conv(3, 3, (2, 2)), _B, 16)),
    ("bconv_3x3_valid_s2_c40_int32", lambda r: _single(r, OpCode.BCONV2D, (8, 7, 40), _B, _conv(3, 3, (2, 2), pad=V), _I, 6)),
    ("bconv_3x3_same_d2_c40_bits", lambda r: _single(r, OpCode.BCONV2D, (7, 7, 40), _B, _conv(3, 3, d=(2, 2)), _B, 8)),
    ("bconv_3x3_valid_d2_c16_int32", lambda r: _single(r, OpCode.BCONV2D, (8, 7, 16), _B, _conv(3, 3, d=(2, 2), pad=V), _I, 5)),
    ("bconv_3x3_same_g2_c64_bits", lambda r: _single(r, OpCode.BCONV2D, (5, 5, 64), _B, _conv(3, 3, groups=2), _B, 16)),
    ("bconv_3x3_valid_s2_g2_c64_int32",
     lambda r: _single(r, OpCode.BCONV2D, (7, 6, 64), _B, _conv(3, 3, (2, 2), pad=V, groups=2), _I, 6)),
    ("bconv_2x2_same_c33_int32", lambda r: _single(r, OpCode.BCONV2D, (5, 4, 33), _B, _conv(2, 2), _I, 7)),
    ("bconv_5x3_same_s2x1_c40_bits", lambda r: _single(r, OpCode.BCONV2D, (9, 6, 40), _B, _conv(5, 3, (2, 1)), _B, 33)),
    ("bconv_1x1_c255_bits", lambda r: _single(r, OpCode.BCONV2D, (3, 4, 255), _B, _conv(1, 1), _B, 40)),
    ("bmaxpool_2x2_s2_c40", lambda r: _single(r, OpCode.BMAXPOOL2D, (6, 6, 40), _B, [2, 2, 2, 2, V], _B)),
    ("bmaxpool_3x3_s2_c255", lambda r: _single(r, OpCode.BMAXPOOL2D, (7, 6, 255), _B, [3, 3, 2, 2, V], _B)),
    ("bmaxpool_3x2_s1x2_c16", lambda r: _single(r, OpCode.BMAXPOOL2D, (5, 7, 16), _B, [3, 2, 1, 2, V], _B)),
    ("bdepthwise_3x3_same_c40_bits", lambda r: _single(r, OpCode.BDEPTHWISE2D, (6, 6, 40), _B, [3, 3, 1, 1, S], _B)),
    ("bdepthwise_3x3_valid_c16_int32", lambda r: _single(r, OpCode.BDEPTHWISE2D, (5, 6, 16), _B, [3, 3, 1, 1, V], _I)),
    ("bdepthwise_3x3_same_s2_c255_bits", lambda r: _single(r, OpCode.BDEPTHWISE2D, (7, 7, 255), _B, [3, 3, 2, 2, S], _B)),
    ("bdepthwise_2x2_same_c33_int32", lambda r: _single(r, OpCode.BDEPTHWISE2D, (4, 5, 33), _B, [2, 2, 1, 1, S], _I)),
    ("bdense_c100_bits", lambda r: _single(r, OpCode.BDENSE, (1, 1, 100), _B, [100, 24], _B)),
    ("bdense_c255_int32", lambda r: _single(r, OpCode.BDENSE, (1, 1, 255), _B, [255, 10], _I)),
    ("bdense_2x2x64_bits", lambda r: _single(r, OpCode.BDENSE, (2, 2, 64), _B, [256, 40], _B)),
    ("concat_40_16", lambda r: _concat_pack(r, 3, 2, 40, 16)),
    ("concat_32_33", lambda r: _concat_pack(r, 2, 2, 32, 33)),
    ("concat_self_20", lambda r: _single(r, OpCode.CONCAT, (1, 1, 20), _B, [], _B, same_input=True)),
    ("concat_self_48_2x3", lambda r: _single(r, OpCode.CONCAT, (2, 3, 48), _B, [], _B, same_input=True)),
    ("model_digits_8x8", lambda r: (
        _model(r, name="model_digits_8x8", hw=(8, 8), c_img=1, levels=16,
               convs=[(32, 3, S, 1, 1), (64, 3, S, 1, 1)], pool=2, dw=(3, S), latent=64, head=32, classes=10),
        _images(r, 5, (8, 8, 1)))),
    ("model_rgb_10x10_L85", lambda r: (
        _model(r, name="model_rgb_10x10_L85", hw=(10, 10), c_img=3, levels=85,
               convs=[(64, 3, V, 1, 1), (64, 3, S, 2, 1)], pool=2, dw=(3, V), latent=48, head=40, classes=7),
        _images(r, 4, (10, 10, 3)))),
]


def build_cases(seed: int = DEFAULT_SEED) -> list[GoldenCase]:
    """Every golden case, deterministic in ``seed`` (each case draws from
    ``default_rng([seed, crc32(name)])``, so adding a case leaves the others unchanged)."""
    cases = []
    for name, factory in _CASES:
        rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
        pack, inputs = factory(rng)
        cases.append(GoldenCase(name, pack, inputs, _describe_pack(pack)))
    return cases


# --------------------------------------------------------------------------------------------
# C header
# --------------------------------------------------------------------------------------------

_STRUCT = """\
#ifndef BNN_GOLDEN_CASE_T
#define BNN_GOLDEN_CASE_T
typedef struct {
  const char *name;
  const uint8_t *pack; uint32_t pack_len;        /* a complete .bnnpack */
  uint32_t n_inputs;                             /* number of input samples */
  const uint8_t *inputs; uint32_t input_len;     /* n_inputs * input_len bytes, each the input tensor's storage bytes */
  const uint8_t *outputs; uint32_t output_len;   /* n_inputs * output_len bytes: output tensor storage */
  const uint8_t *latents; uint32_t latent_len;   /* n_inputs * latent_len bytes, latent tensor storage; NULL/0 if none */
} bnn_golden_case_t;
#endif
"""


def _c_array(name: str, data: bytes) -> str:
    lines = [f"static const uint8_t {name}[{len(data)}] __attribute__((aligned(4))) = {{"]
    for i in range(0, len(data), 16):
        lines.append("  " + ",".join(f"0x{b:02x}" for b in data[i : i + 16]) + ",")
    lines.append("};")
    return "\n".join(lines)


def render_header(cases: Sequence[GoldenCase], seed: int) -> str:
    """The C header text for ``cases`` (deterministic: no dates, no paths)."""
    out = [
        "/* GENERATED — do not edit.",
        f" * Generator: python -m bnn_edge.codegen.golden --seed {seed} --out {_CANONICAL_OUT}",
        f" * bnn-edge {__version__}, numpy {np.__version__}, seed {seed}",
        " * Golden vectors of the .bnnpack format (converters/FORMAT.md): each case is a complete pack, its",
        " * input samples, and the output (and latent) tensor storage bytes computed by the bit-exact",
        " * Python simulator (bnn_edge/sim). The firmware must reproduce them byte for byte.",
        " */",
        "#ifndef BNN_GOLDEN_CASES_H",
        "#define BNN_GOLDEN_CASES_H",
        "",
        "#include <stdint.h>",
        "#include <stddef.h>",
        "",
        _STRUCT,
    ]
    rows = []
    for idx, case in enumerate(cases):
        pack = case.pack
        blob = write_pack(pack)
        res = run_pack(pack, case.inputs)
        t_in = pack.tensors[pack.input_tensor]
        t_out = pack.tensors[pack.output_tensor]
        n = case.inputs.shape[0]
        ins = b"".join(to_storage(t_in, case.inputs[i]) for i in range(n))
        outs = b"".join(to_storage(t_out, res["output"][i]) for i in range(n))
        ident = f"bnn_golden_{idx:02d}"
        out.append(f"/* case {idx}: {case.name}\n * {case.description} */")
        out.append(_c_array(f"{ident}_pack", blob))
        out.append(_c_array(f"{ident}_inputs", ins))
        out.append(_c_array(f"{ident}_outputs", outs))
        lat_ref, lat_len = "NULL", 0
        if pack.latent_tensor != NO_TENSOR:
            t_lat = pack.tensors[pack.latent_tensor]
            lats = b"".join(to_storage(t_lat, res["latent"][i]) for i in range(n))
            out.append(_c_array(f"{ident}_latents", lats))
            lat_ref, lat_len = f"{ident}_latents", t_lat.size_bytes
        out.append("")
        rows.append(
            f'  {{"{case.name}", {ident}_pack, {len(blob)}u, {n}u, {ident}_inputs, {t_in.size_bytes}u, '
            f"{ident}_outputs, {t_out.size_bytes}u, {lat_ref}, {lat_len}u}},"
        )
    out.append(f"#define BNN_GOLDEN_N_CASES {len(cases)}")
    out.append("")
    out.append("static const bnn_golden_case_t bnn_golden_cases[BNN_GOLDEN_N_CASES] = {")
    out.extend(rows)
    out.append("};")
    out.append("")
    out.append("#endif /* BNN_GOLDEN_CASES_H */")
    return "\n".join(out) + "\n"


def generate(seed: int = DEFAULT_SEED) -> str:
    """Build the cases for ``seed`` and render the header."""
    return render_header(build_cases(seed), seed)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bnn_edge.codegen.golden", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"header to write (default {_CANONICAL_OUT})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"RNG seed (default {DEFAULT_SEED})")
    args = parser.parse_args(argv)
    text = generate(args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(text.encode())} bytes, {len(_CASES)} cases, seed {args.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
