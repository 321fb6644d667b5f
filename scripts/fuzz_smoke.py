#!/usr/bin/env python3
"""`make fuzz-smoke`: a short run of every robustness check, summarised as one JSON line.

1. The Hypothesis fuzzers of the converters and loaders (tests/test_fuzz_converters.py) with a
   fixed example budget per test: mutated/truncated/bit-flipped .tflite and .bnnpack files through
   read_tflite, describe_tflite, lower, read_pack, describe and `bnn-edge inspect`.
2. The libFuzzer targets of the firmware (firmware/fuzz, clang + ASan + UBSan): the pack loader
   with inference, and the head's stored-state loader, side by side (one core each).
4. The differential pack test (scripts/pack_diff_fuzz.py): generated packs through the Python
   reader and the C loader, which must give the same accept/reject verdict (--diff-packs).
3. The head's power-cut test (firmware/tests/test_powercut*.c, ASan build) with many random cut
   points over many commits (BNN_POWERCUT_TRIALS), after its exhaustive cuts.

The LAST line of stdout is a JSON object:
    converter_cases   Hypothesis cases executed
    loader_execs      libFuzzer executions (both targets)
    crashes           failing fuzz tests + fuzzer crashes/timeouts/leaks + abnormal power-cut runs
    powercut_trials   power-cut trials (exhaustive + random), powercut_corrupt: corrupt loads
    verdict_disagreements   packs the Python reader and the C loader judged differently (of
                      diff_packs generated)
    powercut_lost_commits   commits that returned OK and did not load after the next reboot
    flash_read_error_trials power-cut trials run with the flash simulator's read faults after a
                      cut (torn units fail to read, or read unstable bits); their corrupt loads and
                      lost commits are counted in powercut_corrupt / powercut_lost_commits
plus seconds, skipped (parts that could not run, and why) and details. Progress goes to stderr,
tool output to logs under firmware/build/fuzz/smoke/. Exit status: 1 when crashes or corrupt
loads were found (or, with --require-targets, a budget target was missed), else 0.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FW = ROOT / "firmware"
FUZZ_DIR = FW / "fuzz"
BUILD = FW / "build" / "fuzz"
LOGS = BUILD / "smoke"
TARGETS = {"converter_cases": 1000, "loader_execs": 100000, "powercut_trials": 1000, "flash_read_error_trials": 1000, "diff_packs": 10000}
ARTIFACT_PREFIXES = ("crash-", "timeout-", "oom-", "leak-", "slow-unit-")


def log(msg: str) -> None:
    print(f"fuzz-smoke: {msg}", file=sys.stderr, flush=True)


def run_logged(cmd: list[str], logfile: Path, env: dict | None = None, timeout: float | None = None,
               cwd: Path = ROOT) -> tuple[int, str]:
    """Run cmd with stdout+stderr into logfile; (exit status, output). 124 on timeout."""
    logfile.parent.mkdir(parents=True, exist_ok=True)
    try:
        proc = subprocess.run(cmd, cwd=cwd, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, errors="replace", timeout=timeout)
        rc, out = proc.returncode, proc.stdout
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        rc = 124
    logfile.write_text(out)
    return rc, out


# -------------------------------------------------------------------------------------------
# 1. Hypothesis
# -------------------------------------------------------------------------------------------


def python_fuzz(examples: int, seed: int, case_seconds: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        stats, junit = Path(tmp) / "stats.jsonl", Path(tmp) / "junit.xml"
        env = {"BNN_FUZZ_EXAMPLES": str(examples), "BNN_FUZZ_SEED": str(seed), "BNN_FUZZ_STATS": str(stats),
               "BNN_FUZZ_CASE_SECONDS": str(case_seconds), "TF_CPP_MIN_LOG_LEVEL": "3"}
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}",
               str(ROOT / "tests" / "test_fuzz_converters.py")]
        rc, out = run_logged(cmd, LOGS / "python.log", env=env)
        cases: dict[str, int] = {}
        outcomes: dict[str, int] = {}
        if stats.is_file():
            for line in stats.read_text().splitlines():
                rec = json.loads(line)
                for k, v in rec.get("cases", {}).items():
                    cases[k] = cases.get(k, 0) + v
                for k, v in rec.get("outcomes", {}).items():
                    outcomes[k] = outcomes.get(k, 0) + v
        failures = 0
        failed_tests: list[str] = []
        if junit.is_file():
            for case in ET.parse(junit).getroot().iter("testcase"):
                if case.find("failure") is not None or case.find("error") is not None:
                    failures += 1
                    failed_tests.append(case.get("name", "?"))
        elif rc != 0:
            failures = 1
            failed_tests.append(f"pytest exited {rc} without a report")
    if rc not in (0, 1):  # 1 = some tests failed (counted above); anything else: pytest itself broke
        failures = max(failures, 1)
    return {"cases": sum(cases.values()), "per_test": cases, "outcomes": outcomes, "failures": failures,
            "failed_tests": failed_tests, "log": str(LOGS / "python.log")}


# -------------------------------------------------------------------------------------------
# 2. libFuzzer
# -------------------------------------------------------------------------------------------


def have_libfuzzer() -> str | None:
    """None if clang can link a libFuzzer binary, else why not."""
    clang = shutil.which(os.environ.get("CLANG", "clang"))
    if clang is None:
        return "clang not found (install it: bash scripts/setup-system.sh clang)"
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "t.c"
        src.write_text("#include <stdint.h>\n#include <stddef.h>\n"
                       "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n")
        proc = subprocess.run([clang, "-fsanitize=fuzzer,address,undefined", str(src), "-o", str(Path(tmp) / "t")],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            return ("clang cannot link libFuzzer + ASan/UBSan (install libclang-rt-14-dev: bash scripts/setup-system.sh "
                    f"clang): {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}")
    return None


def libfuzzer_run(target: str, runs: int, max_seconds: int, max_len: int, artifacts: Path, extra_corpora: list[Path],
                  seed: int) -> dict:
    work = BUILD / "work" / target
    work.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(parents=True, exist_ok=True)
    seeds = [FUZZ_DIR / "corpus" / target] + extra_corpora
    cmd = [str(BUILD / f"fuzz_{target}"), f"-runs={runs}", f"-max_total_time={max_seconds}", f"-max_len={max_len}",
           "-timeout=10", "-rss_limit_mb=2048", "-print_final_stats=1", f"-seed={seed + 1}",  # (libFuzzer: 0 = random)
           f"-artifact_prefix={artifacts}/{target}-", str(work)] + [str(s) for s in seeds if s.is_dir()]
    t0 = time.time()
    rc, out = run_logged(cmd, LOGS / f"libfuzzer_{target}.log", timeout=max_seconds + 120)
    m = re.search(r"stat::number_of_executed_units:\s*(\d+)", out)
    execs = int(m.group(1)) if m else 0
    if not m:  # killed before the final stats: the last status line
        lines = re.findall(r"^#(\d+)\s", out, re.M)
        execs = int(lines[-1]) if lines else 0
    found = sorted(p.name for p in artifacts.glob(f"{target}-*") if p.name[len(target) + 1:].startswith(ARTIFACT_PREFIXES))
    crashes = max(len(found), 1 if rc != 0 else 0)
    summary = next((ln for ln in out.splitlines() if "SUMMARY:" in ln or "property failed" in ln), None)
    return {"execs": execs, "rc": rc, "crashes": crashes, "artifacts": [str(artifacts / f) for f in found],
            "seconds": round(time.time() - t0, 1), "summary": summary, "log": str(LOGS / f"libfuzzer_{target}.log")}


def c_fuzz(pack_runs: int, store_runs: int, max_seconds: int, seed: int) -> dict:
    rc, out = run_logged(["make", "-C", str(FUZZ_DIR), f"-j{os.cpu_count() or 2}", "all"], LOGS / "build.log")
    if rc != 0:
        return {"error": f"building the fuzz targets failed (see {LOGS / 'build.log'})", "execs": 0, "crashes": 1}
    fresh_seeds = BUILD / "seeds" / "store"  # the store seeds of the head as it is now
    shutil.rmtree(fresh_seeds, ignore_errors=True)
    fresh_seeds.mkdir(parents=True)
    rc, _ = run_logged([str(BUILD / "gen_store_seeds"), str(fresh_seeds)], LOGS / "gen_store_seeds.log")
    if rc != 0:
        return {"error": f"the store seed generator failed (see {LOGS / 'gen_store_seeds.log'})", "execs": 0, "crashes": 1}
    artifacts = BUILD / "artifacts" / time.strftime("%Y%m%d-%H%M%S")
    jobs = [("pack", pack_runs, 8192, []), ("store", store_runs, 4096, [fresh_seeds])]
    with ThreadPoolExecutor(max_workers=2) as pool:
        futs = {name: pool.submit(libfuzzer_run, name, runs, max_seconds, max_len, artifacts, extra, seed)
                for name, runs, max_len, extra in jobs if runs > 0}
        results = {name: f.result() for name, f in futs.items()}
    if not any(r["artifacts"] for r in results.values()):
        shutil.rmtree(artifacts, ignore_errors=True)
    return {"execs": sum(r["execs"] for r in results.values()), "crashes": sum(r["crashes"] for r in results.values()),
            "targets": results}


# -------------------------------------------------------------------------------------------
# 3. Power cuts
# -------------------------------------------------------------------------------------------


def powercut(trials: int, timeout: int) -> dict:
    srcs = sorted((FW / "tests").glob("test_powercut*.c"))
    if not srcs:
        return {"skipped": "no firmware/tests/test_powercut*.c yet"}
    total = {"trials": 0, "corrupt": 0, "lost": 0, "read_fault_trials": 0, "crashes": 0, "runs": []}
    for src in srcs:
        exe = FW / "build" / "asan" / "tests" / src.stem
        rc, out = run_logged(["make", "-C", str(FW), f"-j{os.cpu_count() or 2}", str(exe)], LOGS / f"build_{src.stem}.log")
        if rc != 0:
            total["crashes"] += 1
            total["runs"].append({"test": src.stem, "error": f"build failed (see {LOGS / f'build_{src.stem}.log'})"})
            continue
        rc, out = run_logged([str(exe)], LOGS / f"{src.stem}.log", env={"BNN_POWERCUT_TRIALS": str(trials)},
                             timeout=timeout)
        trials_here = corrupt_here = lost_here = faults_here = 0
        for line in out.splitlines():
            if "powercut read-faults:" in line:  # a total of the lines with read faults
                m = re.search(r"trials=(\d+)", line)
                faults_here += int(m.group(1)) if m else 0
                continue
            m = re.search(r"trials=(\d+)\b.*?\bcorrupt=(\d+)", line)
            if m:
                trials_here += int(m.group(1))
                corrupt_here += int(m.group(2))
            m = re.search(r"\blost=(\d+)", line)
            lost_here += int(m.group(1)) if m else 0
        summary = re.findall(r"^(\d+) passed, (\d+) failed$", out, re.M)
        run = {"test": src.stem, "rc": rc, "trials": trials_here, "corrupt": corrupt_here, "lost": lost_here,
               "read_fault_trials": faults_here,
               "result": " ".join(f"{p} passed, {f} failed" for p, f in summary[-1:]) or None,
               "log": str(LOGS / f"{src.stem}.log")}
        if rc != 0:  # a failed check, a sanitizer report or a timeout
            total["crashes"] += 1
            run["first_failure"] = next((ln.strip() for ln in out.splitlines()
                                         if "check failed" in ln or "ERROR:" in ln or "runtime error" in ln), None)
        total["trials"] += trials_here
        total["corrupt"] += corrupt_here
        total["lost"] += lost_here
        total["read_fault_trials"] += faults_here
        total["runs"].append(run)
    return total


# -------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=int, default=800, help="Hypothesis examples per fuzz test (default 800)")
    ap.add_argument("--pack-runs", type=int, default=500000, help="libFuzzer executions of the pack target")
    ap.add_argument("--store-runs", type=int, default=120000, help="libFuzzer executions of the store target")
    ap.add_argument("--max-seconds", type=int, default=150, help="time cap of each libFuzzer target (default 150)")
    ap.add_argument("--powercut-trials", type=int, default=5000, help="random power-cut trials (default 5000)")
    ap.add_argument("--diff-packs", type=int, default=10000, help="packs of the differential test (default 10000)")
    ap.add_argument("--seed", type=int, default=None, help="seed of every fuzzer (default: random, printed)")
    ap.add_argument("--case-seconds", type=float, default=20.0, help="per-case time limit of the Python fuzzers")
    ap.add_argument("--skip", action="append", default=[], choices=["python", "libfuzzer", "powercut", "diff"],
                    help="leave a part out (repeatable)")
    ap.add_argument("--require-targets", action="store_true",
                    help=f"also fail when a budget target is missed: {', '.join(f'{k} >= {v}' for k, v in TARGETS.items())}")
    args = ap.parse_args(argv)
    for name in ("examples", "pack_runs", "store_runs", "max_seconds", "powercut_trials", "diff_packs"):
        if getattr(args, name) < 0:
            ap.error(f"--{name.replace('_', '-')} must be >= 0")
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(3), "little")
    LOGS.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    skipped: list[str] = []
    details: dict = {"seed": seed}
    result = {"converter_cases": 0, "loader_execs": 0, "crashes": 0, "powercut_trials": 0, "powercut_corrupt": 0,
              "powercut_lost_commits": 0, "flash_read_error_trials": 0, "diff_packs": 0, "verdict_disagreements": 0}

    def do_python():
        log(f"Hypothesis fuzzers: {args.examples} examples per test, seed {seed}")
        return python_fuzz(args.examples, seed, args.case_seconds)

    def do_c():
        why = have_libfuzzer()
        if why:
            return {"skipped": why}
        log(f"libFuzzer: pack {args.pack_runs} runs, store {args.store_runs} runs (cap {args.max_seconds} s each)")
        return c_fuzz(args.pack_runs, args.store_runs, args.max_seconds, seed)

    # The Python fuzzers and the C side (build, then two fuzzers) share the two cores: the
    # Python part is short, and the fuzzers' -runs budgets do not depend on wall time.
    with ThreadPoolExecutor(max_workers=2) as pool:
        fut_py = pool.submit(do_python) if "python" not in args.skip else None
        fut_c = pool.submit(do_c) if "libfuzzer" not in args.skip else None
        py = fut_py.result() if fut_py else None
        c = fut_c.result() if fut_c else None
    if py is not None:
        result["converter_cases"] = py["cases"]
        result["crashes"] += py["failures"]
        details["python"] = py
        log(f"Hypothesis: {py['cases']} cases, {py['failures']} failing tests {py['failed_tests'] or ''}")
    else:
        skipped.append("python: --skip python")
    if c is not None and "skipped" in c:
        skipped.append(f"libfuzzer: {c['skipped']}")
    elif c is not None:
        result["loader_execs"] = c["execs"]
        result["crashes"] += c["crashes"]
        details["libfuzzer"] = c
        for name, r in c.get("targets", {}).items():
            log(f"libFuzzer {name}: {r['execs']} execs in {r['seconds']} s, {r['crashes']} crashes"
                + (f" -> {r['artifacts']}" if r["artifacts"] else ""))
        if "error" in c:
            log(c["error"])
    else:
        skipped.append("libfuzzer: --skip libfuzzer")
    if "powercut" not in args.skip:
        log(f"power cuts: {args.powercut_trials} random trials (+ the exhaustive cuts)")
        pc = powercut(args.powercut_trials, timeout=max(300, args.powercut_trials // 10))
        if "skipped" in pc:
            skipped.append(f"powercut: {pc['skipped']}")
        else:
            result["powercut_trials"] = pc["trials"]
            result["powercut_corrupt"] = pc["corrupt"]
            result["powercut_lost_commits"] = pc["lost"]
            result["flash_read_error_trials"] = pc["read_fault_trials"]
            result["crashes"] += pc["crashes"]
            details["powercut"] = pc
            log(f"power cuts: {pc['trials']} trials ({pc['read_fault_trials']} with read faults), {pc['corrupt']} corrupt, "
                f"{pc['lost']} lost commits, {pc['crashes']} failed runs")
    else:
        skipped.append("powercut: --skip powercut")

    if "diff" not in args.skip:
        log(f"differential packs: {args.diff_packs} through the Python reader and the C loader")
        sys.path.insert(0, str(ROOT / "scripts"))
        import pack_diff_fuzz

        try:
            d = pack_diff_fuzz.run(args.diff_packs, seed)
        except SystemExit as exc:  # the C tool did not build
            skipped.append(f"diff: {exc}")
        else:
            result["diff_packs"] = d["packs"]
            result["verdict_disagreements"] = d["verdict_disagreements"]
            result["crashes"] += d["python_crashes"]
            details["diff"] = d
            log(f"differential packs: {d['packs']} packs, {d['accepted']} accepted by both, "
                f"{d['verdict_disagreements']} disagreements")
    else:
        skipped.append("diff: --skip diff")

    missed = [f"{k} {result[k]} < {v}" for k, v in TARGETS.items() if result[k] < v]
    out = {**result, "seconds": round(time.time() - t0, 1), "skipped": skipped, "targets_missed": missed,
           "details": details}
    print(json.dumps(out, default=str), flush=True)
    bad = (result["crashes"] > 0 or result["powercut_corrupt"] > 0 or result["powercut_lost_commits"] > 0
           or result["verdict_disagreements"] > 0)
    if args.require_targets and (missed or skipped):
        log("targets missed: " + "; ".join(missed + skipped))
        bad = True
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
