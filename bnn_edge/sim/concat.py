"""``CONCAT``: channel concatenation of packed bits (FORMAT.md op 6)."""

from __future__ import annotations

import numpy as np

from converters.bitpack import pack_bits, unpack_bits

from ._common import as_batch, unbatch

__all__ = ["concat"]


def concat(a_words: np.ndarray, b_words: np.ndarray, *, ca: int, cb: int) -> np.ndarray:
    """Concatenate channels: ``out[..., k] = a[..., k]`` for ``k < ca``, ``b[..., k - ca]`` after.

    Inputs are packed ``[N, h, w, words(ca)]`` and ``[N, h, w, words(cb)]`` (or single samples;
    ``a`` may be ``b``); the output ``[N, h, w, words(ca+cb)]`` is repacked bit-exactly, so
    ``b``'s channels start at bit ``ca % 32`` of word ``ca // 32``; tail bits 0.
    """
    a, added = as_batch(a_words, 3)
    b, _ = as_batch(b_words, 3)
    if a.shape[:3] != b.shape[:3]:
        raise ValueError(f"concat inputs differ in batch/spatial shape: {a.shape[:3]} vs {b.shape[:3]}")
    bits = np.concatenate([unpack_bits(a, ca), unpack_bits(b, cb)], axis=-1)
    return unbatch(pack_bits(bits), added)
