"""Reading a file a user names (a pack, a flatbuffer): a regular file only, its size checked
before a byte is read, so a device, a pipe or a multi-GB file is one clear error and never a
hang or a MemoryError."""

from __future__ import annotations

import os
import stat

from bnn_edge.errors import UserError

#: the largest model file read whole: a pack's arena is capped at 256 MiB and its weights are a few
#: MB for any network a microcontroller runs (converters/FORMAT.md); LCE flatbuffers likewise
MAX_MODEL_FILE_BYTES = 256 * 1024 * 1024


def read_capped(path: str | os.PathLike, max_bytes: int = MAX_MODEL_FILE_BYTES, shown: str | None = None) -> bytes:
    """The bytes of the regular file ``path`` (symbolic links followed), if it holds at most
    ``max_bytes``; otherwise a :class:`UserError` naming it (``shown``, else the path)."""
    name = shown if shown is not None else str(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise UserError(f"{name}: no such file") from None
    except OSError as exc:
        raise UserError(f"{name}: cannot read it ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise UserError(f"{name}: a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise UserError(f"{name}: not a regular file (a device, pipe or socket)")
    if st.st_size > max_bytes:
        raise UserError(f"{name}: {st.st_size} bytes, more than the {max_bytes} a model file may hold")
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise UserError(f"{name}: cannot read it ({exc.strerror or exc})") from None
    if len(data) > max_bytes:  # grew while read
        raise UserError(f"{name}: more than the {max_bytes} bytes a model file may hold")
    return data

