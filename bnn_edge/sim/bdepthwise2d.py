"""``BDEPTHWISE2D``: binary depthwise convolution, depth multiplier 1 (FORMAT.md op 4)."""

from __future__ import annotations

import numpy as np

from converters.bitpack import unpack_bits, words

from ._common import IntPair, Padding, as_batch, finish, pad_input, pair, padding_code, tap, unbatch

__all__ = ["bdepthwise2d"]


def bdepthwise2d(
    x_words: np.ndarray,
    weights: np.ndarray,
    thresholds: np.ndarray | None = None,
    *,
    c: int,
    kh: int,
    kw: int,
    stride: IntPair = 1,
    padding: Padding = "SAME",
    out_bits: bool = True,
) -> np.ndarray:
    """Binary depthwise convolution of packed bits ``x[N, h, w, words(c)]`` (or one sample).

    Weights ``[kh, kw, words(c)]`` (flat accepted): bit ``k`` of a word is channel ``k``'s weight
    at that tap. Per output pixel and channel::

        accum[c] = sum_{i<kh, j<kw} bit_c(x[oy*s_h + i - pad_top, ox*s_w + j - pad_left] ^ w[i, j])
        K = kh * kw

    SAME is TensorFlow's, with one-padding (out-of-bounds taps read bit 0 = +1 and count in
    ``K``); VALID has none. Output: ``bit = accum > thresholds[c]`` packed, or int32
    ``y = K - 2*accum`` (``[N, ho, wo, c]``).
    """
    xb, added = as_batch(x_words, 3)
    s, k = pair(stride, "stride"), pair((kh, kw), "kernel")
    if xb.shape[-1] != words(c):
        raise ValueError(f"input has {xb.shape[-1]} words per pixel, expected words({c}) = {words(c)}")
    wbits = unpack_bits(np.asarray(weights).reshape(kh, kw, words(c)), c)  # [kh, kw, c] bool
    xbits, ho, wo = pad_input(unpack_bits(xb, c), k, s, (1, 1), padding_code(padding), False)  # pad with bit 0 = +1
    accum = np.zeros((xb.shape[0], ho, wo, c), dtype=np.int32)
    for i in range(kh):
        for j in range(kw):
            accum += tap(xbits, i, j, ho, wo, s, (1, 1)) ^ wbits[i, j]
    return unbatch(finish(accum, kh * kw, thresholds, out_bits), added)
