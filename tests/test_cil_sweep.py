"""``bnn-edge sweep`` on digits with a tiny grid: CSV, figure, shared pre-training, resume, parallel jobs."""

from __future__ import annotations

import csv
import json
import os
import signal
import time

import pytest
from click.testing import CliRunner

from bnn_edge.cli import main

pytestmark = pytest.mark.slow  # each test trains a sweep

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
BASE = ["sweep", "--dataset", "digits", "--preset", "tiny", "--pretrain-classes", "8", "--tasks", "1",
        "--epochs", "2", "--recon-weight", "0", "--seeds", "0,1"]  # 2 epochs: plain CE learns faster


def _rows(out):
    with open(out / "sweep.csv") as f:
        return list(csv.DictReader(f))


def test_sweep_grid_csv_figure_resume_and_jobs(tmp_path):
    out = tmp_path / "sw"
    args = BASE + ["--replay", "latent", "--buffer-mb", "0.0002,0.005,0.02", "--out", str(out)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    rows = _rows(out)
    assert len(rows) == 3 * 2  # buffer sizes x seeds
    ok = [r for r in rows if r["status"] == "ok"]
    small = [r for r in rows if r["status"] != "ok"]
    # 0.0002 Mb = 200 bits holds no 260-bit latent: skipped, not trained
    assert len(ok) == 4 and {float(r["buffer_mb"]) for r in small} == {0.0002}
    assert all(r["status"].startswith("skipped") for r in small)
    for r in ok:
        assert 0 <= float(r["final_accuracy"]) <= 1 and 0 <= float(r["final_accuracy_deployment"]) <= 1
        assert int(r["buffer_bits_used"]) <= int(r["buffer_bits_capacity"]) == round(float(r["buffer_mb"]) * 1e6)
        assert int(r["bits_per_sample"]) == 256 + 4
        assert int(r["buffer_samples"]) == int(r["buffer_bits_capacity"]) // int(r["bits_per_sample"])
    by = {(float(r["buffer_mb"]), r["seed"]): int(r["buffer_samples"]) for r in ok}
    assert by[(0.02, "0")] == 76 and by[(0.005, "1")] == 19
    assert (out / "final_accuracy_vs_buffer.png").read_bytes()[:8] == PNG_MAGIC
    # pre-training shared by (preset, seed): two runs, reused by every cell
    assert sorted(p.name for p in (out / "pretrain").iterdir()) == ["tiny_seed0", "tiny_seed1"]
    assert json.loads((out / "pretrain" / "tiny_seed0" / "run.json").read_text())["recon_weight"] == 0.0
    for r in ok:
        cil = json.loads((out / r["dir"] / "cil.json").read_text())
        assert cil["pretraining"]["reused"].endswith(f"tiny_seed{r['seed']}")
        assert cil["config"]["seed"] == int(r["seed"])

    # resume: nothing left to run, finished cells untouched
    stamp = {r["dir"]: (out / r["dir"] / "cil.json").stat().st_mtime_ns for r in ok}
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0 and "ran=0 skipped=4" in res.output, res.output
    assert stamp == {d: (out / d / "cil.json").stat().st_mtime_ns for d in stamp}

    # a grid with a buffer-free reference (joint training on latents) for seed 0: only the new cell
    # runs, in a worker process (--jobs 2); the CSV and the figure cover the grid asked for
    res = CliRunner().invoke(main, BASE[:-1] + ["0", "--replay", "latent,joint-latent", "--buffer-mb", "0.0002,0.005,0.02",
                                                "--out", str(out), "--jobs", "2"])
    assert res.exit_code == 0 and "ran=1 skipped=2" in res.output, res.output
    rows = _rows(out)
    joint = [r for r in rows if r["replay"] == "joint-latent"]
    assert len(rows) == 4 and len(joint) == 1 and joint[0]["status"] == "ok" and joint[0]["buffer_mb"] == ""
    assert joint[0]["buffer_bits_capacity"] == "0" and float(joint[0]["final_accuracy"]) > 0.5
    assert stamp == {d: (out / d / "cil.json").stat().st_mtime_ns for d in stamp}

    # a damaged cell (an empty cil.json, as a killed older version left one) is run again, alone
    victim = ok[0]["dir"]
    (out / victim / "cil.json").write_text("")
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0 and "ran=1 skipped=3" in res.output, res.output
    assert 0 <= json.loads((out / victim / "cil.json").read_text())["final_accuracy"] <= 1
    assert [r["status"] for r in _rows(out)].count("ok") == 4
    assert {d: t for d, t in stamp.items() if d != victim} == {
        d: (out / d / "cil.json").stat().st_mtime_ns for d in stamp if d != victim}
    assert not [p.name for p in out.rglob(".*")]  # no temporary directory or lock file left behind


def test_sigint_during_a_cell_stops_the_sweep(tmp_path, monkeypatch):
    """Ctrl-C in a cell stops the sweep (exit 130) even when a library turns the KeyboardInterrupt
    into another exception; the cell is not recorded as failed and no other cell starts."""
    import bnn_edge.cil.engine as engine
    from bnn_edge.train import init_run

    out = tmp_path / "sw"
    init_run("tiny", out / "pretrain" / "tiny_seed0", dataset="digits")  # a finished pre-training: cells run at once
    calls = []

    def interrupted_cell(cfg, cell_out, verbose=True):
        calls.append(cell_out)
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(30)
        except KeyboardInterrupt:
            raise AssertionError("Concurrent access?")  # what TensorFlow's tf_stack once made of it

    monkeypatch.setattr(engine, "run_cil", interrupted_cell)
    before = signal.getsignal(signal.SIGINT)
    res = CliRunner().invoke(main, BASE[:-1] + ["0", "--replay", "latent", "--buffer-mb", "0.005,0.02", "--out", str(out)])
    assert res.exit_code == 130 and res.stderr.strip().splitlines()[-1] == "error: interrupted", res.output
    assert len(calls) == 1  # the sweep did not go on to the next cell
    assert not (out / "sweep.csv").exists()  # nothing recorded: a rerun resumes with that cell
    assert not (out / ".sw.lock").exists() and not (tmp_path / ".sw.lock").exists()
    assert signal.getsignal(signal.SIGINT) is before


def test_sweep_refuses_to_resume_with_other_settings(tmp_path):
    out = tmp_path / "sw"
    out.mkdir()
    (out / "sweep.json").write_text(json.dumps({"dataset": "digits", "tasks": 5}))
    res = CliRunner().invoke(main, BASE + ["--replay", "latent", "--buffer-mb", "0.02", "--out", str(out)])
    assert res.exit_code == 2 and "other settings" in res.stderr and "Traceback" not in res.output
