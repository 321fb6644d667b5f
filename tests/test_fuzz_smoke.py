"""`make fuzz-smoke` in miniature: scripts/fuzz_smoke.py with tiny budgets must run every part it
can on this machine and end with its JSON summary, with no crash and no corrupt load."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEYS = {"converter_cases", "loader_execs", "crashes", "powercut_trials", "powercut_corrupt"}


def test_fuzz_smoke_small_budget():
    cmd = [sys.executable, str(ROOT / "scripts" / "fuzz_smoke.py"), "--examples", "3", "--pack-runs", "3000",
           "--store-runs", "1000", "--max-seconds", "60", "--powercut-trials", "100", "--seed", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    lines = proc.stdout.strip().splitlines()
    assert lines, proc.stderr
    summary = json.loads(lines[-1])
    assert KEYS <= set(summary), summary
    detail = json.dumps(summary.get("details"), indent=1)[:4000]
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
