"""RandomCropFlip: each training output is one crop of the vmax-padded image, maybe mirrored; identity at inference."""

from __future__ import annotations

import numpy as np

from bnn_edge.models.augment import RandomCropFlip
from bnn_edge.tfcompat import tf


def _candidates(img: np.ndarray, pad: int, vmax: int, flip: bool) -> list[np.ndarray]:
    h, w, _ = img.shape
    padded = np.pad(img, [(pad, pad), (pad, pad), (0, 0)], constant_values=vmax)
    out = []
    for oy in range(2 * pad + 1):
        for ox in range(2 * pad + 1):
            crop = padded[oy:oy + h, ox:ox + w]
            out.append(crop)
            if flip:
                out.append(crop[:, ::-1])
    return out


def test_training_outputs_are_padded_crops_and_mirrors_of_their_own_image():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (64, 6, 5, 3)).astype(np.float32)  # distinct images, non-square
    layer = RandomCropFlip(pad=2, vmax=255, flip=True)
    tf.random.set_seed(1)
    y = layer(tf.constant(x), training=True).numpy()
    assert y.shape == x.shape and y.dtype == np.float32
    picked = []
    for i in range(len(x)):
        cands = _candidates(x[i], 2, 255, True)
        hits = [k for k, c in enumerate(cands) if np.array_equal(c, y[i])]
        assert hits, f"image {i} is no crop/mirror of its own padded input"
        picked.append(hits[0])
    assert len(set(picked)) > 10  # offsets and flips vary across the batch


def test_flip_only_and_inference_identity():
    x = np.arange(2 * 4 * 4 * 1, dtype=np.float32).reshape(2, 4, 4, 1)
    layer = RandomCropFlip(pad=0, vmax=16, flip=True)
    y = layer(tf.constant(x), training=True).numpy()
    for i in range(2):
        assert np.array_equal(y[i], x[i]) or np.array_equal(y[i], x[i, :, ::-1])
    assert np.array_equal(layer(tf.constant(x), training=False).numpy(), x)
    crop_only = RandomCropFlip(pad=1, vmax=16, flip=False)
    ys = crop_only(tf.constant(np.repeat(x, 50, axis=0)), training=True).numpy()
    crops = _candidates(x[0], 1, 16, False)
    seen = set()
    for img in ys[:50]:  # the 50 copies of x[0]
        hits = [k for k, c in enumerate(crops) if np.array_equal(img, c)]
        assert hits
        seen.add(hits[0])
    assert len(seen) > 3
