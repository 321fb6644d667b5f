"""Loading a model file never runs code stored in it (issue 15, item 1).

A legacy HDF5 file named ``model.keras`` whose ``Lambda`` layer writes a marker file when it is
rebuilt: ``export``, ``run`` (through ``export.json``'s ``run_dir``) and ``cil --pretrained`` must
refuse it with one ``error:`` line and exit 2, and the marker must never be written.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from bnn_edge.errors import UserError
from bnn_edge.manifest import hash_files
from bnn_edge.models.loading import check_config_objects, load_keras_model
from conftest import run_cli


def _marker_lambda_model(marker: Path):
    from bnn_edge.tfcompat import keras

    code = f"lambda x: (open({str(marker)!r}, 'w').write('pwned'), x)[1]"
    fn = eval(code)  # the attacker's function, stored as bytecode by the HDF5 format
    inp = keras.Input((4,))
    out = keras.layers.Lambda(fn, name="evil")(inp)
    model = keras.Model(inp, out)
    marker.unlink(missing_ok=True)  # building the model ran the function once; only loading counts
    return model


def _write_evil_run(run_dir: Path, marker: Path, base_run: Path | None = None) -> Path:
    """A run directory whose ``model.keras`` is a legacy HDF5 file with a code-carrying Lambda.

    With ``base_run``, its ``run.json`` and ``metrics.json`` are reused (a complete, well-formed run
    in every other respect), so the commands get as far as loading the model file.
    """
    run_dir.mkdir(parents=True)
    model = _marker_lambda_model(marker)
    h5 = run_dir / "evil.h5"
    model.save(h5, save_format="h5")
    h5.rename(run_dir / "model.keras")
    marker.unlink(missing_ok=True)
    run = {"dataset": "digits", "data_dir": None, "preset_name": "tiny", "seed": 0, "class_order": list(range(10)),
           "classes": list(range(5)), "pretrain_classes": 5, "num_classes_total": 10, "input_shape": [8, 8, 1],
           "vmax": 16}
    (run_dir / "metrics.json").write_text(json.dumps({"test_accuracy": 0.9}))
    if base_run is not None:
        run = json.loads((base_run / "run.json").read_text())
        shutil.copy(base_run / "metrics.json", run_dir / "metrics.json")
    # a well-formed manifest (hashes of the files), so the commands get as far as loading the model
    run["files"] = hash_files(run_dir, ("model.keras", "metrics.json"))
    (run_dir / "run.json").write_text(json.dumps(run))
    return run_dir


def test_the_attack_is_real(tmp_path):
    """Sanity: tf-keras' own loader does execute the stored Lambda (so the tests below can fail)."""
    from bnn_edge.tfcompat import keras

    marker = tmp_path / "marker"
    run = _write_evil_run(tmp_path / "run", marker)
    model = keras.models.load_model(run / "model.keras", compile=False, safe_mode=True)
    model.predict(__import__("numpy").zeros((1, 4), "float32"), verbose=0)
    assert marker.exists()


def test_loader_refuses_hdf5_without_running_it(tmp_path):
    marker = tmp_path / "marker"
    run = _write_evil_run(tmp_path / "run", marker)
    with pytest.raises(UserError, match="not a native Keras .keras file"):
        load_keras_model(run / "model.keras")
    assert not marker.exists()


def test_loader_refuses_v3_zip_with_lambda(tmp_path):
    """The native format with a Lambda (a bytecode ``__lambda__``) is refused before Keras sees it."""
    marker = tmp_path / "marker"
    model = _marker_lambda_model(marker)
    path = tmp_path / "lambda.keras"
    model.save(path)
    marker.unlink(missing_ok=True)
    assert zipfile.is_zipfile(path)
    with pytest.raises(UserError, match="Lambda"):
        load_keras_model(path)
    assert not marker.exists()


@pytest.mark.parametrize("obj, word", [
    ({"class_name": "Evil", "module": "os", "config": {}}, "module 'os'"),
    ({"class_name": "Thing", "module": "bnn_edge.cil.x", "registered_name": "bnn_edge>Thing"}, "unknown project class"),
    ({"class_name": "function", "config": "system"}, "serialized function"),
    ({"class_name": "TFOpLambda", "module": "keras.layers"}, "TFOpLambda"),
])
def test_config_allow_list(tmp_path, obj, word):
    cfg = {"class_name": "Functional", "module": "keras", "config": {"layers": [{"config": {"x": [obj]}}]}}
    with pytest.raises(UserError, match=word):
        check_config_objects(cfg, tmp_path / "m.keras", {"Gain", "Thermometer"})


def test_loader_refuses_oversized_member_before_inflating(tmp_path):
    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("config.json", b" " * (17 * 1024 * 1024))
        zf.writestr("model.weights.h5", b"")
    with pytest.raises(UserError, match="config.json declares"):
        load_keras_model(path)


@pytest.mark.parametrize("config, words", [
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),  # json.loads alone: RecursionError
    (b'{"config": ' + b"[" * 900 + b"]" * 900 + b"}", "nested 901 levels deep"),  # parses; a recursive walk would not
    (b'{"class_name": "Functional", "class_name": "Lambda"}', "duplicate key 'class_name'"),
])
def test_loader_refuses_hostile_config_json(tmp_path, config, words):
    path = tmp_path / "deep.keras"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("config.json", config)
        zf.writestr("model.weights.h5", b"")
    with pytest.raises(UserError, match=words):
        load_keras_model(path)


def test_project_model_round_trips(tmp_path):
    """The project's own models (Thermometer, Gain, larq layers) still load, uncompiled."""
    from bnn_edge.train import init_run, load_run

    run = init_run("tiny", tmp_path / "run")
    model, meta = load_run(run)
    assert model.get_layer("latent") is not None and meta["preset_name"] == "tiny"


@pytest.mark.slow
def test_cli_commands_refuse_evil_run(tmp_path, tiny_run, tiny_export):
    marker = tmp_path / "marker"
    evil = _write_evil_run(tmp_path / "evil run", marker, base_run=tiny_run)
    export = tmp_path / "export"
    shutil.copytree(tiny_export, export)
    meta = json.loads((export / "export.json").read_text())
    meta["run_dir"] = str(evil)
    (export / "export.json").write_text(json.dumps(meta))
    cases = [
        ["export", str(evil), "--target", "cortex-m", "--out", str(tmp_path / "exp2")],
        ["run", str(export), "--target", "host", "--images", "5"],
        ["cil", "--dataset", "digits", "--preset", "tiny", "--pretrain-classes", "5", "--tasks", "1",
         "--buffer-mb", "0.02", "--pretrained", str(evil), "--out", str(tmp_path / "cil")],
    ]
    for args in cases:
        proc = run_cli(*args)
        err = [line for line in proc.stderr.splitlines() if line.strip()]
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert any(line.startswith("error:") for line in err), (args, proc.stderr)
        assert "Traceback" not in proc.stderr, (args, proc.stderr)
        assert not marker.exists(), args
        if args[0] in ("export", "cil"):  # they reach the model file: refused by the loader itself
            assert "not a native Keras .keras file" in proc.stderr, (args, proc.stderr)
