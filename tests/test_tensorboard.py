"""`--tensorboard DIR` for train and cil, read back with TensorBoard's own reader; a network described
in a file trains; off a terminal the progress is one short line per epoch."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.util import tensor_util

from bnn_edge.tblog import cil_phase_scalars, run_name
from conftest import ROOT, run_cli

EXAMPLE = ROOT / "examples" / "digits-small.toml"


def scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar of one TensorBoard run directory: tag -> [(step, value)] in step order."""
    acc = EventAccumulator(str(run_dir), size_guidance={"tensors": 0, "scalars": 0})
    acc.Reload()
    out: dict[str, list[tuple[int, float]]] = {}
    for tag in acc.Tags()["tensors"]:  # TF2's tf.summary.scalar stores scalars as tensors
        out[tag] = [(e.step, float(tensor_util.make_ndarray(e.tensor_proto))) for e in acc.Tensors(tag)]
    for tag in acc.Tags()["scalars"]:
        out[tag] = [(e.step, e.value) for e in acc.Scalars(tag)]
    return {k: sorted(v) for k, v in out.items()}


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """`bnn-edge train` of the example description file, 2 epochs, with --tensorboard (stderr captured: not a terminal)."""
    tmp = tmp_path_factory.mktemp("tb_train")
    proc = run_cli("train", "--preset", str(EXAMPLE), "--dataset", "digits", "--epochs", "2", "--lr", "0.002",
                   "--tensorboard", str(tmp / "tb"), "--out", str(tmp / "run"), check=True)
    return tmp, proc


@pytest.mark.slow  # its fixture trains through the command line
def test_train_from_a_description_file(small_run):
    tmp, proc = small_run
    metrics = json.loads((tmp / "run" / "metrics.json").read_text())
    run = json.loads((tmp / "run" / "run.json").read_text())
    summary = json.loads(run_cli("summary", "--preset", str(EXAMPLE), "--json", check=True).stdout)
    assert metrics["preset"] == "digits-small" and metrics["fully_binary"] is True and metrics["epochs_run"] == 2
    assert metrics["binary_weight_bits"] == summary["binary_weight_bits"]
    assert run["preset"]["latent"] == 128 and run["preset_name"] == str(EXAMPLE)
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    assert "binary_weight_bits=" + str(summary["binary_weight_bits"]) in proc.stdout


@pytest.mark.slow  # its fixture trains through the command line
def test_train_log_is_one_short_line_per_epoch(small_run):
    _, proc = small_run
    lines = proc.stderr.splitlines()
    assert "\r" not in proc.stderr
    epochs = [ln for ln in lines if re.match(r"train digits-small: epoch \d+/2 ", ln)]
    assert len(epochs) == 2, proc.stderr
    assert max(map(len, lines + proc.stdout.splitlines())) <= 300


@pytest.mark.slow  # its fixture trains through the command line
def test_train_tensorboard_scalars(small_run):
    tmp, _ = small_run
    runs = sorted(p.name for p in (tmp / "tb").iterdir())
    assert runs == ["train_digits-small"], runs
    s = scalars(tmp / "tb" / "train_digits-small")
    for tag in ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"):
        assert [step for step, _ in s[tag]] == [0, 1], (tag, s.get(tag))
    assert all(v == pytest.approx(0.002) for _, v in s["learning_rate"])
    assert all(0.0 <= v <= 1.0 for _, v in s["accuracy"] + s["val_accuracy"])
    assert all(np.isfinite(v) and v > 0 for _, v in s["loss"])


@pytest.mark.slow  # pre-trains and learns two tasks through the command line
def test_cil_tensorboard_per_task(tmp_path):
    tb = tmp_path / "tb"
    run_cli("cil", "--dataset", "digits", "--preset", str(EXAMPLE), "--pretrain-classes", "6", "--tasks", "2",
            "--replay", "latent", "--buffer-mb", "0.01", "--epochs", "2", "--recon-weight", "0",
            "--tensorboard", str(tb), "--out", str(tmp_path / "cil"), check=True)
    r = json.loads((tmp_path / "cil" / "cil.json").read_text())
    assert sorted(p.name for p in tb.iterdir()) == ["cil_latent", "latent_task_1", "latent_task_2", "train_digits-small"]
    for phase_run in ("train_digits-small", "latent_task_1", "latent_task_2"):
        assert len(scalars(tb / phase_run)["val_accuracy"]) == 2
    s = scalars(tb / "cil_latent")
    assert [step for step, _ in s["seen_accuracy"]] == [0, 1, 2]
    assert [v for _, v in s["seen_accuracy"]] == pytest.approx(r["seen_accuracy"])
    assert [v for _, v in s["new_task_accuracy"]] == pytest.approx([r["accuracy_matrix"][i][i] for i in range(3)])
    assert s["final_accuracy"] == [(2, pytest.approx(r["final_accuracy"]))]
    assert [v for _, v in s["epochs"]] == [2, 2, 2]


def test_cil_phase_scalars_from_a_matrix():
    result = {
        "strategy": "latent",
        "accuracy_matrix": [[0.9, None, None], [0.6, 0.8, None], [0.3, 0.4, 0.7]],
        "seen_accuracy": [0.9, 0.7, 0.5],
        "phase_epochs": [10, 4, None],
        "phase_seconds": [1.5, 0.5, 0.25],
        "final_accuracy": 0.5, "average_incremental_accuracy": 0.7, "final_accuracy_deployment": 0.55,
    }
    s = cil_phase_scalars(result)
    assert s[0] == {"seen_accuracy": 0.9, "new_task_accuracy": 0.9, "epochs": 10.0, "seconds": 1.5}
    assert s[1]["old_tasks_accuracy"] == pytest.approx(0.6) and s[1]["forgetting"] == pytest.approx(0.3)
    assert s[2]["old_tasks_accuracy"] == pytest.approx(0.35)
    assert s[2]["forgetting"] == pytest.approx(((0.9 - 0.3) + (0.8 - 0.4)) / 2)  # metrics.forgetting at the end
    assert "epochs" not in s[2] and s[2]["final_accuracy"] == 0.5 and "final_accuracy" not in s[1]


def test_run_names():
    assert run_name("latent task 2/5") == "latent_task_2"
    assert run_name("train tiny-fp") == "train_tiny-fp"
    assert run_name(" ../x ") == "x" and run_name("///") == "run"


@pytest.mark.slow  # a fresh process importing TensorFlow
def test_tensorboard_dir_that_cannot_be_written(tmp_path):
    (tmp_path / "file").write_text("")
    proc = run_cli("train", "--epochs", "1", "--tensorboard", str(tmp_path / "file" / "tb"), "--out", str(tmp_path / "o"))
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: --tensorboard "), proc.stderr
