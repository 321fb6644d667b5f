"""`bnn-edge export`: the five files, reference check, budget, inspect, and every rejection."""

import json

import numpy as np
import pytest

from bnn_edge.errors import UserError
from bnn_edge.export import export_run
from bnn_edge.train import init_run
from converters import bnnpack as bp
from conftest import run_cli

FILES = ("model.tflite", "model.bnnpack", "model_data.c", "model_data.h", "export.json")


@pytest.mark.slow
def test_tiny_export_files_and_reference_check(tiny_export):
    for name in FILES:
        assert (tiny_export / name).is_file(), name
    r = json.loads((tiny_export / "export.json").read_text())
    assert r["fits"] is True
    rc = r["reference_check"]
    assert rc["reference"] == "lce"
    assert rc["samples"] == 360
    assert rc["argmax_agreement"] >= 0.999
    assert rc["latent_bit_agreement"] == 1.0
    assert rc["max_abs_logit_diff"] == 0.0  # unit-gain LCE logits are the pack's integers
    assert b"LceBconv2d" in (tiny_export / "model.tflite").read_bytes()
    for key in ("ops", "binary_weight_bits", "flash_bytes", "ram_bytes", "budget"):
        assert key in r
    assert r["ops"][0] == "THERMO_ENCODE" and r["ops"][-1] == "BDENSE"


@pytest.mark.slow
def test_tiny_export_pack_matches_metrics_and_c_array(tiny_run, tiny_export):
    pack_bytes = (tiny_export / "model.bnnpack").read_bytes()
    pack = bp.read_pack(pack_bytes)
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    r = json.loads((tiny_export / "export.json").read_text())
    assert r["binary_weight_bits"] == metrics["binary_weight_bits"]
    assert r["ram_bytes"] == pack.arena_bytes + pack.scratch_bytes
    assert pack.meta["class_order"] == metrics["class_order"]
    c_src = (tiny_export / "model_data.c").read_text()
    body = c_src[c_src.index("{") + 1 : c_src.index("};")]
    values = bytes(int(v, 16) for v in body.replace("\n", " ").split(",") if v.strip())
    assert values == pack_bytes
    assert f"bnn_model_data_len = {len(pack_bytes)}u" in c_src
    assert "aligned(4)" in c_src


@pytest.mark.slow
def test_inspect_pack_and_corruption(tiny_export, tmp_path):
    proc = run_cli("inspect", str(tiny_export / "model.bnnpack"), "--json", check=True)
    info = json.loads(proc.stdout)
    assert info["crc_ok"] is True and info["format"] == "bnnpack"
    data = bytearray((tiny_export / "model.bnnpack").read_bytes())
    data[len(data) // 2] ^= 0x01
    bad = tmp_path / "flipped.bnnpack"
    bad.write_bytes(bytes(data))
    proc = run_cli("inspect", str(bad))
    assert proc.returncode == 2 and "CRC mismatch" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_inspect_tflite_lists_custom_ops(tiny_export):
    info = json.loads(run_cli("inspect", str(tiny_export / "model.tflite"), "--json", check=True).stdout)
    assert info["format"] == "tflite"
    bconv = [op for op in info["ops"] if op["op"] == "LceBconv2d"]
    assert bconv and bconv[0]["custom_options"]["pad_values"] == 1


@pytest.mark.parametrize("content,msg", [
    (b"", "neither a .bnnpack"),
    (b"BNNP" + b"\0" * 10, "truncated"),
    (b"hello world, this is not a model file at all", "neither a .bnnpack"),
])
def test_inspect_rejects_garbage(tmp_path, content, msg):
    f = tmp_path / "x.bin"
    f.write_bytes(content)
    proc = run_cli("inspect", str(f))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert msg.lower() in proc.stderr.lower(), proc.stderr


@pytest.mark.slow
def test_inspect_truncated_tflite(tiny_export, tmp_path):
    f = tmp_path / "cut.tflite"
    f.write_bytes((tiny_export / "model.tflite").read_bytes()[:2000])
    proc = run_cli("inspect", str(f))
    assert proc.returncode == 2 and "TFLite" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_export_errors(tmp_path, tiny_run):
    with pytest.raises(UserError, match="no model.keras"):
        (tmp_path / "empty").mkdir()
        export_run(tmp_path / "empty", tmp_path / "out")
    with pytest.raises(UserError, match="not a directory"):
        export_run(tmp_path / "missing", tmp_path / "out")
    with pytest.raises(UserError, match="does not fit cortex-m4.*arena"):
        export_run(tiny_run, tmp_path / "o2", ram_kb=1, samples=4)
    # the oversize export is still written, and --allow-oversize accepts it
    r = export_run(tiny_run, tmp_path / "o3", ram_kb=1, samples=4, allow_oversize=True)
    assert r["fits"] is False and (tmp_path / "o3" / "model.bnnpack").is_file()


def test_float_baseline_is_refused(tmp_path):
    run = init_run("tiny-fp", tmp_path / "fp")
    with pytest.raises(UserError, match="float baseline"):
        export_run(run, tmp_path / "out")


@pytest.mark.slow  # LCE converts the paper-sized (4 Mb) network
def test_paper_preset_exports_with_keras_reference(tmp_path):
    run = init_run("paper", tmp_path / "paper")
    r = export_run(run, tmp_path / "exp", samples=4)
    summary = json.loads(run_cli("summary", "--preset", "paper", "--json", check=True).stdout)
    assert r["binary_weight_bits"] == summary["binary_weight_bits"]
    pack = bp.read_pack((tmp_path / "exp" / "model.bnnpack").read_bytes())
    other = sum(0 if op.thresholds is None else op.thresholds.size * 4 for op in pack.ops)
    ideal = r["binary_weight_bits"] / 8 + other
    assert abs(r["flash_bytes"] - ideal) / ideal <= 0.10
    rc = r["reference_check"]
    assert rc["reference"] == "keras" and "lce_error" in rc  # LCE refuses grouped bconvs
    assert rc["latent_bit_agreement"] == 1.0 and rc["argmax_agreement"] == 1.0
    assert "BCONV2D" in r["ops"] and r["fits"] is True


def test_relative_run_dir_is_relative_to_the_export(tiny_run, tiny_export, tmp_path, monkeypatch):
    """export.json records the run's absolute path; a relative run_dir (an export moved with its run,
    edited by hand) is read relative to the export directory, not to the current directory."""
    import os
    import shutil

    from bnn_edge.export_dir import read_export_dir

    exp = tmp_path / "moved" / "exp"
    shutil.copytree(tiny_export, exp)
    meta = json.loads((exp / "export.json").read_text())
    meta["run_dir"] = os.path.relpath(tiny_run.resolve(), exp)
    (exp / "export.json").write_text(json.dumps(meta))
    monkeypatch.chdir(tmp_path)  # neither the export's nor the run's folder
    e = read_export_dir(exp)
    assert e.run_dir.resolve() == tiny_run.resolve() and e.run["preset"]["name"] == "tiny"
