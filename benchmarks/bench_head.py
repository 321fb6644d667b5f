"""What on-device learning costs: ``firmware/tests/tools/head_bench.c`` on QEMU M4/M7/M33.

``run.py`` calls :func:`head_bench` (also alone: ``benchmarks/run.py --only head``). Figures are
instructions (QEMU ``-icount shift=0``: the ticks of the port's SysTick times the board's
instructions per tick, 40 or 50, checked by ``run.py``'s calibration), not cycles.

Per head (the default one, N=256 H=128 10 classes; the paper-size one, N=1024 H=128 100 classes;
both with the default 4 KiB buffer, K=2 replays, 6 epochs), averaged over the scenario of
``head_bench.c`` (synthetic latents, task 0 from the buffer, then ``bnn_head_learn`` on the other
classes):

* ``learn``: one ``bnn_head_learn`` call (1 + K SGD steps); ``learn_per_sample`` = per SGD step
  (= learn / (1 + K) once the buffer holds samples);
* ``end_task_per_sample``: ``bnn_head_end_task`` / (epochs x stored samples);
* ``predict``: one ``bnn_head_predict``; ``commit``: one steady-state ``bnn_store_commit`` of the
  whole state on the RAM flash simulator (a real flash adds its erase/program time);
* reference and optimized kernels (``bnn_head_set_kernels``: the W2 update and the logits), which
  must end equal;
* ``update_insns_per_latent``: the update loop alone on one class row (768 latents).

The time of a tick read (``HOOK``) is subtracted once per timed region.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any, Callable

HEADS = ("default", "paper")
# the cores measured (issue 13: M4, M7, M33); the Cortex-M0 board's 16 KiB cannot hold the bench's
# heads (its arena alone is 540 KiB), and run.py's board table has more cores than these
CORES = ("m4", "m7", "m33")
CLOCK_MHZ = 100  # the clock the milliseconds are stated at (1 instruction per cycle assumed)


def parse(text: str, insns_per_tick: int) -> dict[str, Any]:
    """head_bench's output -> instruction counts per operation."""
    m = re.search(r"^HOOK reps=(\d+) ticks=(\d+)", text, re.M)
    hook = int(m.group(2)) / int(m.group(1))  # ticks per tick read
    out: dict[str, Any] = {}
    for name in HEADS:
        hm = re.search(rf"^HEAD {name} n=(\d+) h=(\d+) k=(\d+) slots=(\d+) arena=(\d+) control=(\d+) state=(\d+)", text, re.M)
        if hm is None:
            raise SystemExit(f"bench: head_bench printed no HEAD {name} line:\n{text[-2000:]}")
        n, h, k, slots, arena, control, state = map(int, hm.groups())
        r: dict[str, Any] = {"n_latent": n, "n_hidden": h, "classes": k, "slots": slots, "arena_bytes": arena,
                             "control_bytes": control, "state_bytes": state}
        for kern, key in (("ref", "reference"), ("opt", "optimized")):
            lm = re.search(rf"^LEARN {name} {kern} calls=(\d+) steps=(\d+) ticks=(\d+)", text, re.M)
            calls, steps, ticks = map(int, lm.groups())
            learn = (ticks - calls * hook) * insns_per_tick / calls
            em = re.search(rf"^END_TASK {name} {kern} steps=(\d+) ticks=(\d+)", text, re.M)
            esteps, eticks = map(int, em.groups())
            r[key] = {"learn_calls": calls, "learn_steps": steps, "learn_insns": learn,
                      "learn_insns_per_sample": learn * calls / steps,
                      "end_task_steps": esteps, "end_task_insns": (eticks - hook) * insns_per_tick,
                      "end_task_insns_per_sample": (eticks - hook) * insns_per_tick / esteps}
        pm = re.search(rf"^PREDICT {name} calls=(\d+) ticks=(\d+)", text, re.M)
        calls, ticks = map(int, pm.groups())
        r["predict_insns"] = (ticks - calls * hook) * insns_per_tick / calls
        cm = re.search(rf"^COMMIT {name} bytes=(\d+) ticks=(\d+)", text, re.M)
        r["commit_insns"] = (int(cm.group(2)) - hook) * insns_per_tick
        eq = re.search(rf"^HEAD_EQUAL {name} (\d)", text, re.M)
        r["reference_equals_optimized"] = eq is not None and eq.group(1) == "1"
        out[name] = r
    for kern, key in (("ref", "reference"), ("opt", "optimized")):
        rm = re.search(rf"^ROW {kern} latents=(\d+) reps=(\d+) ticks=(\d+)", text, re.M)
        lat, reps, ticks = map(int, rm.groups())
        out.setdefault("update_row", {})[key] = {"latents": lat, "reps": reps,
                                                 "insns_per_latent": (ticks - hook) * insns_per_tick / (reps * lat)}
    return out


def cil_app_size(work: Path, run: Callable[..., str], make: Callable[..., list[str]], cmd_str: Callable[[list[str]], str]) -> dict[str, Any]:
    """Flash/RAM of the CIL application (app/cil_main.c + libbnn, the default synthetic stream) for
    Cortex-M4, with the sizes of its big symbols (the stream's latents in flash; the head's arena, the
    second arena of its reload check and the simulated flash in RAM)."""
    build = work / "cil"
    build_cmd = make(f"BUILD={build}", "cil-m4")
    run(build_cmd)
    elf = build / "cil" / "m4" / "cil_app.elf"
    size_cmd = ["arm-none-eabi-size", str(elf)]
    text, data, bss = (int(v) for v in run(size_cmd).splitlines()[1].split()[:3])
    nm = subprocess.run(["arm-none-eabi-nm", "-S", str(elf)], capture_output=True, text=True, check=True).stdout
    syms = {p[3]: int(p[1], 16) for p in (ln.split() for ln in nm.splitlines()) if len(p) == 4}
    big = {s: syms.get(s, 0) for s in ("cil_latents", "cil_ops", "cil_arena", "cil_arena2", "cil_flash")}
    return {"flash_bytes": text + data, "ram_bytes": data + bss, "text": text, "data": data, "bss": bss,
            "symbols": big, "ram_without_check_and_flash_sim": data + bss - big["cil_arena2"] - big["cil_flash"],
            "flash_without_stream": text + data - big["cil_latents"] - big["cil_ops"],
            "cmd_build": cmd_str(build_cmd), "cmd_size": cmd_str(size_cmd)}


def head_bench(work: Path, boards: dict[str, tuple[str, str, int]], run: Callable[..., str],
               make: Callable[..., list[str]], qemu_cmd: Callable[..., list[str]],
               cmd_str: Callable[[list[str]], str]) -> dict[str, Any]:
    """Builds head_bench for the boards of CORES, runs it under QEMU -icount, returns figures + commands."""
    boards = {core: b for core, b in boards.items() if core in CORES}
    build = work / "head-tools"
    elfs = {core: build / core / "tools" / "head_bench.elf" for core in boards}
    build_cmd = make(f"BUILD={build}", *map(str, elfs.values()))
    run(build_cmd)
    res: dict[str, Any] = {"cores": {}, "clock_mhz": CLOCK_MHZ, "cmd_build": cmd_str(build_cmd)}
    for core, elf in elfs.items():
        qcmd = qemu_cmd(core, elf)
        r = parse(run(qcmd, timeout=900), boards[core][2])
        for name in HEADS:
            if not r[name]["reference_equals_optimized"]:
                raise SystemExit(f"bench: head {name} on {core}: the optimized update differs from the reference")
        r["cmd_run"] = cmd_str(qcmd)
        res["cores"][core] = r
    res["cil_app_m4"] = cil_app_size(work, run, make, cmd_str)
    return res


def headline(res: dict[str, Any]) -> dict[str, float]:
    """The results.json keys: head_<op>[_paper]_<core>_[reference_]insns[_per_sample]."""
    h: dict[str, float] = {}
    for core, r in res["cores"].items():
        for name in HEADS:
            p = "" if name == "default" else "paper_"
            d = r[name]
            o, ref = d["optimized"], d["reference"]
            h[f"head_learn_{p}{core}_insns"] = o["learn_insns"]
            h[f"head_learn_{p}{core}_insns_per_sample"] = o["learn_insns_per_sample"]
            h[f"head_learn_{p}{core}_reference_insns"] = ref["learn_insns"]
            h[f"head_learn_{p}{core}_reference_insns_per_sample"] = ref["learn_insns_per_sample"]
            h[f"head_end_task_{p}{core}_insns_per_sample"] = o["end_task_insns_per_sample"]
            h[f"head_end_task_{p}{core}_reference_insns_per_sample"] = ref["end_task_insns_per_sample"]
            h[f"head_predict_{p}{core}_insns"] = d["predict_insns"]
            h[f"head_commit_{p}{core}_insns"] = d["commit_insns"]
        h[f"head_update_{core}_insns_per_latent"] = r["update_row"]["optimized"]["insns_per_latent"]
        h[f"head_update_{core}_reference_insns_per_latent"] = r["update_row"]["reference"]["insns_per_latent"]
    c = res["cil_app_m4"]
    h["head_cil_app_m4_flash_bytes"] = c["flash_bytes"]
    h["head_cil_app_m4_ram_bytes"] = c["ram_bytes"]
    return h


BEGIN, END = "<!-- head-bench:begin -->", "<!-- head-bench:end -->"


def readme_section(res: dict[str, Any], names: dict[str, str]) -> str:
    """The README's section (between the markers, so ``--only head`` can replace it alone)."""
    mhz = res["clock_mhz"]
    L = [BEGIN, "## On-device learning (the head), instructions per operation", ""]
    a = L.append
    a("`firmware/tests/tools/head_bench.c` on QEMU (`-icount shift=0`, the calibrated ticks above): the project's "
      "scenario on synthetic latents (a random prototype per class, ~19 % of the bits flipped per sample; task 0 = the "
      "first half of the classes offered to the buffer, then `end_task`; then `bnn_head_learn` on samples of every "
      "other class; 100 predictions; a commit of the whole state to the two-slot store), once with the reference and "
      "once with the optimized kernels (`bnn_head_set_kernels`: the W2 update and the logits; W1·z is the same), which "
      "end in the same state (checked). Default hyper-parameters (K = 2 "
      "replays, 6 epochs, 4 KiB buffer). `learn` = one `bnn_head_learn` call, its K replays included; per sample = "
      "per SGD step (learn / (1 + K)); `end_task` per sample = one SGD step of `end_task`; `commit` = one steady-state "
      "`bnn_store_commit` on the RAM flash simulator (a real flash adds its erase and program time). The cost of a step "
      "depends on the data: a class row is updated only when its rounded step is not 0. "
      f"**These are instructions, not cycles**; the milliseconds assume one instruction per cycle at {mhz} MHz "
      "(on an M4, loads and taken branches take 2 cycles, so silicon is somewhat slower).")
    a("")
    a("| core | head | learn (opt / ref) | learn per sample (opt / ref) | end_task per sample (opt / ref) | predict | commit (state) | learn per sample at "
      f"{mhz} MHz |")
    a("|---|---|---|---|---|---|---|---|")

    def n(v: float) -> str:
        return f"{v / 1e6:.2f} M" if v >= 1e6 else f"{v / 1e3:.1f} k"

    for core, r in res["cores"].items():
        for name in HEADS:
            d = r[name]
            o, f = d["optimized"], d["reference"]
            shape = f"{name}: N={d['n_latent']} H={d['n_hidden']} {d['classes']} classes, {d['slots']} slots"
            a(f"| {names[core]} | {shape} | {n(o['learn_insns'])} / {n(f['learn_insns'])} | **{n(o['learn_insns_per_sample'])}** / "
              f"{n(f['learn_insns_per_sample'])} | {n(o['end_task_insns_per_sample'])} / {n(f['end_task_insns_per_sample'])} | "
              f"{n(d['predict_insns'])} | {n(d['commit_insns'])} ({d['state_bytes']} B) | "
              f"{o['learn_insns_per_sample'] / (mhz * 1e3):.3f} ms |")
    a("")
    pap = next(iter(res["cores"].values()))["paper"]
    a(f"RAM of the heads (arena + control on the 32-bit cores): default {next(iter(res['cores'].values()))['default']['arena_bytes']} B; "
      f"paper-size {pap['arena_bytes']} B (its {pap['classes']} x 2 x {pap['n_latent'] + pap['n_hidden']} int16 latents alone "
      f"{pap['classes'] * 2 * (pap['n_latent'] + pap['n_hidden']) * 2} B): more than most microcontrollers' SRAM, measured on the "
      "QEMU boards' 4 MiB (2 MiB on AN505); its costs scale to a device that has it.")
    a("")
    a("The W2 update loop alone (one class row of the default head, 768 int16 latents, "
      "`bnn_head_update_row_*`), instructions per latent weight:")
    a("")
    a("| core | reference | optimized |")
    a("|---|---|---|")
    for core, r in res["cores"].items():
        u = r["update_row"]
        a(f"| {names[core]} | {u['reference']['insns_per_latent']:.2f} | **{u['optimized']['insns_per_latent']:.2f}** |")
    a("")
    c = res["cil_app_m4"]
    s = c["symbols"]
    a(f"CIL application (`app/cil_main.c` with the default synthetic stream, Cortex-M4, -O2): flash {c['flash_bytes']} B "
      f"(text + data; {s['cil_latents'] + s['cil_ops']} B of it the embedded stream), RAM {c['ram_bytes']} B (data + bss: the head's "
      f"arena {s['cil_arena']} B, a second arena {s['cil_arena2']} B for the app's reload check and the simulated flash "
      f"{s['cil_flash']} B; without those two, {c['ram_without_check_and_flash_sim']} B), plus the stack. Commands: `{c['cmd_build']}`; "
      f"`{c['cmd_size']}`.")
    a("")
    for core, r in res["cores"].items():
        a(f"- {names[core]}: `{r['cmd_run']}`")
    a(f"- built with `{res['cmd_build']}`")
    a(END)
    return "\n".join(L)


def replace_section(readme: Path, section: str) -> None:
    """Puts the section into README.md (replacing the previous one, or at the end)."""
    text = readme.read_text() if readme.exists() else ""
    if BEGIN in text and END in text:
        i, j = text.index(BEGIN), text.index(END) + len(END)
        text = text[:i] + section + text[j:]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    readme.write_text(text)
