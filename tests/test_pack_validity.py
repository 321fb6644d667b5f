"""One set of pack validity rules (converters/FORMAT.md "Validity rules"): the Python reader and
the C loader give the same verdict on generated packs, and the packs of issue 15 are refused by
both with clear errors."""

import importlib.util
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from converters import bnnpack as bp

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "firmware" / "fuzz" / "corpus" / "pack"
pytestmark = pytest.mark.skipif(shutil.which("gcc") is None or shutil.which("make") is None, reason="no host C compiler")


def _diff_module():
    spec = importlib.util.spec_from_file_location("pack_diff_fuzz", ROOT / "scripts" / "pack_diff_fuzz.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def diff():
    mod = _diff_module()
    mod.build_tool()
    return mod


def c_status(diff, tmp_path: Path, data: bytes) -> int:
    path = tmp_path / "p.bnnpack"
    path.write_bytes(data)
    out = subprocess.run([str(diff.TOOL), str(path)], capture_output=True, text=True, check=True).stdout
    return int(out.split()[0])


def test_python_and_c_agree_on_generated_packs(diff):
    r = diff.run(300, seed=11)
    assert r["packs"] == 300 and r["python_crashes"] == 0
    assert r["verdict_disagreements"] == 0, r["examples"]
    assert r["accepted"] >= 20 and r["rejected"] >= 100  # both verdicts are exercised


def _small() -> bp.Pack:
    return bp.read_pack((CORPUS / "small_model.bnnpack").read_bytes())


def test_reordered_ops_refused_by_both(diff, tmp_path):
    pack = _small()
    assert len(pack.ops) >= 2
    pack.ops = pack.ops[::-1]
    data = bp.write_pack(pack, validate=False)
    with pytest.raises(bp.PackError, match="before any op writes it"):
        bp.read_pack(data)
    assert c_status(diff, tmp_path, data) == 43  # BNN_ERR_OP_ORDER


def test_oversized_activation_refused_by_both(diff, tmp_path):
    pack = _small()
    t = pack.tensors[pack.ops[0].out]
    t.h = t.w = 1 << 13  # tens of MiB from a file of a few KB
    pack.arena_bytes = max(pack.arena_bytes, t.arena_offset + t.size_bytes)
    data = bp.write_pack(pack, validate=False)
    with pytest.raises(bp.PackError, match="cap"):
        bp.read_pack(data)
    assert c_status(diff, tmp_path, data) != 0


def test_overlap_and_dilation_refused_by_both(diff, tmp_path):
    pack = _small()
    op = next(o for o in pack.ops if o.in0 != pack.input_tensor)
    pack.tensors[op.out].arena_offset = pack.tensors[op.in0].arena_offset
    data = bp.write_pack(pack, validate=False)
    with pytest.raises(bp.PackError, match="overlaps its input"):
        bp.read_pack(data)
    assert c_status(diff, tmp_path, data) == 25  # BNN_ERR_OP_ALIAS
    assert c_status(diff, tmp_path, (CORPUS / "small_model.bnnpack").read_bytes()) == 0


def test_simulate_and_run_never_keyerror_on_reordered_pack(tmp_path):
    from bnn_edge.sim.interpreter import run_pack

    pack = _small()
    pack.ops = pack.ops[::-1]
    with pytest.raises(bp.PackError):
        run_pack(bp.read_pack(bp.write_pack(pack, validate=False)), np.zeros((1, 1, 1, 1), np.uint8))


def test_output_or_latent_written_by_no_op_refused_by_both(diff, tmp_path):
    """A pack cut after its first op (header counts and CRCs consistent) once passed both readers:
    the C runtime returned whatever its arena held and the simulator raised a KeyError."""
    pack = _small()
    assert pack.output_tensor not in {pack.ops[0].out, pack.input_tensor}
    pack.ops = pack.ops[:1]
    pack.latent_tensor = bp.NO_TENSOR
    data = bp.write_pack(pack, validate=False)
    with pytest.raises(bp.PackError, match="output_tensor .* written by no op"):
        bp.read_pack(data)
    assert c_status(diff, tmp_path, data) == 12  # BNN_ERR_IO_TENSOR
    pack = _small()
    pack.tensors.append(bp.TensorSpec(bp.DType.BITS, 1, 1, 32, 0))  # a BITS tensor no op writes
    spare = len(pack.tensors) - 1
    pack.latent_tensor = spare
    data = bp.write_pack(pack, validate=False)
    with pytest.raises(bp.PackError, match="latent_tensor .* written by no op"):
        bp.read_pack(data)
    assert c_status(diff, tmp_path, data) == 12


def test_sim_reads_a_huge_dilation_without_materialising_its_padding():
    """SAME padding is virtual in the simulator: dilation 8,388,609 on a 5x5 input (a span of 16 M
    pixels, ~60 GB had the padding been allocated) gives what dilation 100 gives, since both leave
    only the centre taps inside the input (the others read the +1 padding)."""
    from bnn_edge.sim.bconv2d import bconv2d

    rng = np.random.default_rng(0)
    x = rng.integers(0, 2**32, size=(2, 5, 5, 1), dtype=np.uint64).astype(np.uint32)
    w = rng.integers(0, 2**32, size=(4, 3, 3, 1), dtype=np.uint64).astype(np.uint32)
    kw = dict(cin=32, cout=4, kh=3, kw=3, padding="SAME", out_bits=False)
    far = bconv2d(x, w, dilation=8_388_609, **kw)
    near = bconv2d(x, w, dilation=100, **kw)
    np.testing.assert_array_equal(far, near)
    plain = bconv2d(x, w, dilation=1, **kw)
    assert not np.array_equal(far, plain)  # the dilation did change what was read
