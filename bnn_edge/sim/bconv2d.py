"""``BCONV2D``: binary 2-D convolution (FORMAT.md op 2, LceBconv2d semantics)."""

from __future__ import annotations

import numpy as np

from converters.bitpack import to_pm1, words
from converters.ops import conv_output_size

from ._common import IntPair, Padded, Padding, accum_from_dot, as_batch, finish, pad_input, pair, padding_code, tap, unbatch

__all__ = ["bconv2d"]

_CHUNK_BYTES = 64 << 20  # im2col buffer budget per batch chunk


def bconv2d(
    x_words: np.ndarray,
    weights: np.ndarray,
    thresholds: np.ndarray | None = None,
    *,
    cin: int,
    cout: int,
    kh: int,
    kw: int,
    stride: IntPair = 1,
    dilation: IntPair = 1,
    padding: Padding = "SAME",
    groups: int = 1,
    out_bits: bool = True,
) -> np.ndarray:
    """Binary convolution of packed bits ``x[N, h, w, words(cin)]`` (or one sample).

    Weights are OHWI words ``[cout, kh, kw, words(cin_g)]`` (flat accepted), ``cin_g = cin /
    groups`` (a multiple of 32 when ``groups > 1``); output channel ``o`` reads input channels
    ``[g*cin_g, (g+1)*cin_g)`` with ``g = o // (cout/groups)``. For each output pixel::

        accum[o] = sum_{i<kh, j<kw} popcount(x[oy*s_h + i*d_h - pad_top, ox*s_w + j*d_w - pad_left, group g]
                                             ^ w[o, i, j])
        K = kh * kw * cin_g

    SAME uses TensorFlow's output size and pad amounts; out-of-bounds taps read +1 (bit 0,
    "one-padding") and still count in ``K``. VALID has no padding. Output: with ``out_bits``,
    ``bit = accum > thresholds[o]`` packed ``[N, ho, wo, words(cout)]``; otherwise int32
    ``y = K - 2*accum`` ``[N, ho, wo, cout]``.

    Implementation: bits are unpacked to ±1 float32 and the ±1 dot product ``K - 2*accum`` is
    a BLAS matmul over im2col columns. Every partial sum is an integer of magnitude ``<= K <
    2**24``, so float32 is exact.
    """
    xb, added = as_batch(x_words, 3)
    s, d, k = pair(stride, "stride"), pair(dilation, "dilation"), pair((kh, kw), "kernel")
    pad = padding_code(padding)
    if groups < 1 or cin % groups or cout % groups:
        raise ValueError(f"groups {groups} must divide cin {cin} and cout {cout}")
    cin_g, cout_g = cin // groups, cout // groups
    if groups > 1 and cin_g % 32:
        raise ValueError(f"cin/groups = {cin_g} must be a multiple of 32 when groups > 1")
    if xb.shape[-1] != words(cin):
        raise ValueError(f"input has {xb.shape[-1]} words per pixel, expected words({cin}) = {words(cin)}")
    K = kh * kw * cin_g
    if K >= 1 << 24:
        raise ValueError(f"K = {K} too large for the exact float32 path")
    wmat = to_pm1(np.asarray(weights).reshape(cout, kh, kw, words(cin_g)), cin_g, np.float32)
    wmat = wmat.reshape(cout, K)  # (kh, kw, cin_g) order, as the im2col columns below

    n, h, w = xb.shape[:3]
    ho = conv_output_size(h, kh, s[0], d[0], pad)
    wo = conv_output_size(w, kw, s[1], d[1], pad)
    chunk = max(1, _CHUNK_BYTES // max(1, ho * wo * K * 4))
    dots = []
    for start in range(0, n, chunk):
        xp, ho, wo = pad_input(to_pm1(xb[start : start + chunk], cin, np.float32), k, s, d, pad, 1.0)
        dots.append(_conv_dot(xp, wmat, k, s, d, ho, wo, groups, cin_g, cout_g))
    dot = np.concatenate(dots, axis=0)
    y = finish(accum_from_dot(dot, K), K, thresholds, out_bits)
    return unbatch(y, added)


def _conv_dot(xp: Padded, wmat: np.ndarray, k: tuple[int, int], s: tuple[int, int], d: tuple[int, int],
              ho: int, wo: int, groups: int, cin_g: int, cout_g: int) -> np.ndarray:
    """±1 dot products ``[n, ho, wo, cout]`` of a padded ±1 chunk with ``wmat[cout, K]``."""
    n = xp.x.shape[0]
    K = k[0] * k[1] * cin_g
    out = np.empty((n * ho * wo, groups * cout_g), dtype=np.float32)
    cols = np.empty((n, ho, wo, k[0], k[1], cin_g), dtype=np.float32)
    for g in range(groups):
        cs = slice(g * cin_g, (g + 1) * cin_g)
        for i in range(k[0]):
            for j in range(k[1]):
                cols[:, :, :, i, j, :] = tap(xp, i, j, ho, wo, s, d)[..., cs]
        os_ = slice(g * cout_g, (g + 1) * cout_g)
        np.matmul(cols.reshape(n * ho * wo, K), wmat[os_].T, out=out[:, os_])
    return out.reshape(n, ho, wo, groups * cout_g)
