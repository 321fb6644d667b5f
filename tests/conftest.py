"""Shared fixtures. Importing bnn_edge first sets TF_USE_LEGACY_KERAS before TensorFlow loads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import bnn_edge  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, check: bool = False, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run ``bnn-edge ARGS`` in a subprocess (as a user would) and capture its output."""
    proc = subprocess.run([sys.executable, "-m", "bnn_edge.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    if check and proc.returncode != 0:
        raise AssertionError(f"bnn-edge {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """One digits/tiny training run shared by every test that needs a trained model (~25 s)."""
    from bnn_edge.train import train_run

    out = tmp_path_factory.mktemp("tiny_run")
    train_run("digits", "tiny", out, verbose=False)
    return out


@pytest.fixture(scope="session")
def tiny_export(tiny_run, tmp_path_factory) -> Path:
    """The digits/tiny run exported for Cortex-M."""
    from bnn_edge.export import export_run

    out = tmp_path_factory.mktemp("tiny_export")
    export_run(tiny_run, out, samples=360)
    return out
