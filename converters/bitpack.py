"""Bit packing: the Python definition of how ±1 channels become u32 words (FORMAT.md, LCE).

Part of the pack format (the BITS storage of ``converters/FORMAT.md``); the simulator, the
exporter and the on-device head's Python twin all pack through this module.

A vector of ``C`` binary channels is stored as ``words(C) = ceil(C / 32)`` u32 words. Channel
``k`` is bit ``k % 32`` of word ``k // 32`` (first channel in the least significant bit).
**Bit 1 means -1, bit 0 means +1.** Tail bits past ``C`` are 0. Words are little-endian in
memory, so the packed bytes of a vector are the channels in order, 8 per byte, LSB first.
"""

from __future__ import annotations

import numpy as np

__all__ = ["words", "pack_bits", "unpack_bits", "from_pm1", "to_pm1", "tail_mask"]


def words(c: int) -> int:
    """``ceil(c / 32)``: u32 words holding ``c`` channels."""
    return (int(c) + 31) // 32


def tail_mask(c: int) -> int:
    """Mask of the valid bits of the last word of a ``c``-channel vector (``0xFFFFFFFF`` if ``c % 32 == 0``)."""
    r = int(c) % 32
    return 0xFFFFFFFF if r == 0 else (1 << r) - 1


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Pack booleans ``[..., C]`` into u32 words ``[..., ceil(C/32)]``.

    ``word[..., j] = sum_k bits[..., 32*j + k] << k``; tail bits are 0. ``bits`` may be any
    array whose nonzero entries mean bit 1 (i.e. -1).
    """
    b = np.asarray(bits).astype(bool, copy=False)
    c = b.shape[-1]
    nw = words(c)
    lead = b.shape[:-1]
    if c != nw * 32:
        pad = np.zeros(lead + (nw * 32 - c,), dtype=bool)
        b = np.concatenate([b, pad], axis=-1)
    packed = np.packbits(b, axis=-1, bitorder="little")  # [..., nw*4] bytes, LSB-first
    return np.ascontiguousarray(packed).view("<u4").astype(np.uint32, copy=False).reshape(lead + (nw,))


def unpack_bits(packed: np.ndarray, c: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`: u32 words ``[..., W]`` -> booleans ``[..., c]`` (``c <= 32*W``).

    Bits past ``c`` (tail bits) are dropped, not checked.
    """
    w = np.ascontiguousarray(np.asarray(packed).astype("<u4", copy=False))
    nw = w.shape[-1]
    if c > nw * 32:
        raise ValueError(f"{c} channels do not fit {nw} words")
    lead = w.shape[:-1]
    bytes_ = w.view(np.uint8).reshape(lead + (nw * 4,))
    return np.unpackbits(bytes_, axis=-1, count=c, bitorder="little").astype(bool)


def from_pm1(values: np.ndarray) -> np.ndarray:
    """Pack real values ``[..., C]`` by sign: bit = ``value < 0`` (so ``-1 -> 1``, ``+1 -> 0``;
    0.0 packs as +1, like LCE's quantizer)."""
    return pack_bits(np.asarray(values) < 0)


def to_pm1(packed: np.ndarray, c: int, dtype: np.dtype | type = np.int8) -> np.ndarray:
    """Unpack words ``[..., W]`` to ±1 values ``[..., c]``: ``value = 1 - 2*bit``."""
    bits = unpack_bits(packed, c)
    out = np.ones(bits.shape, dtype=dtype)
    out[bits] = -1
    return out
