"""Helpers shared by the op models: argument normalisation, padding, the output modes."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from converters.bitpack import pack_bits
from converters.ops import Padding as PadCode
from converters.ops import conv_output_size, same_padding

IntPair = int | Sequence[int]
Padding = str | int


def pair(v: IntPair, name: str) -> tuple[int, int]:
    """``3 -> (3, 3)``, ``(2, 1) -> (2, 1)``; every entry must be >= 1."""
    if isinstance(v, (int, np.integer)):
        out = (int(v), int(v))
    else:
        a, b = v
        out = (int(a), int(b))
    if min(out) < 1:
        raise ValueError(f"{name} must be >= 1, got {v}")
    return out


def padding_code(p: Padding) -> int:
    """``"SAME"``/0 -> ``Padding.SAME``, ``"VALID"``/1 -> ``Padding.VALID`` (:class:`converters.ops.Padding`)."""
    if isinstance(p, str):
        up = p.upper()
        if up == "SAME":
            return PadCode.SAME
        if up == "VALID":
            return PadCode.VALID
    elif p in (PadCode.SAME, PadCode.VALID):
        return int(p)
    raise ValueError(f"padding must be 'SAME'/0 or 'VALID'/1, got {p!r}")


def as_batch(x: np.ndarray, ndim: int) -> tuple[np.ndarray, bool]:
    """Add a leading batch axis when ``x`` has ``ndim`` dims; return it and whether it was added."""
    x = np.asarray(x)
    if x.ndim == ndim:
        return x[None], True
    if x.ndim != ndim + 1:
        raise ValueError(f"expected a [{ndim}-D] sample or a batch of them, got shape {x.shape}")
    return x, False


def unbatch(y: np.ndarray, added: bool) -> np.ndarray:
    return y[0] if added else y


class Padded:
    """A batch ``[N, H, W, C]`` seen through SAME padding with ``fill`` (``top``/``left`` rows and
    columns before it, as many as the window needs after it), never materialised: a dilated
    window's span may be far larger than the input (a tap that falls wholly outside reads only
    ``fill``), and the memory stays that of the input."""

    __slots__ = ("x", "top", "left", "fill")

    def __init__(self, x: np.ndarray, top: int = 0, left: int = 0, fill: float | bool = False):
        self.x, self.top, self.left, self.fill = x, top, left, fill


def pad_input(x: np.ndarray, k: tuple[int, int], s: tuple[int, int], d: tuple[int, int], padding: int,
              fill: float | bool) -> tuple[Padded, int, int]:
    """The batch ``[N, H, W, C]`` padded for a window op; return ``(padded, ho, wo)``.

    SAME pads with ``fill`` by TensorFlow's SAME amounts (:func:`converters.ops.same_padding`);
    the binary ops use one-padding: ``+1.0`` on ±1 values, ``False`` (bit 0) on bits. VALID
    does not pad. The padding is virtual (:class:`Padded`): :func:`tap` fills what it reads of it.
    """
    _, h, w, _ = x.shape
    ho = conv_output_size(h, k[0], s[0], d[0], padding)
    wo = conv_output_size(w, k[1], s[1], d[1], padding)
    if ho < 1 or wo < 1:
        raise ValueError(f"window {k} (dilation {d}) does not fit the {h}x{w} input with VALID padding")
    pt = pl = 0
    if padding == PadCode.SAME:
        pt, _ = same_padding(h, k[0], s[0], d[0])
        pl, _ = same_padding(w, k[1], s[1], d[1])
    return Padded(x, pt, pl, fill), ho, wo


def _inside(start: int, step: int, count: int, size: int) -> tuple[int, int]:
    """``[lo, hi)``: the outputs ``o < count`` whose position ``start + o * step`` is in ``[0, size)``."""
    lo = max(0, -(start // step) if start < 0 else 0)  # ceil(-start / step) for start < 0
    hi = min(count, -((start - size) // step))  # ceil((size - start) / step)
    return lo, max(lo, hi)


def tap(xp: Padded | np.ndarray, i: int, j: int, ho: int, wo: int, s: tuple[int, int], d: tuple[int, int]) -> np.ndarray:
    """The ``[N, ho, wo, C]`` input read by kernel tap ``(i, j)``: ``x[n, oy*s_h + i*d_h - top,
    ox*s_w + j*d_w - left, :]``, the fill where that is outside the input. A view where the tap
    reads no padding (a plain array is an unpadded input)."""
    if not isinstance(xp, Padded):
        xp = Padded(xp)
    x = xp.x
    n, h, w, c = x.shape
    y0, x0 = i * d[0] - xp.top, j * d[1] - xp.left
    ra, rb = _inside(y0, s[0], ho, h)
    ca, cb = _inside(x0, s[1], wo, w)
    if (ra, rb, ca, cb) == (0, ho, 0, wo):
        return x[:, y0 : y0 + (ho - 1) * s[0] + 1 : s[0], x0 : x0 + (wo - 1) * s[1] + 1 : s[1], :]
    out = np.full((n, ho, wo, c), xp.fill, dtype=x.dtype)
    if ra < rb and ca < cb:
        out[:, ra:rb, ca:cb] = x[:, y0 + ra * s[0] : y0 + (rb - 1) * s[0] + 1 : s[0],
                                 x0 + ca * s[1] : x0 + (cb - 1) * s[1] + 1 : s[1], :]
    return out


def finish(accum: np.ndarray, k: int, thresholds: np.ndarray | None, out_bits: bool) -> np.ndarray:
    """Apply the output mode to ``accum[..., c_out]`` (the popcount of disagreements).

    BITS: ``bit = accum > thresholds[c]`` packed into words (INT32_MIN -> always 1, INT32_MAX ->
    always 0). INT32: ``y = K - 2*accum``.
    """
    accum = np.asarray(accum)
    if out_bits:
        if thresholds is None:
            raise ValueError("bit output needs thresholds")
        thr = np.asarray(thresholds, dtype=np.int64).reshape(-1)
        if thr.size != accum.shape[-1]:
            raise ValueError(f"{thr.size} thresholds for {accum.shape[-1]} output channels")
        return pack_bits(accum.astype(np.int64) > thr)
    if thresholds is not None and np.asarray(thresholds).size:
        raise ValueError("INT32 output takes no thresholds")
    return (k - 2 * accum.astype(np.int64)).astype(np.int32)


def accum_from_dot(dot: np.ndarray, k: int) -> np.ndarray:
    """``accum = (K - dot) / 2`` from the ±1 dot product ``dot = K - 2*accum`` (exact integers)."""
    acc = (k - np.rint(dot).astype(np.int64)) // 2
    return acc.astype(np.int32)
