"""Commands that need no TensorFlow start without it; a closed stdout pipe ends a command quietly with 0."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import ROOT

PACK = ROOT / "firmware" / "fuzz" / "corpus" / "pack" / "golden_bconv_3x3_same_c16_bits.bnnpack"
HEAVY = ("tensorflow", "keras", "tf_keras", "larq")


def _imported_modules(*args: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run ``bnn-edge ARGS`` under ``python -X importtime``; the top-level packages it imported."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "bnn_edge.cli", *args], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    mods = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            mods.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return proc, mods


@pytest.mark.parametrize("args", [["--help"], ["inspect", str(PACK)], ["inspect", str(PACK), "--json"],
                                  ["run", "--help"], ["simulate", "--help"], ["flash", "--help"], ["train", "--help"]])
def test_light_commands_do_not_import_tensorflow(args):
    proc, mods = _imported_modules(*args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "click" in mods and "bnn_edge" in mods  # the import trace was read
    assert not mods & set(HEAVY), sorted(mods & set(HEAVY))


def test_importing_the_cli_and_running_inspect_in_process_keeps_tensorflow_out():
    code = (
        "import sys\n"
        "from bnn_edge.cli import main\n"
        "try:\n"
        f"    main(['inspect', {str(PACK)!r}, '--json'], prog_name='bnn-edge')\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert '"format": "bnnpack"' in proc.stdout
    assert "HEAVY []" in proc.stderr, proc.stderr[-2000:]


@pytest.mark.slow  # a fresh process importing TensorFlow
def test_commands_that_build_a_network_still_get_tensorflow():
    """The control: the trace does see TensorFlow when a command needs it (summary builds a model)."""
    proc, mods = _imported_modules("summary", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert {"tensorflow", "larq"} <= mods


def _run_into_closed_pipe(*args: str) -> subprocess.CompletedProcess:
    """``bnn-edge ARGS`` writing into a pipe whose reader has already gone (``| head`` after its line)."""
    r, w = os.pipe()
    os.close(r)
    try:
        return subprocess.run([sys.executable, "-m", "bnn_edge.cli", *args], stdout=w, stderr=subprocess.PIPE,
                              text=True, timeout=300)
    finally:
        os.close(w)


@pytest.mark.parametrize("args", [["--help"], ["inspect", "--help"], ["inspect", str(PACK), "--json"], ["inspect", str(PACK)]])
def test_closed_pipe_exits_quietly_with_zero(args):
    proc = _run_into_closed_pipe(*args)
    assert proc.returncode == 0 and proc.stderr == "", (proc.returncode, proc.stderr[-2000:])


def test_help_into_head_under_pipefail():
    proc = subprocess.run(["bash", "-c", f"set -o pipefail; {sys.executable!r} -m bnn_edge.cli --help | head -1"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.startswith("Usage: bnn-edge"), proc
    assert proc.stderr == ""


def test_user_errors_still_fail_when_stdout_is_closed():
    """Only the broken pipe is forgiven: a real error keeps its status and its one line on stderr."""
    proc = _run_into_closed_pipe("inspect", str(ROOT / "no-such.bnnpack"))
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1


@pytest.mark.parametrize("args,msg", [
    (["train", "--lr", "-1"], "learning rates must be positive"),
    (["train", "--dataset", "/nonexistent/x.npz"], "no such file"),
    (["train", "--val-fraction", "0"], "needs --lr-schedule cosine"),
    (["train", "--image-size", "4x4"], "apply to image folders only"),
    (["cil", "--buffer-mb", "-1"], "must be a positive number of megabits"),
    (["cil", "--buffer-mb", "1", "--tasks", "0"], "--tasks 0: must be >= 1"),
    (["cil", "--buffer-mb", "1", "--dataset", "/nonexistent/x.npz"], "no such file"),
    (["cil", "--buffer-mb", "1", "--recon-weight", "-1"], "--recon-weight"),
])
def test_argument_mistakes_are_answered_before_tensorflow_loads(args, msg, tmp_path):
    """train/cil check their options, the schedule and the dataset's path before importing TensorFlow."""
    proc, mods = _imported_modules(*args, "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if not line.startswith("import time:")]
    assert len(errors) == 1 and errors[0].startswith("error: ") and msg in errors[0], errors
    assert not mods & set(HEAVY), sorted(mods & set(HEAVY))
