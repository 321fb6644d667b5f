"""``.npz`` files from users (datasets, an export's reference arrays), read as data with every size
checked before anything is decompressed or allocated.

``np.load`` trusts a member's ``.npy`` header: a few bytes declaring ``shape (10**11,)`` make it
allocate hundreds of GB, and a zip member may inflate far past its file size. :func:`read_npz`
first reads the zip directory (each member's declared uncompressed size) and each wanted array's
``.npy`` header: the wanted arrays must declare at most ``max_bytes`` in all, and each member's
declared size must be exactly its header plus ``prod(shape) * itemsize``; object arrays are
refused (no pickle). Members other than the wanted ones are never read.
"""

from __future__ import annotations

import os
import zipfile
from typing import Sequence

import numpy as np

from bnn_edge.errors import UserError


def check_npz_members(path: str | os.PathLike, keys: Sequence[str], max_bytes: int) -> None:
    """The size checks of :func:`read_npz` (a :class:`UserError` naming ``path`` and the array)."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UserError(f"{path}: not a readable .npz file ({exc.__class__.__name__}: {exc})") from None
    with zf:
        infos = {}
        for info in zf.infolist():
            name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            infos.setdefault(name, info)
        missing = [k for k in keys if k not in infos]
        if missing:
            raise UserError(f"{path}: missing array(s) {', '.join(missing)} (found: {', '.join(sorted(infos)) or 'none'})")
        total = sum(infos[k].file_size for k in keys)
        if total > max_bytes:
            raise UserError(f"{path}: its arrays declare {total} bytes uncompressed, more than the {max_bytes} "
                            f"bytes this loader accepts")
        for key in keys:
            info = infos[key]
            try:
                with zf.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(f)
                    elif version == (2, 0):
                        shape, _, dtype = np.lib.format.read_array_header_2_0(f)
                    else:
                        raise ValueError(f"unsupported .npy version {version}")
                    header = f.tell()
            except Exception as exc:  # zlib, CRC, header syntax: not a usable array
                raise UserError(f"{path}: '{key}' is not a readable .npy array ({exc.__class__.__name__}: {exc})") from None
            if dtype.hasobject:
                raise UserError(f"{path}: '{key}' holds Python objects; only numeric arrays are read")
            expected = header + int(np.prod(shape, dtype=object)) * dtype.itemsize
            if info.file_size != expected:
                raise UserError(f"{path}: '{key}' declares {info.file_size} bytes but its header describes "
                                f"{expected} ({dtype} {tuple(shape)}): a damaged or crafted file")


def read_npz(path: str | os.PathLike, keys: Sequence[str], max_bytes: int) -> dict[str, np.ndarray]:
    """The arrays ``keys`` of the ``.npz`` at ``path`` (``allow_pickle=False``), after
    :func:`check_npz_members`; any failure is one :class:`UserError` naming the file."""
    check_npz_members(path, keys, max_bytes)
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: np.asarray(f[k]) for k in keys}  # only these: other members are never decompressed
    except Exception as exc:  # zipfile/format errors: not a usable npz
        raise UserError(f"{path}: not a readable .npz file ({exc.__class__.__name__}: {exc})") from None
