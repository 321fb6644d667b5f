"""``THERMO_ENCODE``: uint8 pixels to thermometer bits (FORMAT.md op 1)."""

from __future__ import annotations

import numpy as np

from converters.bitpack import pack_bits

from ._common import as_batch, unbatch

__all__ = ["thermo_encode"]


def thermo_encode(x: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Encode uint8 ``x[N, h, w, c]`` (or one ``[h, w, c]``) with ``L`` level thresholds.

    Output channel ``ci*L + l`` is bit ``x[ci] < t[l]`` (below the level's threshold is -1, at
    or above is +1: Keras' ``where(x >= t, +1, -1)``), channel-major; returned packed as u32
    words ``[N, h, w, words(c*L)]``.
    """
    xb, added = as_batch(x, 3)
    if xb.dtype != np.uint8:
        raise ValueError(f"thermo_encode takes uint8 pixels, got {xb.dtype}")
    t = np.asarray(thresholds, dtype=np.int64).reshape(-1)
    bits = xb.astype(np.int64)[..., :, None] < t  # [N, h, w, c, L]
    bits = bits.reshape(bits.shape[:3] + (-1,))
    return unbatch(pack_bits(bits), added)
