"""The constants Python and the firmware share, written from Python into one stamped C header.

``python -m bnn_edge.codegen.constants [--out firmware/include/bnn/bnn_constants.h] [--check]``
writes ``firmware/include/bnn/bnn_constants.h``: the ``.bnnpack`` format constants (magic,
version, header and table entry sizes, entry limit, "no tensor" id, params per op) from
:mod:`converters.bnnpack`, the op codes, dtypes and paddings from :mod:`converters.ops`, and the
on-device head's ``EXP_LUT`` (``round(32768 * exp(-j/16))``) from :mod:`bnn_edge.sim.head`.
The C side includes it instead of copying the values (``bnn/bnn_pack.h``, the head).

The stamp names the generator and a hash of its inputs: the first 16 hex digits of the
SHA-256 of the inputs (:func:`inputs`) as canonical JSON, so the header changes exactly when a
value does. The output is deterministic (no dates, no paths, no versions); a test regenerates
it and compares it with the committed file. ``--check`` does the same and exits 1 when stale.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any, Sequence

from bnn_edge.sim.head import EXP_LUT, EXP_LUT_LEN
from converters import bnnpack as bp
from converters.ops import DTYPES, OP_RULES, OpCode, Padding

__all__ = ["DEFAULT_OUT", "MODULE", "inputs", "input_hash", "render", "main"]

MODULE = "bnn_edge.codegen.constants"
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "firmware" / "include" / "bnn" / "bnn_constants.h"
_CANONICAL_OUT = "firmware/include/bnn/bnn_constants.h"
_LUT_PER_LINE = 12


def inputs() -> dict[str, Any]:
    """Every value the header is generated from, as a JSON-able dict."""
    return {
        "pack": {
            "magic": bp.MAGIC.decode("ascii"),
            "version_major": bp.VERSION_MAJOR,
            "version_minor": bp.VERSION_MINOR,
            "header_size": bp.HEADER_SIZE,
            "tensor_entry_size": bp.TENSOR_ENTRY_SIZE,
            "op_entry_size": bp.OP_ENTRY_SIZE,
            "max_entries": bp.MAX_ENTRIES,
            "no_tensor": bp.NO_TENSOR,
            "n_params": bp.N_PARAMS,
        },
        "dtypes": [[r.name, int(r.code), r.doc] for r in DTYPES.values()],
        "ops": [[r.name, int(r.code), r.doc] for r in OP_RULES.values()],
        "paddings": [[p.name, int(p)] for p in Padding],
        "head_exp_lut": list(EXP_LUT),
    }


def input_hash(values: dict[str, Any] | None = None) -> str:
    """First 16 hex digits of the SHA-256 of ``values`` (default :func:`inputs`) as canonical JSON."""
    text = json.dumps(inputs() if values is None else values, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _enum(type_name: str, rows: Sequence[tuple[str, int, str]]) -> list[str]:
    """A C ``typedef enum`` with one commented member per line, comments aligned."""
    heads = [f"    {name} = {value}{',' if i < len(rows) - 1 else ''}" for i, (name, value, _) in enumerate(rows)]
    width = max(len(h) for h in heads)
    lines = ["typedef enum {"]
    lines += [f"{h:<{width}} /* {doc} */" if doc else h for h, (_, _, doc) in zip(heads, rows)]
    lines.append(f"}} {type_name};")
    return lines


def _lut_macro(name: str, values: Sequence[int]) -> list[str]:
    """``#define NAME { v0, v1, ... }`` as a brace initializer over continued lines."""
    rows = [", ".join(str(v) for v in values[i : i + _LUT_PER_LINE]) for i in range(0, len(values), _LUT_PER_LINE)]
    lines = [f"#define {name} {{ \\"]
    lines += [f"    {row}{',' if i < len(rows) - 1 else ''} \\" for i, row in enumerate(rows)]
    lines.append("}")
    return lines


def render() -> str:
    """The header text (deterministic)."""
    v = inputs()
    p = v["pack"]
    codes = [int(c) for c in OpCode]
    assert codes == list(range(codes[0], codes[-1] + 1)), "op codes must be contiguous (the C range check)"
    assert len(EXP_LUT) == EXP_LUT_LEN
    out = [
        "/* GENERATED — do not edit.",
        f" * Generator: python -m {MODULE} --out {_CANONICAL_OUT}",
        f" * Inputs: converters/bnnpack.py, converters/ops.py, bnn_edge/sim/head.py; sha256 {input_hash(v)}",
        " * The constants the Python side and the firmware share: the .bnnpack format (converters/FORMAT.md)",
        " * and the on-device head's exp table (firmware/HEAD.md). Change them in Python and regenerate.",
        " */",
        "#ifndef BNN_CONSTANTS_H",
        "#define BNN_CONSTANTS_H",
        "",
        "/* ---- .bnnpack format */",
        f'#define BNN_PACK_MAGIC "{p["magic"]}"',
        f"#define BNN_PACK_VERSION_MAJOR {p['version_major']}u",
        f"#define BNN_PACK_VERSION_MINOR {p['version_minor']}u",
        f"#define BNN_PACK_HEADER_SIZE {p['header_size']}u",
        f"#define BNN_PACK_TENSOR_ENTRY_SIZE {p['tensor_entry_size']}u",
        f"#define BNN_PACK_OP_ENTRY_SIZE {p['op_entry_size']}u",
        f"#define BNN_PACK_MAX_ENTRIES {p['max_entries']}u",
        f'#define BNN_TENSOR_NONE 0x{p["no_tensor"]:04X}u /* "no tensor" id (latent_tensor, unused in1) */',
        f"#define BNN_OP_N_PARAMS {p['n_params']}",
        "",
        "/* Tensor dtypes (tensor table field dtype). */",
        *_enum("bnn_dtype_t", [(f"BNN_DTYPE_{name}", code, doc) for name, code, doc in v["dtypes"]]),
        "",
        "/* Op types (op table field type); BNN_OP_FIRST..BNN_OP_LAST are all defined. */",
        *_enum("bnn_op_type_t", [(f"BNN_OP_{name}", code, doc) for name, code, doc in v["ops"]]),
        f"#define BNN_OP_FIRST {codes[0]}u",
        f"#define BNN_OP_LAST {codes[-1]}u",
        "",
        "/* The padding param of the spatial ops; SAME pads with +1 (bit 0), as LCE's one-padding. */",
        *_enum("bnn_padding_t", [(f"BNN_PADDING_{name}", code, "") for name, code in v["paddings"]]),
        "",
        "/* ---- on-device head: BNN_HEAD_EXP_LUT[j] = round(32768 * exp(-j/16)), j < BNN_HEAD_EXP_LUT_LEN;",
        " * 0 beyond (a brace initializer: static const uint16_t lut[BNN_HEAD_EXP_LUT_LEN] = BNN_HEAD_EXP_LUT;) */",
        f"#define BNN_HEAD_EXP_LUT_LEN {len(v['head_exp_lut'])}u",
        *_lut_macro("BNN_HEAD_EXP_LUT", v["head_exp_lut"]),
        "",
        "#endif /* BNN_CONSTANTS_H */",
    ]
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"header to write (default {_CANONICAL_OUT})")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the header is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.is_file() else None
        if current != text:
            print(f"{args.out} is stale; regenerate with: python -m {MODULE}")
            return 1
        print(f"{args.out} is up to date (sha256 {input_hash()})")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(text.encode())} bytes, sha256 {input_hash()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
