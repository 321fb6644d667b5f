import json

import numpy as np
import pytest

from bnn_edge.data import load_digits
from bnn_edge.train import evaluate_accuracy, load_run, to_positions, train_run
from conftest import run_cli


@pytest.mark.slow
def test_tiny_digits_run_is_accurate_and_fully_binary(tiny_run):
    m = json.loads((tiny_run / "metrics.json").read_text())
    assert m["test_accuracy"] >= 0.93
    assert m["fully_binary"] is True and m["float_io_layers"] == 0 and m["float_weight_count"] == 0
    for key in ("binary_weight_bits", "classes", "class_order", "epochs_run", "seconds"):
        assert key in m
    assert m["stopped_by_lr_floor"] is True  # the schedule, not the epoch cap, ended training


@pytest.mark.slow
def test_saved_model_reloads_with_same_accuracy(tiny_run):
    model, run = load_run(tiny_run)
    d = load_digits()
    acc = evaluate_accuracy(model, d.x_test, to_positions(d.y_test, run["classes"]))
    assert acc == pytest.approx(json.loads((tiny_run / "metrics.json").read_text())["test_accuracy"])


@pytest.mark.slow
def test_pretrain_classes_trains_on_first_k_of_class_order(tmp_path):
    m = train_run("digits", "tiny", tmp_path, epochs=2, pretrain_classes=5, seed=3, verbose=False)
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["classes"] == run["class_order"][:5] and m["classes"] == run["classes"]
    model, _ = load_run(tmp_path)
    assert model.output_shape[-1] == 5
    assert m["epochs_run"] == 2


@pytest.mark.slow  # five command lines, each in a fresh process importing TensorFlow
def test_cli_bad_inputs_are_one_line_errors(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, x_train=np.zeros((2, 8, 8)))
    blocker = tmp_path / "file"
    blocker.write_text("")
    cases = [
        (["--preset", "nope"], "unknown preset"),
        (["--dataset", "nonexistent_set_zz"], "unknown dataset"),
        (["--dataset", str(bad)], "missing array"),
        (["--out", str(blocker / "sub")], "is a file, not a folder"),
        (["--pretrain-classes", "11"], "between 1 and"),
        (["--val-fraction", "0"], "needs --lr-schedule cosine"),
        (["--val-fraction", "1", "--lr-schedule", "cosine"], "--val-fraction 1.0: must be in [0, 1)"),
    ]
    for args, msg in cases:
        out = args[args.index("--out") + 1] if "--out" in args else str(tmp_path / "o")
        argv = ["train", *[a for a in args if a != "--out" and a != out], "--out", out, "--epochs", "1", "--quiet"]
        proc = run_cli(*argv)
        assert proc.returncode == 2, (args, proc.stderr)
        assert msg in proc.stderr and "Traceback" not in proc.stderr, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


@pytest.mark.slow
def test_float_twin_learns_digits(tmp_path):
    """The -fp baseline (unit-variance weights under the same gains) learns, far above chance."""
    m = train_run("digits", "tiny-fp", tmp_path, epochs=15, verbose=False)
    assert m["fully_binary"] is False and m["float_io_layers"] == 2
    assert m["test_accuracy"] >= 0.6


@pytest.mark.slow
def test_val_fraction_zero_trains_on_the_whole_training_set(tmp_path, capsys):
    """No hold-out: every training image trains (the cosine schedule does not need one)."""
    from bnn_edge.schedule import LRSchedule

    m = train_run("digits", "tiny", tmp_path, epochs=2, val_fraction=0.0,
                  schedule=LRSchedule(start_lr=1e-3, kind="cosine"), verbose=True)
    assert m["val_fraction"] == 0.0 and m["epochs_run"] == 2
    err = capsys.readouterr().err
    assert " acc=" in err and "val_acc" not in err  # the bar shows the training accuracy instead


def test_recipes_name_only_train_options():
    """Every recipe key is a `bnn-edge train` parameter, with a value click would accept for it."""
    import click

    from bnn_edge.cli.train_cmd import train
    from bnn_edge.models.presets import PRESETS
    from bnn_edge.models.recipes import RECIPES

    params = {p.name: p for p in train.params}
    for name, recipe in RECIPES.items():
        assert name in PRESETS
        for key, value in recipe.items():
            assert key in params, (name, key)
            ctx = click.Context(train)
            assert params[key].type_cast_value(ctx, value) == value, (name, key)


@pytest.mark.slow  # a fresh process importing TensorFlow
def test_preset_recipe_fills_only_options_not_given(tmp_path):
    proc = run_cli("train", "--preset", "m4-32", "--epochs", "0", "--lr", "0.002", "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    first, last = proc.stderr.strip().splitlines()[0], proc.stderr.strip().splitlines()[-1]
    assert first.startswith("m4-32's training recipe: --lr-schedule cosine ")
    assert "--val-fraction 0" in first and "--epochs" not in first and "--lr " not in first
    assert last == "error: --epochs must be >= 1, got 0"


def test_model_input_keeps_pixels_as_uint8_and_latents_as_float32():
    from bnn_edge.train import model_input

    px = np.arange(12, dtype=np.uint8).reshape(1, 2, 2, 3)
    assert model_input(px) is px  # no float32 copy of the training set
    z = np.ones((2, 4), np.float64)
    assert model_input(z).dtype == np.float32
    z32 = np.ones((2, 4), np.float32)
    assert model_input(z32) is z32


@pytest.mark.slow  # fits a model twice
def test_training_on_uint8_pixels_equals_training_on_their_float32_copy():
    """The functional model casts uint8 batches to its float32 Input exactly: same seed, same weights."""
    from bnn_edge.models import build_model
    from bnn_edge.models.presets import get_preset
    from bnn_edge.train import compile_model, set_seed

    d = load_digits()
    assert d.x_train.dtype == np.uint8
    weights = []
    for x in (d.x_train, d.x_train.astype(np.float32)):
        set_seed(0)
        m = build_model(get_preset("tiny"), 10, fold_gains=True)
        compile_model(m, 1e-3)
        m.fit(x[:512], d.y_train[:512], epochs=2, batch_size=64, shuffle=True, verbose=0)
        weights.append([w.numpy() for w in m.weights])
    assert all(np.array_equal(a, b) for a, b in zip(*weights))
    set_seed(0)
    init = [w.numpy() for w in build_model(get_preset("tiny"), 10, fold_gains=True).weights]
    assert not all(np.array_equal(a, b) for a, b in zip(init, weights[0]))  # and the fits did train
