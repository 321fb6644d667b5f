#!/usr/bin/env python3
"""``make bench``: firmware and Python benchmarks -> benchmarks/results.json and benchmarks/README.md.

What it measures (every figure is recorded with the command that produced it):

1. The unit. QEMU has no cycle model; with ``-icount shift=0`` virtual time advances 1 ns per
   instruction, and the port's tick counter (SysTick on the 25 MHz board clock) then advances one
   tick per 40 instructions. ``firmware/tests/tools/calib.c`` checks that: the same code (32 rows
   of a 72-word xor-popcount) is timed with the ticks, and counted exactly with QEMU's instruction
   trace (``-singlestep -d exec,nochain``, one ``Trace`` line per instruction); the ratio must be
   40 (M4 and M7; 50 on the M33 board).
2. Kernels. The ``tiny`` and ``paper`` presets are built untrained (``init_run``) and exported
   (``export_run``, 4 reference samples); ``firmware/tests/tools/model_bench.c`` is built with each
   pack for Cortex-M4 (mps2-an386), Cortex-M7 (mps2-an500) and Cortex-M33 (mps2-an505, Armv8-M
   Mainline: 20 MHz SysTick, so 50 instructions per tick) and times every op's kernel, reference
   and optimized, on one input (the interpreter's profiling hooks; short kernels repeated until
   >= 200k instructions), plus the whole model (``bnn_invoke``). Work units per op: binary MACs
   (``cout*ho*wo*kh*kw*cin_g`` for BCONV2D, ``cin*cout`` for BDENSE, ``c*ho*wo*kh*kw`` for
   BDEPTHWISE2D), input bits read (BMAXPOOL2D), output bits (THERMO_ENCODE, CONCAT).
3. Memory. The example app (``firmware/app/main.c``) is built for Cortex-M4 with each preset's pack
   and one input (``bnn_edge.device.firmware.build_and_run``, as ``bnn-edge run`` does; the run's output is
   checked bit for bit against the simulator), and with a minimal pack (one 1x1 THERMO_ENCODE,
   180 bytes); ``arm-none-eabi-size`` gives flash (text + data) and static RAM (data + bss).
   ``code`` = flash of the minimal-pack app - its pack - its input bytes (the runtime, the app,
   newlib, startup: everything but the model and the test input), and
   ``flash_over_ideal`` = flash / (binary weight bits / 8 + other parameter bytes + code), where
   the weight bits are the real ones (packing padding excluded) and the other parameters are the
   stored thresholds (4 bytes each). Everything else in the image (pack header and tables,
   padding to 32-bit words, alignment, the embedded test input) is overhead.
4. Python: the bit-exact simulator against LCE's interpreter on the same model and images, image by
   image, one thread (``bench_python.sim_vs_lce``), and training throughput of the ``tiny`` preset
   on digits (``bench_python.train_throughput``).

Finishes in about two minutes on 2 cores (QEMU runs go two at a time).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import bench_head  # noqa: E402
import numpy as np  # noqa: E402

FW = ROOT / "firmware"
from bnn_edge.device.targets import board_targets  # noqa: E402

# per core: QEMU board, core, instructions per SysTick tick under -icount shift=0 (1 ns per
# instruction against the board's SysTick clock: 25 MHz on AN386/AN500, 20 MHz on AN505, 16 MHz on
# microbit, 32 MHz on AN547), from the target table (bnn_edge/device/targets.py); the ticks are
# checked by calibrate()
BOARDS = {t.core: (t.qemu_machine, t.description, t.insns_per_tick) for t in board_targets()}
# the cores benchmarks/cores.py measures on its own cases (the paper net does not fit the M0's
# 16 KB); the presets run on the others
CORE_BOARDS = {c: BOARDS[c] for c in ("m0", "m55") if c in BOARDS}
PRESET_BOARDS = tuple(c for c in BOARDS if c not in CORE_BOARDS)


def board(core: str) -> tuple[str, str, float]:
    """QEMU machine, core name, instructions per tick of a core of the table."""
    return BOARDS[core]


PRESETS = ("tiny", "paper", "m4-32")
OP_NAMES = {1: "THERMO_ENCODE", 2: "BCONV2D", 3: "BMAXPOOL2D", 4: "BDEPTHWISE2D", 5: "BDENSE", 6: "CONCAT"}


def rel(p: Path | str) -> str:
    """A path relative to the repository root (commands in the README read from there)."""
    p = Path(p)
    try:
        return str(p.resolve().relative_to(ROOT))
    except ValueError:
        return str(p)


def cmd_str(cmd: list[str]) -> str:
    """A command as typed from the repository root: paths relative, except make variables (make -C
    changes directory), which get $PWD/."""
    out = []
    is_make = cmd[0] == "make"
    for c in cmd:
        if c.startswith(str(ROOT)) and not is_make:
            out.append(shlex.quote(rel(c)))
        elif str(ROOT) in c:
            out.append(c.replace(str(ROOT), "$PWD"))
        else:
            out.append(shlex.quote(c))
    return " ".join(out)


def qemu_cmd(core: str, elf: Path, trace: Path | None = None) -> list[str]:
    cmd = ["qemu-system-arm", "-M", board(core)[0], "-nographic", "-monitor", "none", "-serial", "none",
           "-semihosting-config", "enable=on,target=native"]
    if trace is None:
        cmd += ["-icount", "shift=0"]
    else:
        cmd += ["-singlestep", "-d", "exec,nochain", "-D", str(trace)]
    return cmd + ["-kernel", str(elf)]


def run(cmd: list[str], timeout: int = 600, env: dict[str, str] | None = None) -> str:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"bench: command failed ({proc.returncode}): {cmd_str(cmd)}")
    log(f"  {time.perf_counter() - t0:6.1f} s  {cmd_str(cmd)[:150]}")
    return proc.stdout


def log(msg: str) -> None:
    print(msg, flush=True)


def make(*args: str) -> list[str]:
    return ["make", "--no-print-directory", "-C", str(FW), *args]


# ------------------------------------------------------------------------------------ calibration
def calibrate(work: Path, boards: tuple[str, ...] = tuple(BOARDS)) -> dict[str, Any]:
    """Ticks vs an exact instruction trace, on the same code, for each core of ``boards``."""
    out: dict[str, Any] = {}
    build = work / "fw-tools"
    elfs = [build / core / "tools" / f"{name}.elf" for core in boards for name in ("calib", "calib_trace")]
    build_cmd = make(f"BUILD={build}", *map(str, elfs))
    run(build_cmd)

    def one(core: str) -> dict[str, Any]:
        elf = build / core / "tools" / "calib.elf"
        elf_t = build / core / "tools" / "calib_trace.elf"
        timer_cmd = qemu_cmd(core, elf)
        m = re.search(r"reps=(\d+) ticks=(\d+) spin_ticks=(\d+) spin_insns=(\d+)", run(timer_cmd))
        reps, ticks, spin_ticks, spin_insns = map(int, m.groups())
        trace = work / f"calib-{core}.trace"
        trace_cmd = qemu_cmd(core, elf_t, trace)
        run(trace_cmd)
        nm = subprocess.run(["arm-none-eabi-nm", "-S", str(elf_t)], capture_output=True, text=True).stdout
        sym = {p[-1]: (int(p[0], 16) & ~1, int(p[1], 16) if len(p) == 4 else 0)
               for p in (ln.split() for ln in nm.splitlines()) if len(p) in (3, 4)}
        entry = sym["bnn_xpc_bits"][0]
        # the trace run has no -icount: SysTick follows the host clock, and its handler lands inside
        # repetitions (on a loaded host, in every one of the slow microbit trace): not counted
        h0, hn = sym["bnn_port_systick_handler"]
        pcs = [pc for ln in trace.read_text().splitlines()
               if (mm := re.search(r"\[[0-9a-f]+/([0-9a-f]+)/", ln)) and not h0 <= (pc := int(mm.group(1), 16)) < h0 + hn]
        idx = [i for i, pc in enumerate(pcs) if pc == entry]
        # the distance between two calls within one region call (across the two region calls it also
        # holds the timer reads and the region's prologue): the shortest one
        exact = min(b - a for a, b in zip(idx, idx[1:]))
        trace.unlink()
        return {
            "board": board(core)[0], "core": board(core)[1],
            "exact_insns_per_rep": exact, "trace_lines": len(pcs),
            "timer_reps": reps, "timer_ticks": ticks,
            "timer_insns_per_rep": ticks * board(core)[2] / reps,
            "insns_per_tick": exact * reps / ticks,
            "spin_insns": spin_insns, "spin_ticks": spin_ticks, "spin_insns_per_tick": spin_insns / spin_ticks,
            "cmd_timer": cmd_str(timer_cmd), "cmd_trace": cmd_str(trace_cmd), "cmd_build": cmd_str(build_cmd),
        }

    with ThreadPoolExecutor(2) as ex:
        for core, res in zip(boards, ex.map(one, boards)):
            out[core] = res
            if abs(res["insns_per_tick"] - board(core)[2]) > 0.01:
                raise SystemExit(f"bench: {core}: {res['insns_per_tick']:.4f} instructions per tick, expected {board(core)[2]}")
    return out


# ------------------------------------------------------------------------------------ exports
def export_presets(work: Path) -> dict[str, dict[str, Any]]:
    from bnn_edge.export import export_run
    from bnn_edge.train import init_run

    res = {}
    for preset in PRESETS:
        run_dir, exp_dir = work / preset / "run", work / preset / "export"
        t0 = time.perf_counter()
        init_run(preset, run_dir)
        rep = export_run(run_dir, exp_dir, samples=4, allow_oversize=True)
        log(f"  {time.perf_counter() - t0:6.1f} s  export {preset}: pack {rep['pack_bytes']} bytes")
        res[preset] = {
            "run_dir": run_dir, "export_dir": exp_dir, "report": rep,
            "cmd": (f"python -c 'from bnn_edge.train import init_run; from bnn_edge.export import export_run; "
                    f"init_run(\"{preset}\", \"{rel(run_dir)}\"); export_run(\"{rel(run_dir)}\", \"{rel(exp_dir)}\", samples=4)'"),
        }
    return res


def bench_input(preset: str, pack) -> np.ndarray:
    """One deterministic input image: a digit for tiny, seeded random pixels for paper."""
    h, w, c = pack.tensors[pack.input_tensor].shape
    if preset == "tiny":
        from bnn_edge.data import load_digits

        return load_digits().x_test[:1]
    return np.random.default_rng(1234).integers(0, 256, size=(1, h, w, c)).astype(np.uint8)


# ------------------------------------------------------------------------------------ kernels
def op_work(pack, op) -> tuple[int, str]:
    """Work units of one op and their name."""
    ti, to = pack.tensors[op.in0], pack.tensors[op.out]
    p = op.params
    if op.type == 2:
        return to.h * to.w * to.c * p[0] * p[1] * (ti.c // p[7]), "bMAC"
    if op.type == 5:
        return p[0] * p[1], "bMAC"
    if op.type == 4:
        return to.h * to.w * to.c * p[0] * p[1], "bMAC"
    if op.type == 3:
        return to.h * to.w * to.c * p[0] * p[1], "bit"
    return to.h * to.w * to.c, "bit"


def op_shape(pack, op) -> str:
    ti, to = pack.tensors[op.in0], pack.tensors[op.out]
    p = op.params
    s = f"{ti.h}x{ti.w}x{ti.c} -> {to.h}x{to.w}x{to.c}"
    if op.type == 2:
        s += f", {p[0]}x{p[1]}/{p[2]} {'SAME' if p[6] == 0 else 'VALID'}" + (f", groups {p[7]}" if p[7] > 1 else "")
    elif op.type in (3, 4):
        s += f", {p[0]}x{p[1]}/{p[2]}"
    elif op.type == 1:
        s += f", {p[0]} levels"
    s += ", int32 out" if to.dtype == 1 else ""
    return s


def model_bench(work: Path, exports: dict[str, dict[str, Any]]) -> dict[str, Any]:
    from bnn_edge.codegen.model_data import c_array_files
    from bnn_edge.device.firmware import input_c_source
    from converters import bnnpack as bp

    jobs = []
    for preset in PRESETS:
        d = work / preset / "model_bench"
        d.mkdir(parents=True, exist_ok=True)
        pack_bytes = (exports[preset]["export_dir"] / "model.bnnpack").read_bytes()
        pack = bp.read_pack(pack_bytes)
        (d / "model_data.c").write_text(c_array_files(pack_bytes)[0])
        (d / "input_data.c").write_text(input_c_source(bench_input(preset, pack)))
        for core in PRESET_BOARDS:
            build_cmd = make("app", f"TARGET={core}", f"MODEL_C={d / 'model_data.c'}", f"INPUT_C={d / 'input_data.c'}",
                             f"BUILD={d / core}", f"ARENA_BYTES={pack.arena_bytes + pack.scratch_bytes + 64}",
                             f"APP_MAIN={FW / 'tests/tools/model_bench.c'}", "APP_DEFS=-DBNN_PROFILE=1")
            jobs.append((preset, core, pack, build_cmd, d / core / "app.elf"))
    for j in jobs:  # builds: make runs -j inside
        run(j[3])

    def one(job):
        preset, core, pack, build_cmd, elf = job
        qcmd = qemu_cmd(core, elf)
        return job, qcmd, run(qcmd, timeout=900)

    res: dict[str, Any] = {}
    with ThreadPoolExecutor(2) as ex:
        for (preset, core, pack, build_cmd, elf), qcmd, text in ex.map(one, jobs):
            ops, model, hook_ticks = parse_model_bench(text, pack, board(core)[2])
            if not all(o["equal"] for o in ops) or not model["equal"]:
                raise SystemExit(f"bench: {preset}/{core}: optimized kernels differ from the reference")
            res.setdefault(preset, {})[core] = {
                "ops": ops, "model": model, "hook_ticks_per_pair": hook_ticks,
                "cmd_build": cmd_str(build_cmd), "cmd_run": cmd_str(qcmd),
            }
    return res


def parse_model_bench(text: str, pack, ipt: float) -> tuple[list[dict[str, Any]], dict[str, Any], float]:
    """``model_bench``'s OP and MODEL lines -> per-op figures, whole-model figures, hook ticks
    (``ipt``: instructions per tick of the board)."""
    hook = re.search(r"hook=(\d+)/(\d+)", text)
    hook_ticks = int(hook.group(1)) / int(hook.group(2))
    ops = []
    for m in re.finditer(r"^OP (\d+) (\d+) ref (\d+) (\d+) opt (\d+) (\d+) equal (\d)", text, re.M):
        i, typ, rr, rt, orr, ot, eq = map(int, m.groups())
        op = pack.ops[i]
        work_units, unit = op_work(pack, op)
        ref_insns = (rt / rr - hook_ticks) * ipt
        opt_insns = (ot / orr - hook_ticks) * ipt
        ops.append({
            "index": i, "op": OP_NAMES[typ], "shape": op_shape(pack, op), "work": work_units, "unit": unit,
            "ref_reps": rr, "ref_ticks": rt, "opt_reps": orr, "opt_ticks": ot,
            "ref_insns": ref_insns, "opt_insns": opt_insns,
            "ref_per_insn": work_units / ref_insns, "opt_per_insn": work_units / opt_insns,
            "speedup": ref_insns / opt_insns, "equal": bool(eq),
        })
    mm = re.search(r"^MODEL ref (\d+) opt (\d+) equal (\d)", text, re.M)
    model = {"ref_insns": int(mm.group(1)) * ipt, "opt_insns": int(mm.group(2)) * ipt, "equal": mm.group(3) == "1"}
    model["speedup"] = model["ref_insns"] / model["opt_insns"]
    model["bmacs"] = sum(o["work"] for o in ops if o["unit"] == "bMAC")
    return ops, model, hook_ticks


# ------------------------------------------------------------------------------------ memory
def minimal_pack() -> bytes:
    from converters import bnnpack as bp

    t = [bp.TensorSpec(bp.DType.UINT8, 1, 1, 1), bp.TensorSpec(bp.DType.BITS, 1, 1, 1)]
    ops = [bp.OpSpec(bp.OpCode.THERMO_ENCODE, 0, None, 1, [1], None, np.array([128], np.int32))]
    t, arena = bp.plan_arena(t, ops, input_tensor=0, keep=[1])
    return bp.write_pack(bp.Pack(t, ops, 0, None, 1, arena))


def other_param_bytes(pack) -> int:
    return sum(4 * (0 if op.thresholds is None else op.thresholds.size) for op in pack.ops)


def memory(work: Path, exports: dict[str, dict[str, Any]]) -> dict[str, Any]:
    from bnn_edge.device.firmware import build_and_run, image_size
    from bnn_edge.sim.interpreter import run_pack
    from converters import bnnpack as bp
    from converters.lower import binary_weight_bits

    out: dict[str, Any] = {}
    cases = {"minimal": (minimal_pack(), np.zeros((1, 1, 1, 1), np.uint8))}
    for preset in PRESETS:
        pb = (exports[preset]["export_dir"] / "model.bnnpack").read_bytes()
        cases[preset] = (pb, bench_input(preset, bp.read_pack(pb)))
    for name, (pack_bytes, x) in cases.items():
        pack = bp.read_pack(pack_bytes)
        build = work / name / "app-m4"
        t0 = time.perf_counter()
        dev = build_and_run(pack_bytes, x, "qemu-m4", build)
        size = image_size("qemu-m4", build)
        sim = run_pack(pack, x)
        sim_out = np.asarray(sim["output"]).reshape(len(x), -1).astype(np.int64)
        if out_is_int := pack.tensors[pack.output_tensor].dtype == bp.DType.INT32:
            dev_out = dev.outputs.reshape(len(x), -1).astype(np.int64)
        else:
            dev_out = dev.outputs.reshape(len(x), -1).view("<u4").astype(np.int64)
        exact = bool(np.array_equal(dev_out, sim_out))
        if pack.has_latent:
            exact &= bool(np.array_equal(dev.latents, np.asarray(sim["latent"]).reshape(len(x), -1).astype("<u4").view(np.uint8)))
        log(f"  {time.perf_counter() - t0:6.1f} s  app {name}: flash {size['flash_bytes']} B, bit-exact {exact}")
        arena = pack.arena_bytes + pack.scratch_bytes + 64
        cmd = make("run-app", "TARGET=m4", f"MODEL_C={build / 'model_data.c'}", f"INPUT_C={build / 'input_data.c'}",
                   f"BUILD={build / 'fw'}", f"ARENA_BYTES={arena}")
        out[name] = {
            **size, "pack_bytes": len(pack_bytes), "input_bytes": int(x.size), "arena_bytes": pack.arena_bytes,
            "scratch_bytes": pack.scratch_bytes, "app_arena_bytes": arena, "bit_exact": exact, "int_output": out_is_int,
            "weight_bits": binary_weight_bits(pack), "other_param_bytes": other_param_bytes(pack),
            "cmd_build_run": cmd_str(cmd), "cmd_size": f"arm-none-eabi-size {rel(build / 'fw' / 'app.elf')}",
        }
    # the same images with the optimized kernels only (-DBNN_KERNELS=1), as a deployment would build
    for name in ("minimal", "paper"):
        src = work / name / "app-m4"
        b = work / name / "app-m4-opt"
        cmd = make("app", "TARGET=m4", f"MODEL_C={src / 'model_data.c'}", f"INPUT_C={src / 'input_data.c'}",
                   f"BUILD={b}", f"ARENA_BYTES={out[name]['app_arena_bytes']}", "APP_DEFS=-DBNN_KERNELS=1")
        run(cmd)
        size_cmd = ["arm-none-eabi-size", str(b / "app.elf")]
        text, data, bss = (int(v) for v in run(size_cmd).splitlines()[1].split()[:3])
        out[name + "_optimized_only"] = {
            **{k: out[name][k] for k in ("pack_bytes", "input_bytes", "arena_bytes", "weight_bits", "other_param_bytes")},
            "flash_bytes": text + data, "ram_bytes": data + bss, "text": text, "data": data, "bss": bss,
            "bit_exact": None, "cmd_build_run": cmd_str(cmd), "cmd_size": cmd_str(size_cmd),
        }
    for suffix in ("", "_optimized_only"):
        m = out["minimal" + suffix]
        code = m["flash_bytes"] - m["pack_bytes"] - m["input_bytes"]
        m["code_bytes"] = code
        for preset in PRESETS if not suffix else ("paper",):
            r = out[preset + suffix]
            ideal = r["weight_bits"] / 8 + r["other_param_bytes"] + code
            r["code_bytes"] = code
            r["ideal_flash_bytes"] = ideal
            r["flash_over_ideal"] = r["flash_bytes"] / ideal
    return out


# ------------------------------------------------------------------------------------ python
def python_benches(exports: dict[str, dict[str, Any]]) -> dict[str, Any]:
    import bench_python

    t = exports["tiny"]
    t0 = time.perf_counter()
    sim = bench_python.sim_vs_lce(t["run_dir"], t["export_dir"])
    log(f"  {time.perf_counter() - t0:6.1f} s  sim_vs_lce: slowdown {sim['sim_vs_lce_slowdown']:.2f}")
    sim["cmd"] = (f"cd benchmarks && python -c 'from pathlib import Path; import bench_python as b; "
                  f"print(b.sim_vs_lce(Path(\"../{rel(t['run_dir'])}\"), Path(\"../{rel(t['export_dir'])}\")))'")
    t0 = time.perf_counter()
    tr = bench_python.train_throughput()
    log(f"  {time.perf_counter() - t0:6.1f} s  train_throughput: {tr['train_images_per_s']:.0f} images/s")
    tr["cmd"] = "cd benchmarks && python -c 'import bench_python as b; print(b.train_throughput())'"
    return {"sim_vs_lce": sim, "train": tr}


# ------------------------------------------------------------------------------------ report
def headline(kern: dict[str, Any], mem: dict[str, Any], py: dict[str, Any]) -> dict[str, Any]:
    paper_m4 = kern["paper"]["m4"]["ops"]
    convs = [o for o in paper_m4 if o["op"] == "BCONV2D"]
    big = max(convs, key=lambda o: o["work"])
    m7_big = next(o for o in kern["paper"]["m7"]["ops"] if o["index"] == big["index"])
    m33_big = next(o for o in kern["paper"]["m33"]["ops"] if o["index"] == big["index"])
    return {
        "bconv_m4_optimized_bmac_per_insn": big["opt_per_insn"],
        "bconv_m4_reference_bmac_per_insn": big["ref_per_insn"],
        "bconv_m4_speedup": big["speedup"],
        "bconv_m4_shape": f"paper op {big['index']}: {big['shape']} ({big['work']} binary MACs, the most of any paper conv)",
        "bconv_m7_optimized_bmac_per_insn": m7_big["opt_per_insn"],
        "bconv_m7_reference_bmac_per_insn": m7_big["ref_per_insn"],
        "bconv_m33_optimized_bmac_per_insn": m33_big["opt_per_insn"],
        "bconv_m33_reference_bmac_per_insn": m33_big["ref_per_insn"],
        "bconv_m4_min_optimized_bmac_per_insn_paper": min(o["opt_per_insn"] for o in convs),
        "flash_over_ideal": mem["paper"]["flash_over_ideal"],
        "sim_vs_lce_slowdown": py["sim_vs_lce"]["sim_vs_lce_slowdown"],
        "train_images_per_s": py["train"]["train_images_per_s"],
        "model_m4_optimized_insns": {p: kern[p]["m4"]["model"]["opt_insns"] for p in PRESETS},
        "model_m4_reference_insns": {p: kern[p]["m4"]["model"]["ref_insns"] for p in PRESETS},
        "model_m7_optimized_insns": {p: kern[p]["m7"]["model"]["opt_insns"] for p in PRESETS},
        "model_m7_reference_insns": {p: kern[p]["m7"]["model"]["ref_insns"] for p in PRESETS},
        "model_m33_optimized_insns": {p: kern[p]["m33"]["model"]["opt_insns"] for p in PRESETS},
        "model_m33_reference_insns": {p: kern[p]["m33"]["model"]["ref_insns"] for p in PRESETS},
        "flash_bytes": {p: mem[p]["flash_bytes"] for p in PRESETS},
        "ram_bytes": {p: mem[p]["ram_bytes"] for p in PRESETS},
        "code_bytes": mem["paper"]["code_bytes"],
        "flash_over_ideal_optimized_only": mem["paper_optimized_only"]["flash_over_ideal"],
    }


def fmt_n(v: float) -> str:
    if v >= 1e6:
        return f"{v / 1e6:.2f} M"
    if v >= 1e4:
        return f"{v / 1e3:.1f} k"
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}"


def write_readme(path: Path, res: dict[str, Any]) -> None:
    h, cal, kern, mem, py, env = res["headline"], res["calibration"], res["kernels"], res["memory"], res["python"], res["environment"]
    L: list[str] = []
    a = L.append
    a("# Benchmarks")
    a("")
    a(f"Generated by `make bench` (`benchmarks/run.py`) on {env['date']}, {env['machine']}, {env['cpus']} CPUs "
      f"(1-minute load average {env['loadavg_1min_at_start']} at the start); "
      f"{env['gcc']}, {env['qemu']}. Do not edit: rerun `make bench`. Raw figures: `results.json`. "
      "Commands are run from the repository root with the virtual environment's `python`; the build trees are under "
      "`benchmarks/work/` (kept after the run).")
    a("")
    a("Instruction counts come from QEMU (no cycle model, so these are instructions, not cycles; on silicon an M4 "
      "spends about one cycle per data-processing instruction, plus extra cycles for loads, LDM and taken branches).")
    a("")
    a("## Headline")
    a("")
    a("| figure | value | command |")
    a("|---|---|---|")
    big_m4 = kern["paper"]["m4"]
    a(f"| `bconv_m4_optimized_bmac_per_insn`: {h['bconv_m4_shape']}, optimized | **{h['bconv_m4_optimized_bmac_per_insn']:.3f}** binary MACs / instruction | `{big_m4['cmd_run']}` |")
    a(f"| `bconv_m4_reference_bmac_per_insn`: same conv, reference kernel | {h['bconv_m4_reference_bmac_per_insn']:.3f} (optimized = **{h['bconv_m4_speedup']:.1f}x**) | `{big_m4['cmd_run']}` |")
    a(f"| same conv on Cortex-M7, optimized / reference | {h['bconv_m7_optimized_bmac_per_insn']:.3f} / {h['bconv_m7_reference_bmac_per_insn']:.3f} | `{kern['paper']['m7']['cmd_run']}` |")
    a(f"| same conv on Cortex-M33 (Armv8-M Mainline), optimized / reference | {h['bconv_m33_optimized_bmac_per_insn']:.3f} / {h['bconv_m33_reference_bmac_per_insn']:.3f} | `{kern['paper']['m33']['cmd_run']}` |")
    for p in PRESETS:
        mm4 = kern[p]["m4"]["model"]
        a(f"| whole {p} model on Cortex-M4 (`bnn_invoke`), optimized / reference | {fmt_n(mm4['opt_insns'])} / {fmt_n(mm4['ref_insns'])} instructions "
          f"({mm4['speedup']:.1f}x) | `{kern[p]['m4']['cmd_run']}` |")
    a(f"| `flash_over_ideal`: paper image flash / (weight bits/8 + other parameters + code) | **{h['flash_over_ideal']:.4f}** "
      f"({mem['paper']['flash_bytes']} / {mem['paper']['ideal_flash_bytes']:.0f} bytes) | `{mem['paper']['cmd_size']}` (after `{mem['paper']['cmd_build_run']}`) |")
    s = py["sim_vs_lce"]
    a(f"| `sim_vs_lce_slowdown`: simulator s/image over LCE interpreter s/image (tiny, {s['images']} digits, batch 1, 1 thread) | **{s['sim_vs_lce_slowdown']:.2f}** "
      f"({s['sim_s_per_image'] * 1e3:.3f} ms vs {s['lce_s_per_image'] * 1e3:.3f} ms; simulator batched: {s['sim_batched_s_per_image'] * 1e3:.3f} ms) | `{s['cmd']}` |")
    t = py["train"]
    a(f"| `train_images_per_s`: {t['train_preset']} preset, digits, batch {t['train_batch']} | **{t['train_images_per_s']:.0f}** images/s | `{t['cmd']}` |")
    a("")
    a("## The unit: instructions per tick")
    a("")
    a("Under `-icount shift=0` QEMU advances virtual time 1 ns per instruction; the Cortex-M port's `bnn_port_ticks()` "
      "counts SysTick ticks of the board clock (25 MHz on AN386/AN500, 20 MHz on AN505, 16 MHz on microbit, 32 MHz "
      "on AN547), so one tick should be 40 (50, 62.5, 31.25) instructions. QEMU does not model the DWT cycle counter "
      "(it reads 0). "
      "`firmware/tests/tools/calib.c` runs 32 rows of a 72-word xor-popcount (the paper conv's inner loop, thresholded) "
      "many times under the timer; `calib_trace.elf` is the same code (only two volatile constants differ) run 3 times "
      "under QEMU's exact instruction trace, where one repetition is the distance between two entries of `bnn_xpc_bits` "
      "in the trace. The benchmark stops if the ratio is not the board's (40, 50, 62.5, 31.25).")
    a("")
    a("| core | exact instructions per repetition (trace) | timer: ticks x the board's ratio / reps | instructions per tick | spin loop: instructions / ticks | commands |")
    a("|---|---|---|---|---|---|")
    for core, c in cal.items():
        a(f"| {c['core']} ({c['board']}) | {c['exact_insns_per_rep']} | {c['timer_insns_per_rep']:.2f} ({c['timer_ticks']} ticks / {c['timer_reps']}) "
          f"| **{c['insns_per_tick']:.4f}** | {c['spin_insns']} / {c['spin_ticks']} = {c['spin_insns_per_tick']:.4f} | "
          f"`{c['cmd_build']}`; `{c['cmd_timer']}`; `{c['cmd_trace']}` |")
    a("")
    a("## Kernels, per layer of the presets (reference vs optimized, instructions)")
    a("")
    a("Each op of the exported pack, timed alone by `model_bench` (the interpreter's profiling hooks around the kernel "
      "call; argument decoding excluded; the ~19-instruction cost of the hooks subtracted; kernels shorter than 200k "
      "instructions repeated and averaged). The optimized and reference outputs are compared for every op (all equal). "
      "Rates: binary MACs (`bMAC`) per instruction for BCONV2D (`cout*ho*wo*kh*kw*cin_g`), BDENSE (`cin*cout`) and "
      "BDEPTHWISE2D; input bits per instruction for BMAXPOOL2D; output bits per instruction for THERMO_ENCODE and CONCAT. "
      "Inputs: one seeded random 32x32x3 image (paper), the first test digit (tiny); weights: the untrained model's. "
      "The reference kernels count bits one at a time, so their counts depend on the data; the optimized ones do not.")
    for preset in PRESETS:
        for core in PRESET_BOARDS:
            k = kern[preset][core]
            a("")
            a(f"### {preset}, {BOARDS[core][1]}")
            a("")
            a(f"Command: `{k['cmd_run']}` (built with `{k['cmd_build']}`).")
            a("")
            a("| op | kernel | shape | work | reference insns | optimized insns | reference /insn | optimized /insn | speed-up |")
            a("|---|---|---|---|---|---|---|---|---|")
            for o in k["ops"]:
                a(f"| {o['index']} | {o['op']} | {o['shape']} | {fmt_n(o['work'])} {o['unit']} | {fmt_n(o['ref_insns'])} | "
                  f"{fmt_n(o['opt_insns'])} | {o['ref_per_insn']:.3f} | {o['opt_per_insn']:.3f} | {o['speedup']:.1f}x |")
            m = k["model"]
            a(f"| all | whole model (`bnn_invoke`) | {fmt_n(m['bmacs'])} bMAC in conv/dense/depthwise | | {fmt_n(m['ref_insns'])} | "
              f"{fmt_n(m['opt_insns'])} | {m['bmacs'] / m['ref_insns']:.3f} | {m['bmacs'] / m['opt_insns']:.3f} | {m['speedup']:.1f}x |")
    a("")
    a("")
    a("The Cortex-M33 build is the same code (Armv8-M Mainline runs the Armv7E-M Thumb-2 assembly unchanged).")
    a("")
    if "cores" in res:
        import cores  # benchmarks/cores.py (imports this module)

        L.extend(cores.readme_lines(res["cores"], h, cores.largest_conv(kern["paper"]["m4"]["ops"])))
    a("## Flash and RAM of the firmware image (example app, Cortex-M4, -O2)")
    a("")
    a("`bnn_edge.device.firmware.build_and_run` builds `firmware/app/main.c` with the pack and one input embedded (what "
      "`bnn-edge run --target qemu-m4` builds: both kernel families linked) and runs it on QEMU; its output is compared "
      "with the simulator's. Flash = "
      "text + data, RAM = data + bss (the static arena included; the linker script reserves 64 KiB of stack on top). "
      "`code` = flash of the app built with a minimal pack (one 1x1 THERMO_ENCODE) - that pack - its 1-byte input: "
      "the runtime (loader, interpreter, both kernel families), the app, startup, newlib (printf, semihosting). "
      "Ideal = binary weight bits / 8 (real weights, packing padding excluded) + other parameters (thresholds, 4 bytes "
      "each) + code.")
    a("")
    a("| image | flash | RAM | pack | arena | weight bits / 8 | other parameters | ideal flash | flash / ideal | bit-exact vs simulator | commands |")
    a("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in ("minimal",) + PRESETS + ("minimal_optimized_only", "paper_optimized_only"):
        r = mem[name]
        ideal = f"{r['ideal_flash_bytes']:.0f}" if "ideal_flash_bytes" in r else "-"
        ratio = f"**{r['flash_over_ideal']:.4f}**" if "flash_over_ideal" in r else "-"
        a(f"| {name} | {r['flash_bytes']} | {r['ram_bytes']} | {r['pack_bytes']} | {r['arena_bytes']} | {r['weight_bits'] / 8:.0f} | "
          f"{r['other_param_bytes']} | {ideal} | {ratio} | {'-' if r['bit_exact'] is None else r['bit_exact']} | `{r['cmd_build_run']}`; `{r['cmd_size']}` |")
    a("")
    mo = mem["minimal_optimized_only"]
    a(f"code = {mem['minimal']['flash_bytes']} - {mem['minimal']['pack_bytes']} - {mem['minimal']['input_bytes']} = "
      f"**{mem['paper']['code_bytes']}** bytes (both kernel families); with the optimized kernels only "
      f"(`-DBNN_KERNELS=1`, the `_optimized_only` rows, built but not run): {mo['flash_bytes']} - {mo['pack_bytes']} - "
      f"{mo['input_bytes']} = {mo['code_bytes']} bytes. Most of it is newlib's printf and semihosting, which a board "
      "build replaces with its own UART output.")
    a("")
    a("## Python")
    a("")
    a("Wall-clock timings (best of 3 for the simulator and LCE), so unlike the instruction counts they depend on the "
      "machine and on its load (see the load average above).")
    a("")
    a("| figure | value | command |")
    a("|---|---|---|")
    a(f"| bit-exact simulator, s/image, batch 1 (tiny, digits) | {s['sim_s_per_image'] * 1e3:.3f} ms | `{s['cmd']}` |")
    a(f"| LCE interpreter (`larq_compute_engine`), s/image, batch 1, 1 thread | {s['lce_s_per_image'] * 1e3:.3f} ms | `{s['cmd']}` |")
    a(f"| simulator, whole batch of {s['images']} at once, s/image | {s['sim_batched_s_per_image'] * 1e3:.3f} ms | `{s['cmd']}` |")
    a(f"| simulator / LCE (batch 1) | {s['sim_vs_lce_slowdown']:.2f} | `{s['cmd']}` |")
    a(f"| training, {t['train_preset']} preset, digits, batch {t['train_batch']} | {t['train_images_per_s']:.0f} images/s | `{t['cmd']}` |")
    a("")
    path.write_text("\n".join(L) + "\n")


RESULT_SECTIONS = ("environment", "calibration", "kernels", "cores", "memory", "python", "cli", "exports", "wall_s")


def results_as_res(results: dict[str, Any]) -> dict[str, Any]:
    """``results.json`` (headline keys flattened at the top) back into :func:`write_readme`'s input."""
    return {"headline": {k: v for k, v in results.items() if k not in RESULT_SECTIONS},
            **{k: results[k] for k in RESULT_SECTIONS if k in results}}


def environment() -> dict[str, Any]:
    def first_line(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0].strip()
        except (OSError, IndexError):
            return "?"

    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.system()} {platform.machine()}",
        "cpus": os.cpu_count(),
        "loadavg_1min_at_start": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "gcc": first_line(["arm-none-eabi-gcc", "--version"]),
        "qemu": first_line(["qemu-system-arm", "--version"]),
    }


def only_head(work: Path, out: Path) -> int:
    """`--only head`: the head's figures alone, merged into the existing results.json and README.md."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    t0 = time.perf_counter()
    log("== on-device learning (head) on QEMU M4/M7/M33")
    head = bench_head.head_bench(work, BOARDS, run, make, qemu_cmd, cmd_str)
    path = out / "results.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    keys = bench_head.headline(head)
    results = {**{k: v for k, v in results.items() if not k.startswith("head")}, **keys, "head": head}
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    bench_head.replace_section(out / "README.md", bench_head.readme_section(head, {c: b[1] for c, b in BOARDS.items()}))
    log(f"== done in {time.perf_counter() - t0:.0f} s: {rel(path)}, {rel(out / 'README.md')}")
    for k in ("head_learn_m4_insns", "head_learn_m4_insns_per_sample", "head_learn_m4_reference_insns_per_sample",
              "head_end_task_m4_insns_per_sample", "head_predict_m4_insns", "head_commit_m4_insns",
              "head_update_m4_insns_per_latent"):
        log(f"   {k} = {keys[k]:.6g}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", default=str(BENCH / "work"), help="build/work directory (default benchmarks/work)")
    ap.add_argument("--out", default=str(BENCH), help="where results.json and README.md go (default benchmarks/)")
    ap.add_argument("--only", choices=["head"], help="run one part alone and update its keys in results.json and "
                    "its section of README.md (head: the on-device learning costs, bench_head.py)")
    args = ap.parse_args(argv)
    for tool in ("make", "arm-none-eabi-gcc", "arm-none-eabi-size", "arm-none-eabi-nm", "qemu-system-arm"):
        if shutil.which(tool) is None:
            raise SystemExit(f"bench: {tool} not found: run `make setup`")
    work = Path(args.work).resolve()
    if args.only == "head":
        return only_head(work / "head", Path(args.out))
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    t_start = time.perf_counter()
    res: dict[str, Any] = {"environment": environment()}
    log("== calibration (ticks vs exact instruction trace)")
    res["calibration"] = calibrate(work)
    log("== exports (untrained tiny and paper)")
    exports = export_presets(work)
    log("== kernels and whole models on QEMU M4/M7/M33")
    res["kernels"] = model_bench(work, exports)
    import cores  # benchmarks/cores.py: the Cortex-M0 / Cortex-M55 cases (imports this module)

    log("== kernels on QEMU M0/M55 (benchmarks/cores.py)")
    res["cores"] = cores.bench(work, exports)
    log("== flash/RAM of the example app")
    res["memory"] = memory(work, exports)
    log("== python: simulator vs LCE, training throughput")
    res["python"] = python_benches(exports)
    log("== on-device learning (head) on QEMU M4/M7/M33")
    res["head"] = bench_head.head_bench(work, BOARDS, run, make, qemu_cmd, cmd_str)
    res["headline"] = {**headline(res["kernels"], res["memory"], res["python"]), **cores.headline(res["cores"]),
                       **bench_head.headline(res["head"])}
    log("== command start-up: bnn-edge --help, bnn-edge inspect (bench_cli)")
    import bench_cli

    cli = bench_cli.cli_startup(exports["tiny"]["export_dir"] / "model.bnnpack")
    res["headline"].update({k: v for k, v in cli.items() if k != "cli"})
    res["cli"] = cli["cli"]
    res["exports"] = {p: {"cmd": e["cmd"], "pack_bytes": e["report"]["pack_bytes"], "ops": e["report"]["ops"]}
                      for p, e in exports.items()}
    res["wall_s"] = time.perf_counter() - t_start
    out = Path(args.out)
    results = {**res["headline"], **{k: v for k, v in res.items() if k != "headline"}}
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    write_readme(out / "README.md", res)
    bench_head.replace_section(out / "README.md", bench_head.readme_section(res["head"], {c: b[1] for c, b in BOARDS.items()}))
    log(f"== done in {res['wall_s']:.0f} s: {rel(out / 'results.json')}, {rel(out / 'README.md')}")
    for k in ("bconv_m4_optimized_bmac_per_insn", "bconv_m4_reference_bmac_per_insn", "bconv_m4_speedup",
              "bconv_m0_optimized_bmac_per_insn", "bconv_m55_optimized_bmac_per_insn", "flash_over_ideal", "sim_vs_lce_slowdown", "train_images_per_s"):
        log(f"   {k} = {res['headline'][k]:.4g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
