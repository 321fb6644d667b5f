"""``bnn-edge sweep``'s directory bookkeeping without training: cell names and what a resume accepts."""

from __future__ import annotations

import json

import pytest

from bnn_edge.cil.sweep import Cell, SweepConfig, _check_resume, grid
from bnn_edge.errors import UserError

NET = {"name": "mine", "input_shape": [8, 8, 1], "levels": 16, "vmax": 16, "blocks": [{"filters": [8]}],
       "depthwise_kernel": 2, "latent": 32, "hidden": 16}


def test_cell_names_are_distinct_for_distinct_buffer_sizes():
    """%g rounds to 6 digits: two buffer sizes equal to 6 digits once shared one cell directory."""
    assert Cell("tiny", "latent", 0.01, 0).name == "tiny_latent_0.01Mb_seed0"  # unchanged where %g is exact
    assert Cell("tiny", "native", 2e-05, 1).name == "tiny_native_2e-05Mb_seed1"
    a, b = Cell("tiny", "latent", 0.0100001, 0), Cell("tiny", "latent", 0.01000011, 0)
    assert a.name != b.name and "0.01000011" in b.name
    cfg = SweepConfig(replays=["latent"], buffers_mb=[0.0100001, 0.01000011, 0.01], seeds=[0])
    names = [c.name for c in grid(cfg)]
    assert len(set(names)) == len(names) == 3


def test_resume_refuses_an_edited_network_description(tmp_path):
    net = tmp_path / "mine.json"
    net.write_text(json.dumps(NET))
    out = tmp_path / "sw"
    out.mkdir()
    cfg = SweepConfig(presets=[str(net)], replays=["latent"], buffers_mb=[0.01], seeds=[0])
    _check_resume(out, cfg)
    recorded = json.loads((out / "sweep.json").read_text())
    assert recorded["networks"][str(net)]["latent"] == 32
    _check_resume(out, cfg)  # unchanged: resumes
    net.write_text(json.dumps({**NET, "latent": 64}))
    with pytest.raises(UserError, match=r"preset .*mine\.json were made with another network \(latent differ"):
        _check_resume(out, cfg)
    net.write_text(json.dumps(NET))
    # another preset added to the grid: accepted and recorded beside the first
    both = SweepConfig(presets=[str(net), "tiny"], replays=["latent"], buffers_mb=[0.01], seeds=[0])
    _check_resume(out, both)
    assert set(json.loads((out / "sweep.json").read_text())["networks"]) == {str(net), "tiny"}
    _check_resume(out, cfg)  # and the first alone again


def test_resume_of_a_sweep_written_before_networks_were_recorded(tmp_path):
    out = tmp_path / "sw"
    out.mkdir()
    cfg = SweepConfig(presets=["tiny"])
    (out / "sweep.json").write_text(json.dumps(cfg.shared()))  # an older bnn-edge's sweep.json
    _check_resume(out, cfg)
    assert "tiny" in json.loads((out / "sweep.json").read_text())["networks"]
    (out / "sweep.json").write_text(json.dumps({**cfg.shared(), "tasks": 3}))
    with pytest.raises(UserError, match="other settings \\(tasks differ"):
        _check_resume(out, cfg)


def test_a_field_the_recorded_network_lacks_is_not_a_difference(tmp_path):
    """A sweep (or run) of an older bnn-edge records the presets without fields added since: it is
    still resumable; a field both record with different values is not."""
    out = tmp_path / "sw"
    out.mkdir()
    cfg = SweepConfig(presets=["tiny"])
    _check_resume(out, cfg)
    meta = json.loads((out / "sweep.json").read_text())
    del meta["networks"]["tiny"]["logit_scale"]
    (out / "sweep.json").write_text(json.dumps(meta))
    _check_resume(out, cfg)
    meta["networks"]["tiny"]["latent"] += 1
    (out / "sweep.json").write_text(json.dumps(meta))
    with pytest.raises(UserError, match=r"\(latent differ"):
        _check_resume(out, cfg)
