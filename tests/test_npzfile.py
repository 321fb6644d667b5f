"""bnn_edge.npzfile: arrays of a user's .npz read only after the zip directory and each .npy
header agree on sizes (no allocation from a crafted header, no pickle)."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from bnn_edge.errors import UserError
from bnn_edge.npzfile import read_npz


def _npy(arr: np.ndarray) -> bytes:
    b = io.BytesIO()
    np.lib.format.write_array(b, arr, allow_pickle=True)
    return b.getvalue()


def test_reads_the_named_arrays_only(tmp_path):
    p = tmp_path / "a.npz"
    np.savez(p, a=np.arange(6).reshape(2, 3), b=np.ones(3, np.uint8), other=np.zeros(4))
    got = read_npz(p, ("a", "b"), 1 << 20)
    assert sorted(got) == ["a", "b"]
    np.testing.assert_array_equal(got["a"], np.arange(6).reshape(2, 3))


def test_a_header_declaring_more_than_the_member_holds_is_refused(tmp_path):
    """16 bytes of data under a header of shape (10**11,): np.load would try to allocate 373 GiB."""
    header = _npy(np.zeros(2, np.float32))
    fake = header.replace(b"(2,)", b"(100000000000,)".ljust(4))
    p = tmp_path / "huge.npz"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("predictions.npy", fake[: len(fake) - 8] + b"\0" * 16)
        z.writestr("labels.npy", _npy(np.zeros(2, np.int64)))
    with pytest.raises(UserError, match=r"huge\.npz: 'predictions' declares .* a damaged or crafted file"):
        read_npz(p, ("predictions", "labels"), 1 << 30)


@pytest.mark.parametrize("case,match", [
    ("objects", "holds Python objects"),
    ("missing", r"missing array\(s\) labels"),
    ("too_big", "more than the 100 bytes"),
    ("not_zip", "not a readable .npz"),
])
def test_refusals_name_the_file(tmp_path, case, match):
    p = tmp_path / f"{case}.npz"
    if case == "objects":
        with zipfile.ZipFile(p, "w") as z:
            z.writestr("predictions.npy", _npy(np.array([{"a": 1}], dtype=object)))
            z.writestr("labels.npy", _npy(np.zeros(1, np.int64)))
    elif case == "missing":
        np.savez(p, predictions=np.zeros(3))
    elif case == "too_big":
        np.savez(p, predictions=np.zeros(30), labels=np.zeros(30))
    else:
        p.write_text("hello")
    with pytest.raises(UserError, match=match) as e:
        read_npz(p, ("predictions", "labels"), 100 if case == "too_big" else 1 << 20)
    assert str(e.value).startswith(str(p))
