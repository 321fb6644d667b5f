"""Scale-out: tf.distribute strategies on logical CPU devices (each run in its own process)."""

import json

import pytest

from bnn_edge.distribute import make_strategy
from bnn_edge.errors import UserError
from conftest import run_cli


@pytest.mark.slow
def test_mirrored_train_on_two_logical_devices(tmp_path):
    proc = run_cli("train", "--dataset", "digits", "--preset", "tiny", "--strategy", "mirrored", "--devices", "2",
                   "--epochs", "2", "--quiet", "--out", str(tmp_path), check=True)
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["replicas"] == 2 and m["epochs_run"] == 2
    assert "test_accuracy=" in proc.stdout


@pytest.mark.slow
def test_mirrored_cil_on_two_logical_devices(tmp_path):
    run_cli("cil", "--dataset", "digits", "--preset", "tiny", "--pretrain-classes", "5", "--tasks", "5",
            "--replay", "latent", "--buffer-mb", "0.02", "--strategy", "mirrored", "--devices", "2", "--epochs", "2",
            "--quiet", "--out", str(tmp_path), check=True)
    r = json.loads((tmp_path / "cil.json").read_text())
    assert r["replicas"] == 2 and len(r["accuracy_matrix"]) == 6
    assert r["pretraining"]["recon_weight"] == 20.0  # the reconstruction trainer ran under the strategy too


def test_bad_strategy_and_devices():
    with pytest.raises(UserError, match="--strategy"):
        make_strategy("ring")
    with pytest.raises(UserError, match="--devices 0"):
        make_strategy("mirrored", 0)
    assert make_strategy("none") is None
