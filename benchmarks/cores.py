#!/usr/bin/env python3
"""Cortex-M0 and Cortex-M55 kernel figures for ``make bench`` (``benchmarks/run.py`` calls
:func:`bench`; ``python benchmarks/cores.py`` runs only this part and merges it into an existing
``benchmarks/results.json`` and ``README.md``).

Same method as the M4/M7/M33 kernels in ``run.py``: ``firmware/tests/tools/model_bench.c`` built
with a pack (``make -C firmware app TARGET=<core> APP_MAIN=... APP_DEFS=-DBNN_PROFILE=1``) times
every op's reference and optimized kernel under QEMU ``-icount shift=0`` (instructions, not
cycles); the tick unit of each board is checked against QEMU's exact instruction trace by
``run.calibrate`` (SysTick at 16 MHz on ``microbit``: 62.5 instructions per tick; 32 MHz on
``mps3-an547``: 31.25).

Cases:

- ``tiny`` (the whole untrained tiny pack) on M0 and M55;
- ``paper`` (the whole untrained paper pack, 546 KB) on M55;
- ``band``: the paper net's largest conv (op 1, 32x32x255 -> 32x32x128, 3x3/1 SAME, its weights
  and thresholds) on a band of 3 input rows, VALID (3x32x255 -> 1x30x128: every output pixel does
  the work of an inner pixel of the whole op: 128 rows of a 72-word xor-popcount), behind the
  paper's THERMO_ENCODE. The whole op's 32 KB input and 16 KB output do not fit the M0's 16 KB of
  RAM; the band's arena is 3.9 KB. Run on M0 (C kernels, Thumb-1 xor-popcount), M4 (next to the whole op on M4),
  M55 (the MVE xor-popcount) and M55 built with ``-DBNN_XPC_NO_MVE`` (the scalar Thumb-2 assembly of
  the Armv7E-M cores): the MVE gain.

Headline keys: ``bconv_m0_optimized_bmac_per_insn`` / ``_reference_`` (band, M0),
``bconv_m4_band_optimized_bmac_per_insn`` (band, M4), ``bconv_m55_optimized_bmac_per_insn`` /
``_reference_`` / ``bconv_m55_speedup`` (whole op 1, M55), ``bconv_m55_band_optimized_bmac_per_insn``
and ``bconv_m55_scalar_band_optimized_bmac_per_insn`` (band, M55 with MVE / scalar), and the
whole-model counts ``model_m0_*_insns`` (tiny) and ``model_m55_*_insns`` (tiny, paper).
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import run as R  # noqa: E402  (benchmarks/run.py: paths, make/QEMU helpers, parsing)

CORES = tuple(R.CORE_BOARDS)
BAND_ROWS = 3  # input rows of the band (kh of the paper's op 1)
# (case, core variant, make TARGET, extra APP_DEFS)
JOBS = (
    ("tiny", "m0", "m0", ""), ("tiny", "m55", "m55", ""),
    ("paper", "m55", "m55", ""),
    ("band", "m0", "m0", ""), ("band", "m4", "m4", ""), ("band", "m55", "m55", ""),
    ("band", "m55_scalar", "m55", "-DBNN_XPC_NO_MVE=1"),
)


def band_pack(paper_pack: bytes) -> bytes:
    """The paper pack's ops 0 (THERMO_ENCODE) and 1 (its largest BCONV2D) on a 3-row band, VALID.

    Same weights, thresholds, levels and kernel geometry; input ``[3, W, 3]`` uint8, output
    ``[1, W - 2, cout]`` bits (VALID: no padded taps)."""
    from converters import bnnpack as bp

    pack = bp.read_pack(paper_pack)
    thermo, conv = pack.ops[0], pack.ops[1]
    if thermo.type != bp.OpCode.THERMO_ENCODE or conv.type != bp.OpCode.BCONV2D or conv.in0 != thermo.out:
        raise SystemExit("bench: the paper pack no longer starts with THERMO_ENCODE -> BCONV2D")
    ti, tt, tc = pack.tensors[thermo.in0], pack.tensors[thermo.out], pack.tensors[conv.out]
    kh, kw = conv.params[0], conv.params[1]
    params = list(conv.params)
    params[6] = int(bp.Padding.VALID)
    tensors = [bp.TensorSpec(ti.dtype, BAND_ROWS, ti.w, ti.c), bp.TensorSpec(tt.dtype, BAND_ROWS, tt.w, tt.c),
               bp.TensorSpec(tc.dtype, BAND_ROWS - kh + 1, tt.w - kw + 1, tc.c)]
    ops = [bp.OpSpec(bp.OpCode.THERMO_ENCODE, 0, None, 1, list(thermo.params), None, thermo.thresholds),
           bp.OpSpec(bp.OpCode.BCONV2D, 1, None, 2, params, conv.weights, conv.thresholds)]
    tensors, arena = bp.plan_arena(tensors, ops, input_tensor=0, keep=[2])
    return bp.write_pack(bp.Pack(tensors, ops, 0, None, 2, arena))


def _input(case: str, pack) -> Any:
    import numpy as np

    if case == "band":
        h, w, c = pack.tensors[pack.input_tensor].shape
        return np.random.default_rng(1234).integers(0, 256, size=(1, h, w, c)).astype(np.uint8)
    return R.bench_input(case, pack)


def bench(work: Path, exports: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Builds and runs every job of :data:`JOBS`; per case and core variant the ops and model figures."""
    from bnn_edge.export import c_array_files
    from bnn_edge.device.firmware import input_c_source
    from converters import bnnpack as bp

    packs = {p: (exports[p]["export_dir"] / "model.bnnpack").read_bytes() for p in ("tiny", "paper")}
    packs["band"] = band_pack(packs["paper"])
    jobs = []
    for case, variant, target, defs in JOBS:
        d = work / "cores" / case
        d.mkdir(parents=True, exist_ok=True)
        pack = bp.read_pack(packs[case])
        (d / "model_data.c").write_text(c_array_files(packs[case])[0])
        (d / "input_data.c").write_text(input_c_source(_input(case, pack)))
        build_cmd = R.make("app", f"TARGET={target}", f"MODEL_C={d / 'model_data.c'}", f"INPUT_C={d / 'input_data.c'}",
                           f"BUILD={d / variant}", f"ARENA_BYTES={pack.arena_bytes + pack.scratch_bytes + 64}",
                           f"APP_MAIN={R.FW / 'tests/tools/model_bench.c'}", f"APP_DEFS=-DBNN_PROFILE=1 {defs}".strip())
        jobs.append((case, variant, target, pack, build_cmd, d / variant / "app.elf"))
    for j in jobs:
        R.run(j[4])

    def one(job):
        qcmd = R.qemu_cmd(job[2], job[5])
        return job, qcmd, R.run(qcmd, timeout=900)

    res: dict[str, Any] = {"band_pack_bytes": len(packs["band"])}
    with ThreadPoolExecutor(2) as ex:
        for (case, variant, target, pack, build_cmd, elf), qcmd, text in ex.map(one, jobs):
            ops, model, hook_ticks = R.parse_model_bench(text, pack, R.board(target)[2])
            if not all(o["equal"] for o in ops) or not model["equal"]:
                raise SystemExit(f"bench: {case}/{variant}: optimized kernels differ from the reference")
            res.setdefault(case, {})[variant] = {
                "ops": ops, "model": model, "hook_ticks_per_pair": hook_ticks, "arena_bytes": pack.arena_bytes,
                "cmd_build": R.cmd_str(build_cmd), "cmd_run": R.cmd_str(qcmd),
            }
    return res


def largest_conv(ops: list[dict[str, Any]]) -> dict[str, Any]:
    """The BCONV2D with the most binary MACs of a list of op figures."""
    return max((o for o in ops if o["op"] == "BCONV2D"), key=lambda o: o["work"])


def _conv(res: dict[str, Any], case: str, variant: str) -> dict[str, Any]:
    return largest_conv(res[case][variant]["ops"])


def headline(res: dict[str, Any]) -> dict[str, Any]:
    band = {v: _conv(res, "band", v) for v in res["band"]}
    big55 = _conv(res, "paper", "m55")
    return {
        "bconv_m0_optimized_bmac_per_insn": band["m0"]["opt_per_insn"],
        "bconv_m0_reference_bmac_per_insn": band["m0"]["ref_per_insn"],
        "bconv_m0_speedup": band["m0"]["speedup"],
        "bconv_m0_shape": (f"band of paper op 1: {band['m0']['shape']} ({band['m0']['work']} binary MACs; the whole op "
                           "does not fit 16 KB of RAM)"),
        "bconv_m4_band_optimized_bmac_per_insn": band["m4"]["opt_per_insn"],
        "bconv_m4_band_reference_bmac_per_insn": band["m4"]["ref_per_insn"],
        "bconv_m55_optimized_bmac_per_insn": big55["opt_per_insn"],
        "bconv_m55_reference_bmac_per_insn": big55["ref_per_insn"],
        "bconv_m55_speedup": big55["speedup"],
        "bconv_m55_band_optimized_bmac_per_insn": band["m55"]["opt_per_insn"],
        "bconv_m55_scalar_band_optimized_bmac_per_insn": band["m55_scalar"]["opt_per_insn"],
        "bconv_m55_mve_gain": band["m55_scalar"]["opt_insns"] / band["m55"]["opt_insns"],
        "model_m0_optimized_insns": {"tiny": res["tiny"]["m0"]["model"]["opt_insns"]},
        "model_m0_reference_insns": {"tiny": res["tiny"]["m0"]["model"]["ref_insns"]},
        "model_m55_optimized_insns": {p: res[p]["m55"]["model"]["opt_insns"] for p in ("tiny", "paper")},
        "model_m55_reference_insns": {p: res[p]["m55"]["model"]["ref_insns"] for p in ("tiny", "paper")},
    }


VARIANT_NAMES = {"m0": "Cortex-M0 (Armv6-M, C kernels, Thumb-1 xor-popcount)", "m4": "Cortex-M4 (Thumb-2 assembly)",
                 "m55": "Cortex-M55 (MVE xor-popcount)", "m55_scalar": "Cortex-M55 built with -DBNN_XPC_NO_MVE (scalar Thumb-2 assembly)"}


def readme_lines(res: dict[str, Any], h: dict[str, Any], m4_big: dict[str, Any] | None) -> list[str]:
    """The README section: headline rows and per-op tables of every case."""
    L = ["## Cortex-M0 and Cortex-M55 (`benchmarks/cores.py`)", "",
         "Cortex-M0 (Armv6-M: no Thumb-2, no DSP; QEMU `microbit`, nRF51: 256 KB flash, 16 KB RAM) runs the portable C "
         "kernels around a Thumb-1 assembly Harley-Seal xor-popcount (8-word blocks, two-word LDMs, 7-instruction "
         "carry-save adders on r0-r7, planes and totals in high registers). Cortex-M55 (Armv8.1-M + MVE/Helium; QEMU `mps3-an547`) runs the MVE "
         "xor-popcount: Harley-Seal on 128-bit vectors (VEOR/VAND/VORR carry-save adders, 4 words per instruction; MVE has "
         "no per-byte popcount like Neon's VCNT, so the per-byte counts are SWAR steps on 16 byte lanes summed by "
         "VADDVA.U8), a tail-predicated loop (WLSTP/LETP) for the last words. QEMU counts one MVE instruction as one "
         "instruction; on the silicon a Cortex-M55 executes a 128-bit MVE instruction in two 64-bit beats (overlapping "
         "a load with an ALU instruction), so its cycle gain is smaller than its instruction gain.", "",
         "The paper net's largest conv (op 1) does not fit the M0 (its input alone is 32 KB): the `band` case is that "
         "op on 3 input rows, VALID (every output pixel does the work of an inner pixel of the whole op), behind its "
         f"THERMO_ENCODE; pack {res['band_pack_bytes']} bytes, arena {res['band']['m0']['arena_bytes']} bytes.", "",
         "| figure | value | command |", "|---|---|---|"]
    a = L.append
    b = res["band"]
    a(f"| `bconv_m0_optimized_bmac_per_insn`: {h['bconv_m0_shape']}, optimized / reference | **{h['bconv_m0_optimized_bmac_per_insn']:.3f}** / "
      f"{h['bconv_m0_reference_bmac_per_insn']:.3f} ({h['bconv_m0_speedup']:.1f}x) | `{b['m0']['cmd_run']}` |")
    a(f"| same band on Cortex-M4, optimized / reference | {h['bconv_m4_band_optimized_bmac_per_insn']:.3f} / {h['bconv_m4_band_reference_bmac_per_insn']:.3f}"
      + (f" (whole op on M4: {m4_big['opt_per_insn']:.3f})" if m4_big else "") + f" | `{b['m4']['cmd_run']}` |")
    a(f"| `bconv_m55_optimized_bmac_per_insn`: whole paper op 1 on Cortex-M55 (MVE), optimized / reference | "
      f"**{h['bconv_m55_optimized_bmac_per_insn']:.3f}** / {h['bconv_m55_reference_bmac_per_insn']:.3f} ({h['bconv_m55_speedup']:.1f}x) | "
      f"`{res['paper']['m55']['cmd_run']}` |")
    a(f"| same band on Cortex-M55: MVE / scalar Thumb-2 assembly (`-DBNN_XPC_NO_MVE`) | {h['bconv_m55_band_optimized_bmac_per_insn']:.3f} / "
      f"{h['bconv_m55_scalar_band_optimized_bmac_per_insn']:.3f} (MVE: **{h['bconv_m55_mve_gain']:.2f}x** fewer instructions) | "
      f"`{b['m55']['cmd_run']}`; `{b['m55_scalar']['cmd_run']}` |")
    for core, presets in (("m0", ("tiny",)), ("m55", ("tiny", "paper"))):
        for p in presets:
            m = res[p][core]["model"]
            a(f"| whole {p} model on {R.board(core)[1]} (`bnn_invoke`), optimized / reference | {R.fmt_n(m['opt_insns'])} / "
              f"{R.fmt_n(m['ref_insns'])} instructions ({m['speedup']:.1f}x) | `{res[p][core]['cmd_run']}` |")
    for case, variants in res.items():
        if not isinstance(variants, dict):
            continue
        for variant, k in variants.items():
            a("")
            a(f"### {case}, {VARIANT_NAMES[variant]}")
            a("")
            a(f"Command: `{k['cmd_run']}` (built with `{k['cmd_build']}`).")
            a("")
            a("| op | kernel | shape | work | reference insns | optimized insns | reference /insn | optimized /insn | speed-up |")
            a("|---|---|---|---|---|---|---|---|---|")
            for o in k["ops"]:
                a(f"| {o['index']} | {o['op']} | {o['shape']} | {R.fmt_n(o['work'])} {o['unit']} | {R.fmt_n(o['ref_insns'])} | "
                  f"{R.fmt_n(o['opt_insns'])} | {o['ref_per_insn']:.3f} | {o['opt_per_insn']:.3f} | {o['speedup']:.1f}x |")
    a("")
    return L


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Only the Cortex-M0/M55 part of make bench, merged into results.json/README.md.")
    ap.add_argument("--work", default=str(BENCH / "work" / "cores-only"), help="build/work directory (default benchmarks/work/cores-only)")
    ap.add_argument("--out", default=str(BENCH), help="where results.json and README.md are (default benchmarks/)")
    args = ap.parse_args(argv)
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    out = Path(args.out)
    results = json.loads((out / "results.json").read_text())
    R.log("== calibration (M0, M55)")
    cal = R.calibrate(work, CORES)
    R.log("== exports (untrained tiny and paper)")
    exports = R.export_presets(work)
    R.log("== kernels on QEMU M0/M55 (and the band on M4)")
    res = bench(work, exports)
    h = headline(res)
    results.update(h)
    results["calibration"] = {**results.get("calibration", {}), **cal}
    results["cores"] = res
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    R.write_readme(out / "README.md", R.results_as_res(results))
    for k, v in h.items():
        if isinstance(v, float):
            R.log(f"   {k} = {v:.4g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
