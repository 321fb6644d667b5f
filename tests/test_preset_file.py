"""Network description files (`--preset FILE`): parsing, validation errors naming the field, summary."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from bnn_edge.errors import UserError
from bnn_edge.models.preset_file import is_preset_file, load_preset_file, parse_preset, preset_label
from bnn_edge.models.presets import PRESETS, Block, get_preset, memory_bits
from conftest import ROOT, run_cli

EXAMPLE = ROOT / "examples" / "digits-small.toml"

VALID = {
    "name": "mini", "input_shape": [8, 8, 1], "levels": 16, "vmax": 16, "depthwise_kernel": 2,
    "latent": 64, "hidden": 32, "blocks": [{"filters": [32, 64], "groups": 1}],
}


def _write_json(tmp_path: Path, table: dict, name: str = "net.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(table))
    return path


def test_example_file_is_the_documented_network():
    p = get_preset(str(EXAMPLE))
    assert p.name == "digits-small" and p.binary and p.input_shape == (8, 8, 1)
    assert (p.levels, p.vmax, p.depthwise_kernel, p.latent, p.hidden) == (16, 16, 2, 128, 64)
    assert p.blocks == (Block((32, 32), 1),)
    assert "digits-small" not in PRESETS  # reading a file registers nothing


def test_json_and_toml_describe_the_same_preset(tmp_path):
    toml = tmp_path / "net.toml"
    toml.write_text('name = "mini"\ninput_shape = [8, 8, 1]\nlevels = 16\nvmax = 16\ndepthwise_kernel = 2\n'
                    'latent = 64\nhidden = 32\n[[blocks]]\nfilters = [32, 64]\ngroups = 1\n')
    a, b = load_preset_file(str(toml)), load_preset_file(str(_write_json(tmp_path, VALID)))
    assert a.description.endswith("net.toml") and b.description.endswith("net.json")  # the default names the file
    assert dataclasses.replace(a, description="") == dataclasses.replace(b, description="")


def test_defaults_of_optional_fields(tmp_path):
    table = {k: v for k, v in VALID.items() if k != "name"}
    table["blocks"] = [{"filters": [32]}]
    p = load_preset_file(str(_write_json(tmp_path, table, "my net.json")))
    assert p.name == "my_net" and p.binary and p.augment_pad == 0 and not p.augment_flip and p.blocks[0].groups == 1


def test_float_twin_of_a_file(tmp_path):
    path = _write_json(tmp_path, VALID)
    base, twin = get_preset(str(path)), get_preset(f"{path}-fp")
    assert not twin.binary and twin.name == "mini-fp"
    assert abs(memory_bits(twin, 10) - memory_bits(base, 10)) / memory_bits(base, 10) < 0.1
    fp = _write_json(tmp_path, {**VALID, "binary": False}, "float.json")
    with pytest.raises(UserError, match="already describes a float network"):
        get_preset(f"{fp}-fp")


@pytest.mark.parametrize("change,field,words", [
    ({"latnet": 3}, "latnet", "unknown field"),
    ({"latent": "many"}, "latent", "expected an integer"),
    ({"latent": 0}, "latent", "1..65536"),
    ({"latent": 2.5}, "latent", "expected an integer"),
    ({"latent": True}, "latent", "expected an integer"),
    ({"levels": 17}, "levels", "at most vmax = 16"),
    ({"binary": "yes"}, "binary", "true or false"),
    ({"name": ""}, "name", "non-empty string"),
    ({"input_shape": [8, 8]}, "input_shape", "[H, W, C]"),
    ({"input_shape": [8, 0, 1]}, "input_shape[1]", "1..4096"),
    ({"blocks": []}, "blocks", "1..16 blocks"),
    ({"blocks": [{"filters": [32, 0]}]}, "blocks[0].filters[1]", "1..8192"),
    ({"blocks": [{"filters": [32], "group": 2}]}, "blocks[0].group", "unknown field"),
    ({"blocks": [{"groups": 2}]}, "blocks[0].filters", "missing"),
    ({"blocks": [{"filters": [30], "groups": 4}]}, "blocks[0].filters[0]", "groups = 4"),
    ({"blocks": [{"filters": [32]}] * 4}, "blocks, depthwise_kernel", "does not fit"),
    ({"augment_pad": -1}, "augment_pad", "0..1024"),
])
def test_bad_fields_are_named(tmp_path, change, field, words):
    path = _write_json(tmp_path, {**VALID, **change})
    with pytest.raises(UserError) as err:
        load_preset_file(str(path))
    msg = str(err.value)
    assert msg.startswith(f"{path}: {field}: ") and words in msg and "\n" not in msg, msg


def test_missing_required_field(tmp_path):
    table = {k: v for k, v in VALID.items() if k != "hidden"}
    with pytest.raises(UserError, match=r"net\.json: hidden: missing"):
        parse_preset(table, "net.json")


@pytest.mark.parametrize("content,name,words", [
    ("latent = ", "bad.toml", "not valid TOML"),
    ("{", "bad.json", "not valid JSON"),
    ("[1, 2]", "list.json", "expected a JSON object"),
    ("[" * 100_000 + "]" * 100_000, "deep.json", "nested too deeply"),  # past Python's recursion limit
    ('{"a": ' + "[" * 80 + "]" * 80 + "}", "deep80.json", "nested 81 levels deep"),
    ("a = " + "[" * 100_000 + "]" * 100_000, "deep.toml", "nested too deeply"),
    ('{"latent": 8, "latent": 16}', "twice.json", "duplicate key 'latent'"),
])
def test_unparsable_files(tmp_path, content, name, words):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(UserError, match=words) as err:
        load_preset_file(str(path))
    assert str(err.value).startswith(f"{path}: ")


def test_oversized_file_refused_before_reading(tmp_path, monkeypatch):
    from bnn_edge.models import preset_file

    path = tmp_path / "big.json"
    with open(path, "wb") as f:
        f.truncate(preset_file.MAX_FILE_BYTES + 1)  # sparse: nothing is written, nothing may be read
    monkeypatch.setattr(Path, "read_text", lambda *a, **k: pytest.fail("read a file over the size limit"))
    with pytest.raises(UserError, match=f"{preset_file.MAX_FILE_BYTES + 1} bytes, more than"):
        load_preset_file(str(path))


def test_names_and_labels(tmp_path):
    assert not is_preset_file("tiny") and not is_preset_file("paper-fp")
    assert is_preset_file("nets/x") and is_preset_file("x.toml") and is_preset_file("x.json-fp")
    assert preset_label("tiny") == "tiny" and preset_label("/a/b/my net.toml") == "my_net.toml"
    assert preset_label("../x.json-fp") == "x.json-fp"  # never a path out of the sweep directory
    with pytest.raises(UserError, match="no such file"):
        get_preset(str(tmp_path / "none.toml"))
    with pytest.raises(UserError, match="unknown preset 'nope'"):
        get_preset("nope")


@pytest.mark.slow  # builds the network in a fresh process importing TensorFlow
def test_summary_reports_the_files_binary_weight_bits():
    proc = run_cli("summary", "--preset", str(EXAMPLE), "--json", check=True)
    info = json.loads(proc.stdout)
    p = get_preset(str(EXAMPLE))
    assert info["preset"] == "digits-small" and info["fully_binary"] is True
    assert info["binary_weight_bits"] == memory_bits(p, 10) == info["memory_bits"]
    assert info["binary_weight_bits"] < json.loads(run_cli("summary", "--json", check=True).stdout)["binary_weight_bits"]


@pytest.mark.parametrize("command", [["summary"], ["train", "--out", "{tmp}/o"], ["cil", "--buffer-mb", "0.01", "--out", "{tmp}/c"],
                                     ["sweep", "--out", "{tmp}/s"]])
def test_bad_file_is_one_error_line_for_every_command(tmp_path, command):
    path = _write_json(tmp_path, {**VALID, "hidden": -4})
    proc = run_cli(*[a.format(tmp=tmp_path) for a in command], "--preset", str(path))
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert lines[0] == f"error: {path}: hidden: expected an integer in 1..65536, got -4"
    assert not (tmp_path / "o").exists() and not (tmp_path / "c").exists() and not (tmp_path / "s").exists()


def test_stride_and_pool_fields(tmp_path):
    """A stride-2 stem without a pool: the built model's trunk has the geometry the preset computes."""
    from bnn_edge.models import build_model, weight_counts
    from bnn_edge.models.presets import trunk_output_hw

    table = {**VALID, "input_shape": [16, 16, 1],
             "blocks": [{"filters": [32], "stride": 2, "pool": False}, {"filters": [32, 64]}]}
    p = load_preset_file(str(_write_json(tmp_path, table)))
    assert p.blocks == (Block((32,), 1, 2, False), Block((32, 64), 1, 1, True))
    assert trunk_output_hw(p) == (3, 3)  # 16 -> 8 (stride 2) -> 4 (pool) -> 3 (2x2 VALID depthwise)
    model = build_model(p, 10)
    assert tuple(model.get_layer("depthwise").output.shape[1:3]) == (3, 3)
    assert model.get_layer("conv1_1").strides == (2, 2) and model.get_layer("conv2_1").strides == (1, 1)
    assert not any(layer.name == "pool1" for layer in model.layers)
    assert weight_counts(model).memory_bits == memory_bits(p, 10)


@pytest.mark.parametrize("block, field, problem", [
    ({"filters": [32], "stride": 0}, "blocks[0].stride", "expected an integer in 1..4, got 0"),
    ({"filters": [32], "stride": 1.5}, "blocks[0].stride", "expected an integer in 1..4, got 1.5"),
    ({"filters": [32], "pool": "no"}, "blocks[0].pool", "expected true or false"),
])
def test_bad_stride_or_pool_names_the_field(tmp_path, block, field, problem):
    with pytest.raises(UserError) as err:
        load_preset_file(str(_write_json(tmp_path, {**VALID, "blocks": [block]})))
    assert f"{field}: {problem}" in str(err.value)


def test_strides_that_shrink_too_far_are_refused(tmp_path):
    table = {**VALID, "blocks": [{"filters": [32], "stride": 4}]}  # 8 -> 2 -> 1: no room for the 2x2 depthwise
    with pytest.raises(UserError, match="shrinking 8x"):
        load_preset_file(str(_write_json(tmp_path, table)))


def test_training_only_fields_reach_the_model(tmp_path):
    """``ste_clip`` sets the sign's gradient window, ``logit_scale`` multiplies the output gain
    ``1/sqrt(5 fan_in N_c)``; neither changes the weights the device stores."""
    from bnn_edge.models import build_model, classifier_gain, weight_counts

    p = load_preset_file(str(_write_json(tmp_path, {**VALID, "ste_clip": 2.5, "logit_scale": 4})))
    assert (p.ste_clip, p.logit_scale) == (2.5, 4.0)
    model = build_model(p, 10)
    fan_in = 2 * (p.latent + p.hidden)
    assert model.get_layer("logits").gain == pytest.approx(4.0 * classifier_gain(fan_in, 10), rel=1e-12)
    assert model.get_layer("head_sign").activation.clip_value == 2.5
    plain = build_model(load_preset_file(str(_write_json(tmp_path, VALID))), 10)
    assert plain.get_layer("logits").gain == pytest.approx(classifier_gain(fan_in, 10), rel=1e-12)
    assert weight_counts(model).as_dict() == weight_counts(plain).as_dict()


@pytest.mark.parametrize("field, value", [("logit_scale", 0), ("logit_scale", 65), ("logit_scale", "big"),
                                          ("ste_clip", -1)])
def test_bad_training_only_fields_name_the_field(tmp_path, field, value):
    with pytest.raises(UserError) as err:
        load_preset_file(str(_write_json(tmp_path, {**VALID, field: value})))
    assert f"{field}:" in str(err.value)
