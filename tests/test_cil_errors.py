"""Bad input to ``bnn-edge cil`` and ``bnn-edge sweep``: one ``error:`` line, exit 2, no traceback."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from bnn_edge.cli import main
from conftest import run_cli

CIL = ["cil", "--dataset", "digits", "--preset", "tiny", "--pretrain-classes", "5", "--tasks", "5", "--quiet"]
SWEEP = ["sweep", "--dataset", "digits", "--preset", "tiny", "--pretrain-classes", "5", "--tasks", "5"]


def _one_line_error(args: list[str], tmp_path) -> str:
    res = CliRunner().invoke(main, args + ["--out", str(tmp_path / "out")])
    assert res.exit_code == 2, (args, res.output)
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert not (tmp_path / "out" / "cil.json").exists() and not (tmp_path / "out" / "pretrain").exists()
    return lines[0]


@pytest.mark.parametrize("extra, msg", [
    (["--replay", "latent"], "needs --buffer-mb"),
    (["--replay", "native"], "needs --buffer-mb"),
    (["--replay", "latent", "--buffer-mb", "0"], "must be a positive number"),
    (["--replay", "native", "--buffer-mb", "-0.5"], "must be a positive number"),
    (["--replay", "latent", "--buffer-mb", "nan"], "must be a positive number"),
    (["--replay", "latent", "--buffer-mb", "0.0002"], "hold no latent sample (260 bits each)"),
    (["--replay", "native", "--buffer-mb", "0.0003"], "hold no native sample (324 bits each)"),
    (["--replay", "latent", "--buffer-mb", "0.02", "--tasks", "6"], "more tasks than deployment classes"),
    (["--replay", "latent", "--buffer-mb", "0.02", "--pretrain-classes", "10"], "between 1 and 9"),
    (["--replay", "latent", "--buffer-mb", "0.02", "--pretrain-classes", "12"], "between 1 and 9"),
    (["--replay", "latent", "--buffer-mb", "0.02", "--preset", "paper"], "does not fit input shape 8x8x1"),
    (["--replay", "latent", "--buffer-mb", "0.02", "--preset", "huge"], "unknown preset"),
    (["--replay", "none", "--epochs", "0"], "--epochs 0"),
])
def test_cil_bad_input(extra, msg, tmp_path):
    assert msg in _one_line_error(CIL + extra, tmp_path)


def test_cil_pretrained_dir_must_be_a_training_run(tmp_path):
    (tmp_path / "empty").mkdir()
    line = _one_line_error(CIL + ["--replay", "none", "--pretrained", str(tmp_path / "empty")], tmp_path)
    assert "no model.keras" in line


@pytest.mark.parametrize("extra, msg", [
    (["--buffer-mb", "0,0.01"], "must be positive"),
    (["--buffer-mb", "0.01,-1"], "must be positive"),
    (["--buffer-mb", "0.01,abc"], "comma-separated list"),
    (["--replay", "latent,bogus"], "unknown strategy"),
    (["--seeds", "0,0"], "duplicate"),
    (["--tasks", "9"], "more tasks than deployment classes"),
    (["--preset", "paper"], "does not fit"),
    (["--jobs", "0"], "--jobs 0"),
])
def test_sweep_bad_input(extra, msg, tmp_path):
    assert msg in _one_line_error(SWEEP + extra, tmp_path)


def test_buffer_free_strategies_need_no_buffer_size(tmp_path):
    """--replay none,joint with a zero buffer list is fine: only buffered strategies use it (grid check only)."""
    from bnn_edge.cil.sweep import SweepConfig, grid, validate

    cfg = SweepConfig(replays=["none", "joint"], buffers_mb=[0.0], seeds=[0, 1])
    assert validate(cfg) == {}
    assert [(c.replay, c.buffer_mb, c.seed) for c in grid(cfg)] == [
        ("none", None, 0), ("none", None, 1), ("joint", None, 0), ("joint", None, 1)]


@pytest.mark.slow  # a fresh process importing TensorFlow
def test_real_command_line_error_has_no_traceback(tmp_path):
    proc = run_cli("cil", "--replay", "latent", "--buffer-mb", "-1", "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == ["error: --buffer-mb -1.0: must be a positive number of megabits (1 Mb = 10^6 bits)"]
