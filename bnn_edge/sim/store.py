"""The flash slot format of ``firmware/src/head/bnn_head_store.c``, in Python: build slot images and read
head states back out of a flash dump (e.g. to evaluate a device's learned head on the host).

Region = two equal slots. A slot = 32-byte header (padded with 0xFF to the program unit) then the
state blob (:meth:`bnn_edge.sim.head.IntHead.state_bytes`)::

    off 0  u32 magic "BNSS"   4 u16 version (1)   6 u16 header bytes (32)
        8  u32 seq            12 u32 blob_len     16 u32 blob_crc = crc32(blob)
       20  u32 0xFFFFFFFF     24 u32 0xFFFFFFFF   28 u32 hdr_crc = crc32(bytes 0..27)

The newest valid slot wins, "newest" in serial-number order: ``(seq_b - seq_a) mod 2**32`` read
as a signed 32-bit integer ``> 0`` means b is newer.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Optional

SLOT_MAGIC = 0x53534E42  # b"BNSS"
SLOT_VERSION = 1
SLOT_HEADER = 32


def _crc(b: bytes) -> int:
    return zlib.crc32(b) & 0xFFFFFFFF


def blob_offset(prog_unit: int) -> int:
    """Offset of the blob in a slot: the header rounded up to the program unit."""
    return -(-SLOT_HEADER // prog_unit) * prog_unit


def slot_header(blob: bytes, seq: int) -> bytes:
    """The 32 header bytes ``bnn_store_commit`` programs last."""
    head = struct.pack(
        "<IHHIIIII", SLOT_MAGIC, SLOT_VERSION, SLOT_HEADER, seq & 0xFFFFFFFF, len(blob), _crc(blob),
        0xFFFFFFFF, 0xFFFFFFFF,
    )  # fmt: skip
    return head + struct.pack("<I", _crc(head))


def slot_image(blob: bytes, seq: int, slot_bytes: int, prog_unit: int = 8) -> bytes:
    """A whole slot as ``bnn_store_commit`` leaves it (erased bytes are 0xFF)."""
    off = blob_offset(prog_unit)
    hdr = slot_header(blob, seq) + b"\xff" * (off - SLOT_HEADER)
    img = hdr + blob
    if len(img) > slot_bytes:
        raise ValueError(f"state of {len(blob)} B does not fit a {slot_bytes} B slot")
    return img + b"\xff" * (slot_bytes - len(img))


@dataclass(frozen=True)
class SlotState:
    """A CRC-valid slot: its index, sequence number and state blob."""

    slot: int
    seq: int
    blob: bytes


def read_slot(image: bytes, slot: int, slot_bytes: int, prog_unit: int = 8) -> Optional[SlotState]:
    """Slot ``slot`` of a flash image if its header and blob CRCs are valid, else None."""
    base = slot * slot_bytes
    hdr = image[base : base + SLOT_HEADER]
    if len(hdr) < SLOT_HEADER:
        return None
    magic, ver, hsize, seq, n, crc, r0, r1, hcrc = struct.unpack("<IHHIIIIII", hdr)
    if (magic, ver, hsize, r0, r1) != (SLOT_MAGIC, SLOT_VERSION, SLOT_HEADER, 0xFFFFFFFF, 0xFFFFFFFF):
        return None
    if hcrc != _crc(hdr[:28]) or n > slot_bytes - blob_offset(prog_unit):
        return None
    start = base + blob_offset(prog_unit)
    blob = bytes(image[start : start + n])
    if len(blob) != n or _crc(blob) != crc:
        return None
    return SlotState(slot, seq, blob)


def newest_state(image: bytes, prog_unit: int = 8) -> Optional[SlotState]:
    """The state ``bnn_store_load`` would try first from a two-slot flash image (CRC checks only;
    the firmware additionally falls back to the other slot if the head's own checks fail)."""
    slot_bytes = len(image) // 2
    valid = [s for s in (read_slot(image, i, slot_bytes, prog_unit) for i in (0, 1)) if s is not None]
    if not valid:
        return None
    if len(valid) == 1:
        return valid[0]
    a, b = valid
    d = (b.seq - a.seq) & 0xFFFFFFFF
    return b if 0 < d < 0x80000000 else a
