#!/usr/bin/env python3
"""Differential fuzz test of the pack validity rules (converters/FORMAT.md, "Validity rules"):
every generated pack gets the same accept/reject verdict from the Python reader
(:func:`converters.bnnpack.read_pack`) and the C loader (``bnn_model_load``, through the host tool
``firmware/tests/tools/pack_verdict.c``, built by ``make -C firmware``).

Packs are mutations of the seed packs ``firmware/fuzz/corpus/pack/*.bnnpack``, written with valid
CRCs so that the semantic rules are reached: tensor and op field mutations (interesting values
such as 0, 2^30, 2^30 + 1, 2^31, 0xFFFFFFFF), op reorderings, overlapping arena offsets, huge
dimensions, arena and scratch sizes; some packs also get raw byte flips.

    python scripts/pack_diff_fuzz.py [--packs N] [--seed S]

The last line of stdout is JSON: packs, accepted, rejected, verdict_disagreements, python_crashes,
and up to 10 examples of disagreements (kept under firmware/build/fuzz/diff/). Exit 1 on any
disagreement or Python exception other than PackError.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from converters import bnnpack as bp  # noqa: E402

FW = ROOT / "firmware"
CORPUS = FW / "fuzz" / "corpus" / "pack"
TOOL = FW / "build" / "host" / "tools" / "pack_verdict"
KEEP = FW / "build" / "fuzz" / "diff"
INTERESTING = [0, 1, 2, 3, 4, 7, 8, 31, 32, 33, 255, 256, 1 << 16, (1 << 26) + 4, (1 << 28) + 4, (1 << 30) - 1,
               1 << 30, (1 << 30) + 1, 1 << 31, 0x7FFFFFFF, 0xFFFFFFF8, 0xFFFFFFFF]
SIGNED = [-(1 << 31), -2, -1, 0x7FFFFFFF, 1 << 30, (1 << 30) + 1]


def build_tool() -> Path:
    """Build the C verdict tool with ``make -C firmware`` (a clear error if that fails)."""
    proc = subprocess.run(["make", "-s", "-C", str(FW), str(TOOL)], capture_output=True, text=True)
    if proc.returncode != 0 or not TOOL.exists():
        raise SystemExit(f"error: cannot build {TOOL}: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")
    return TOOL


def seeds() -> list[bp.Pack]:
    return [bp.read_pack(p.read_bytes()) for p in sorted(CORPUS.glob("*.bnnpack"))]


def _u32(rng: random.Random) -> int:
    return rng.choice(INTERESTING) if rng.random() < 0.7 else rng.randrange(0, 1 << 32)


def mutate(pack: bp.Pack, rng: random.Random) -> bytes | None:
    """One mutated pack as bytes (valid CRCs), or None when the mutation cannot be encoded."""
    p = copy.deepcopy(pack)
    nt = len(p.tensors)
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        kind = rng.randrange(9)
        t = p.tensors[rng.randrange(nt)]
        op = p.ops[rng.randrange(len(p.ops))]
        if kind == 0:  # a tensor dimension
            setattr(t, rng.choice("hwc"), _u32(rng) if rng.random() < 0.5 else rng.randrange(1, 70))
        elif kind == 1:  # an arena offset: overlap with another tensor, or anything
            other = p.tensors[rng.randrange(nt)]
            t.arena_offset = other.arena_offset if rng.random() < 0.6 else (_u32(rng) & ~3)
        elif kind == 2:  # op reordering
            if rng.random() < 0.5:
                rng.shuffle(p.ops)
            elif len(p.ops) > 1:
                i, j = rng.sample(range(len(p.ops)), 2)
                p.ops[i], p.ops[j] = p.ops[j], p.ops[i]
        elif kind == 3:  # an op param
            params = list(op.params)
            params[rng.randrange(len(params))] = rng.choice(SIGNED) if rng.random() < 0.3 else rng.randrange(-2, 40)
            op.params = params
        elif kind == 4:  # op tensor ids
            setattr(op, rng.choice(["in0", "in1", "out"]), rng.choice([rng.randrange(nt), 0xFFFF, nt]))
        elif kind == 5:  # arena and scratch sizes
            if rng.random() < 0.5:
                p.arena_bytes = _u32(rng)
            else:
                p.scratch_bytes = _u32(rng)
        elif kind == 6:  # dtype
            t.dtype = rng.randrange(4)
        elif kind == 7:  # io tensors
            setattr(p, rng.choice(["input_tensor", "output_tensor", "latent_tensor"]), rng.choice([rng.randrange(nt), 0xFFFF]))
        else:  # a huge activation: grow a tensor and the arena with it
            t.h = t.w = rng.choice([64, 512, 4096, 1 << 15])
            p.arena_bytes = min(0xFFFFFFFF, max(p.arena_bytes, t.arena_offset + _size(t)))
    try:
        data = bytearray(bp.write_pack(p, validate=False))
    except Exception:  # noqa: BLE001 -- a field that no longer fits its encoding
        return None
    if rng.random() < 0.1:  # raw flips inside the tables, CRCs fixed
        for _ in range(rng.randrange(1, 4)):
            i = rng.randrange(bp.HEADER_SIZE, len(data))
            data[i] ^= 1 << rng.randrange(8)
        data[16:20] = struct.pack("<I", bp.crc32(bytes(data[bp.HEADER_SIZE:])) if hasattr(bp, "crc32") else _crc(data[bp.HEADER_SIZE:]))
        data[60:64] = struct.pack("<I", _crc(data[:60]))
    return bytes(data)


def _crc(b: bytes | bytearray) -> int:
    import zlib

    return zlib.crc32(bytes(b)) & 0xFFFFFFFF


def _size(t: bp.TensorSpec) -> int:
    try:
        return t.size_bytes
    except Exception:  # noqa: BLE001
        return 0


def python_verdict(data: bytes) -> tuple[bool, str]:
    """(accepted, reason) from the Python reader; other exceptions propagate (a bug)."""
    try:
        bp.read_pack(data)
    except bp.PackError as exc:
        return False, str(exc)
    return True, ""


def run(n: int, seed: int, tool: Path | None = None) -> dict:
    """Generate ``n`` packs from ``seed`` and compare both verdicts; a summary dict."""
    tool = tool or build_tool()
    rng = random.Random(seed)
    base = seeds()
    out = {"packs": 0, "accepted": 0, "rejected": 0, "verdict_disagreements": 0, "python_crashes": 0,
           "seed": seed, "examples": []}
    with tempfile.TemporaryDirectory(prefix="bnn-diff-") as tmp:
        paths, verdicts = [], []
        while len(paths) < n:
            data = mutate(rng.choice(base), rng)
            if data is None:
                continue
            path = Path(tmp) / f"p{len(paths):06d}.bnnpack"
            path.write_bytes(data)
            try:
                verdicts.append(python_verdict(data))
            except Exception as exc:  # noqa: BLE001
                verdicts.append((None, f"{type(exc).__name__}: {exc}"))
            paths.append(path)
        proc = subprocess.run([str(tool)], input="\n".join(map(str, paths)) + "\n", capture_output=True, text=True,
                              check=True)
        c = {line.split(" ", 1)[1]: int(line.split(" ", 1)[0]) for line in proc.stdout.splitlines()}
        for path, (ok, why) in zip(paths, verdicts):
            out["packs"] += 1
            status = c.get(str(path), -1)
            if ok is None:
                out["python_crashes"] += 1
            elif ok == (status == 0):
                out["accepted" if ok else "rejected"] += 1
                continue
            else:
                out["verdict_disagreements"] += 1
            if len(out["examples"]) < 10:
                KEEP.mkdir(parents=True, exist_ok=True)
                kept = KEEP / f"seed{seed}_{path.name}"
                kept.write_bytes(path.read_bytes())
                out["examples"].append({"pack": str(kept), "python": why or "accepted", "c_status": status})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--packs", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    r = run(args.packs, args.seed)
    print(json.dumps(r))
    return 1 if r["verdict_disagreements"] or r["python_crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())
