"""`bnn-edge export MODEL.keras`: a larq network from examples/ exports and runs bit-exact on
QEMU; networks breaking the fully-binary contract are refused with one line naming the layer."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest

from bnn_edge.errors import UserError
from bnn_edge.export_model import IMAGES_FILE, read_reference_images
from conftest import ROOT, run_cli


@pytest.fixture(scope="module")
def larq_digits(tmp_path_factory):
    """examples/larq_digits.py trained for 2 epochs, saved to a temporary .keras file."""
    out = tmp_path_factory.mktemp("byo") / "larq_digits.keras"
    subprocess.run([sys.executable, str(ROOT / "examples" / "larq_digits.py"), "--out", str(out), "--epochs", "2"],
                   check=True, capture_output=True, text=True, timeout=1800)
    return out


@pytest.fixture(scope="module")
def byo_export(larq_digits, tmp_path_factory):
    """`bnn-edge export examples' network --target cortex-m` (no dataset: random reference pixels)."""
    exp = tmp_path_factory.mktemp("byo_export") / "export"
    run_cli("export", str(larq_digits), "--target", "cortex-m", "--out", str(exp), check=True)
    return exp


@pytest.mark.slow
def test_example_network_exports_and_runs_bit_exact_on_qemu_m4(larq_digits, byo_export):
    exp = byo_export
    r = json.loads((exp / "export.json").read_text())
    assert r["source"] == "model-file"
    assert r["model_sha256"] == hashlib.sha256(larq_digits.read_bytes()).hexdigest()
    assert r["run"]["input_shape"] == [8, 8, 1] and r["run"]["levels"] == 16 and r["run"]["vmax"] == 16
    assert r["run"]["classes"] == list(range(10))
    assert r["contract"]["batch_norms"] == ["bn1", "bn2", "bn3"]
    rc = r["reference_check"]
    assert rc["reference"] == "lce" and rc["argmax_agreement"] == 1.0 and rc["max_abs_logit_diff"] == 0.0
    assert rc["keras_argmax_agreement"] == 1.0
    assert r["ops"] == ["THERMO_ENCODE", "BCONV2D", "BCONV2D", "BMAXPOOL2D", "BCONV2D", "BDENSE"]
    with np.load(exp / IMAGES_FILE) as z:  # random pixels in [0, vmax], labelled with Keras' predictions
        assert z["images"].shape == (500, 8, 8, 1) and z["images"].max() <= 16
        assert np.array_equal(z["labels"], z["predictions"])
    proc = run_cli("run", str(exp), "--target", "qemu-m4", "--images", "50", "--json", check=True)
    out = json.loads(proc.stdout)
    assert out["bit_exact"] is True and out["images"] == 50
    assert out["accuracy"] == 1.0 and out["reference_accuracy"] == 1.0  # agreement with Keras on its own labels


def _save(model, path):
    model.save(path)
    return path


def _refused_by_cli(model_path, out, layer: str, why: str) -> None:
    proc = run_cli("export", str(model_path), "--target", "cortex-m", "--out", str(out))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: layer '{layer}' ("), proc.stderr
    assert why in lines[0]
    assert not (out / "export.json").exists()


def _binary_net(make_middle, head):
    from bnn_edge.models import Thermometer
    from bnn_edge.tfcompat import keras, lq

    b = dict(input_quantizer="ste_sign", kernel_quantizer="ste_sign", use_bias=False)
    inp = keras.Input((8, 8, 1))
    x = Thermometer(16, 16, name="thermometer")(inp)
    x = lq.layers.QuantConv2D(32, 3, padding="same", pad_values=1.0, name="conv1", **b)(x)
    x = make_middle(keras)(x)
    x = keras.layers.Flatten()(x)
    x = lq.layers.QuantDense(10, name="out", **b)(x)
    for layer in head(keras):
        x = layer(x)
    return keras.Model(inp, x)


@pytest.mark.slow  # a fresh process importing TensorFlow
def test_cli_refuses_a_float_conv2d_naming_it(tmp_path):
    m = _binary_net(lambda k: k.layers.Conv2D(32, 3, padding="same", name="float_conv"), lambda k: [])
    _refused_by_cli(_save(m, tmp_path / "float.keras"), tmp_path / "out", "float_conv", "a float convolution")


@pytest.mark.slow  # a fresh process importing TensorFlow
def test_cli_refuses_a_batch_norm_before_the_output_naming_it(tmp_path):
    m = _binary_net(lambda k: k.layers.Dropout(0.0, name="drop"), lambda k: [k.layers.BatchNormalization(name="bn_out")])
    _refused_by_cli(_save(m, tmp_path / "bn.keras"), tmp_path / "out", "bn_out", "batch norm is the model's output")


def test_reference_images_of_a_model_export_are_checked(tmp_path):
    with pytest.raises(UserError, match=f"no {IMAGES_FILE}"):
        read_reference_images(tmp_path, 1)
    x = np.zeros((3, 8, 8, 1), np.uint8)
    np.savez(tmp_path / IMAGES_FILE, images=x, labels=np.arange(3), predictions=np.array([0, 1, 0]))
    xs, y = read_reference_images(tmp_path, 2)
    assert xs.shape == (2, 8, 8, 1) and y.tolist() == [0, 1]
    with pytest.raises(UserError, match="stored 3 reference images; re-export with --samples 4"):
        read_reference_images(tmp_path, 4)
    np.savez(tmp_path / IMAGES_FILE, images=x.astype(np.float32), labels=np.arange(3), predictions=np.arange(3))
    with pytest.raises(UserError, match="not the reference images"):
        read_reference_images(tmp_path, 1)


@pytest.mark.slow
def test_model_file_export_is_verified_on_read(byo_export, tmp_path):
    import shutil

    from bnn_edge.export_dir import read_export_dir

    e = read_export_dir(byo_export)
    assert e.run_dir is None and e.run["classes"] == list(range(10)) and e.info["source"] == "model-file"
    bad = tmp_path / "tampered"
    shutil.copytree(byo_export, bad)
    with np.load(bad / IMAGES_FILE) as z:
        arrays = dict(z)
    arrays["images"][0, 0, 0, 0] ^= 1
    with open(bad / IMAGES_FILE, "wb") as f:
        np.savez(f, **arrays)
    with pytest.raises(UserError, match=f"{IMAGES_FILE} does not match export.json"):
        read_export_dir(bad)
    shutil.copy(byo_export / IMAGES_FILE, bad / IMAGES_FILE)
    info = json.loads((bad / "export.json").read_text())
    del info["run"]
    (bad / "export.json").write_text(json.dumps(info))
    with pytest.raises(UserError, match="no 'run' description of the model file"):
        read_export_dir(bad)
    proc = run_cli("simulate", str(byo_export))
    assert proc.returncode == 2 and "an export of a model file" in proc.stderr


@pytest.mark.slow  # a fresh process importing TensorFlow (test_model_loading checks the loader in-process)
def test_cli_refuses_a_code_carrying_model_file_without_running_it(tmp_path):
    """A legacy HDF5 file named .keras whose Lambda writes a marker when rebuilt: refused by the
    safe loader before anything runs (the model-file path loads only with load_keras_model)."""
    from bnn_edge.tfcompat import keras

    marker = tmp_path / "marker"
    fn = eval(f"lambda x: (open({str(marker)!r}, 'w').write('pwned'), x)[1]")  # the attacker's function
    inp = keras.Input((4,))
    keras.Model(inp, keras.layers.Lambda(fn, name="evil")(inp)).save(tmp_path / "evil.h5", save_format="h5")
    (tmp_path / "evil.h5").rename(tmp_path / "evil.keras")
    marker.unlink(missing_ok=True)  # building the model ran the function once; only loading counts
    proc = run_cli("export", str(tmp_path / "evil.keras"), "--target", "cortex-m", "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith("error: ") and "not a native Keras .keras file" in proc.stderr
    assert not marker.exists() and not (tmp_path / "out").exists()
