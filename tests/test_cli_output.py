"""Human-readable output stays log-friendly: `bnn-edge inspect` prints one short line per op."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bnn_edge.cli import main
from conftest import ROOT

PACKS = sorted((ROOT / "firmware" / "fuzz" / "corpus" / "pack").glob("golden_*.bnnpack"))


@pytest.mark.parametrize("pack", PACKS, ids=[p.stem for p in PACKS])
def test_inspect_lines_are_short_and_name_every_op(pack):
    runner = CliRunner()
    human = runner.invoke(main, ["inspect", str(pack)])
    info = json.loads(runner.invoke(main, ["inspect", str(pack), "--json"]).output)
    assert human.exit_code == 0, human.output
    lines = human.output.splitlines()
    op_lines = [ln for ln in lines if ln.startswith("  op ")]
    assert len(op_lines) == len(info["ops"]) >= 1
    for line, op in zip(op_lines, info["ops"]):
        assert f" {op['name']} " in line and f"weights {op['weights_bytes']} B" in line
        assert "x".join(map(str, op["out_shape"])) in line
    assert max(map(len, lines)) <= 300


def test_packs_found():
    assert len(PACKS) >= 5


def test_an_os_error_is_one_line_not_a_traceback(monkeypatch, tmp_path):
    """A full disk, a busy mount point, a denied rename: the machine's errors reach the user as one
    `error:` line naming the file (exit 2), never a traceback."""
    import errno

    import bnn_edge.models as models

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "run" / "model.keras"))

    monkeypatch.setattr(models, "build_model", full_disk)
    r = CliRunner().invoke(main, ["summary", "--preset", "tiny"])
    assert r.exit_code == 2 and r.exception is None or isinstance(r.exception, SystemExit)
    assert r.stderr.strip().splitlines() == [f"error: {tmp_path / 'run' / 'model.keras'}: No space left on device"]
