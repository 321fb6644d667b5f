"""`make fuzz-smoke` in miniature: scripts/fuzz_smoke.py with tiny budgets must run every part it
can on this machine and end with its JSON summary, with no crash and no corrupt load."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
KEYS = {"converter_cases", "loader_execs", "crashes", "powercut_trials", "powercut_corrupt"}


def crash_report(summary: dict) -> str:
    """What failed, where to look: failing Hypothesis tests, fuzzer crash summaries and inputs, power-cut runs."""
    d = summary.get("details", {})
    out = []
    py = d.get("python") or {}
    if py.get("failures"):
        out.append(f"Hypothesis: failing tests {py.get('failed_tests')} (log {py.get('log')})")
    for name, r in ((d.get("libfuzzer") or {}).get("targets") or {}).items():
        if r.get("crashes"):
            out.append(f"libFuzzer {name}: {r.get('summary')} -> {r.get('artifacts')} (log {r.get('log')})")
    if (d.get("libfuzzer") or {}).get("error"):
        out.append(d["libfuzzer"]["error"])
    for run in (d.get("powercut") or {}).get("runs", []):
        if run.get("rc") or run.get("corrupt") or run.get("error"):
            out.append(f"power cut: {run}")
    return "\n".join(out) or json.dumps(summary)[:2000]


@pytest.mark.slow  # builds the fuzzers with sanitizers and runs them (about a minute)
def test_fuzz_smoke_small_budget():
    cmd = [sys.executable, str(ROOT / "scripts" / "fuzz_smoke.py"), "--examples", "3", "--pack-runs", "3000",
           "--store-runs", "1000", "--max-seconds", "60", "--powercut-trials", "100", "--seed", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    lines = proc.stdout.strip().splitlines()
    assert lines, proc.stderr
    summary = json.loads(lines[-1])
    assert KEYS <= set(summary), summary
    detail = crash_report(summary)
    assert summary["crashes"] == 0, detail
    assert summary["powercut_corrupt"] == 0, detail
    assert proc.returncode == 0, proc.stderr
    assert summary["converter_cases"] >= 5 * 3  # every Hypothesis fuzz test ran
    if shutil.which("clang"):
        assert summary["loader_execs"] >= 4000, summary["skipped"]
    if list((ROOT / "firmware" / "tests").glob("test_powercut*.c")):
        assert summary["powercut_trials"] >= 100, summary["skipped"]


def test_fuzz_smoke_rejects_negative_budgets():
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "fuzz_smoke.py"), "--pack-runs", "-1"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--pack-runs must be >= 0" in proc.stderr
