"""``BDENSE``: binary fully connected layer (FORMAT.md op 5)."""

from __future__ import annotations

import numpy as np

from converters.bitpack import to_pm1, words

from ._common import accum_from_dot, as_batch, finish, unbatch

__all__ = ["bdense"]


def bdense(
    x_words: np.ndarray,
    weights: np.ndarray,
    thresholds: np.ndarray | None = None,
    *,
    cin: int,
    cout: int,
    out_bits: bool = True,
) -> np.ndarray:
    """Binary dense layer on packed bits ``x[N, h, w, W]`` (or one sample ``[h, w, W]``).

    The input's words, flattened in ``h, w`` order, must be the packed flat vector of ``cin``
    channels (``words(cin)`` words: true when ``h*w == 1`` or ``c % 32 == 0``). Weights
    ``[cout, words(cin)]``. ``accum[o] = popcount(x ^ w[o])`` over the ``cin`` channels,
    ``K = cin``. Output ``[N, 1, 1, words(cout)]`` bits (``accum > thresholds[o]``) or int32
    ``y = K - 2*accum`` ``[N, 1, 1, cout]``.

    Implementation: ±1 float32 matmul, exact because ``|K - 2*accum| <= K < 2**24``.
    """
    xb, added = as_batch(x_words, 3)
    n = xb.shape[0]
    flat = xb.reshape(n, -1)
    if flat.shape[1] != words(cin):
        raise ValueError(f"input holds {flat.shape[1]} words, expected words(cin={cin}) = {words(cin)}")
    if cin >= 1 << 24:
        raise ValueError(f"cin = {cin} too large for the exact float32 path")
    xp = to_pm1(flat, cin, np.float32)
    wp = to_pm1(np.asarray(weights).reshape(cout, words(cin)), cin, np.float32)
    dot = xp @ wp.T
    y = finish(accum_from_dot(dot, cin), cin, thresholds, out_bits)
    return unbatch(y.reshape(n, 1, 1, -1), added)
