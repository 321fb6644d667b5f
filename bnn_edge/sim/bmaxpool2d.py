"""``BMAXPOOL2D``: binary max pooling (FORMAT.md op 3, LceBMaxPool2d)."""

from __future__ import annotations

import numpy as np

from converters.ops import Padding as PadCode

from ._common import IntPair, Padding, as_batch, pair, padding_code, tap, unbatch

__all__ = ["bmaxpool2d"]


def bmaxpool2d(x_words: np.ndarray, *, kh: int, kw: int, stride: IntPair = 1, padding: Padding = "VALID") -> np.ndarray:
    """Max pool packed bits ``[N, h, w, words(c)]`` (or one sample) over ``kh x kw`` windows.

    Max over ±1 is +1 (bit 0) unless every value is -1 (bit 1), so
    ``out[n, oy, ox] = AND_{i<kh, j<kw} x[n, oy*s_h + i, ox*s_w + j]`` word by word; tail bits
    stay 0. VALID only (v1): ``ho = (h - kh) // s_h + 1``.
    """
    if padding_code(padding) != PadCode.VALID:
        raise ValueError("BMAXPOOL2D supports VALID padding only (format v1)")
    xb, added = as_batch(x_words, 3)
    xb = xb.astype(np.uint32, copy=False)
    k = pair((kh, kw), "kernel")
    s = pair(stride, "stride")
    _, h, w, _ = xb.shape
    ho, wo = (h - k[0]) // s[0] + 1, (w - k[1]) // s[1] + 1
    if ho < 1 or wo < 1:
        raise ValueError(f"pool window {k} does not fit the {h}x{w} input")
    out = tap(xb, 0, 0, ho, wo, s, (1, 1)).copy()
    for i in range(k[0]):
        for j in range(k[1]):
            if i or j:
                np.bitwise_and(out, tap(xb, i, j, ho, wo, s, (1, 1)), out=out)
    return unbatch(out, added)
