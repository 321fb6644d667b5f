"""Thermometer input encoding: integer pixels to ±1 channels, so the first layer is binary.

For a pixel value ``x`` in ``[0, vmax]`` and ``L`` levels the thresholds are

    t_l = round((l + 1) * (vmax + 1) / (L + 1)),   l = 0 .. L-1

and channel ``c*L + l`` of the output is ``+1 if x_c >= t_l else -1`` (channel-major: all levels of
input channel 0, then of channel 1, ...). With 85 levels an 8-bit RGB image becomes 255 binary
channels, as in the paper; the 0..16 digits use 16 levels, one per grey value (t_l = l + 1).

The firmware does the same with integer compares (``THERMO_ENCODE`` in converters/FORMAT.md).
"""

from __future__ import annotations

import numpy as np

from bnn_edge.models.preset_file import MAX_LEVELS, MAX_VMAX  # a network description's bounds
from bnn_edge.tfcompat import keras, tf


def thermometer_thresholds(levels: int, vmax: int) -> np.ndarray:
    """The ``L`` integer thresholds ``t_l = round((l+1)(vmax+1)/(L+1))`` (non-decreasing, in 1..vmax)."""
    if not 1 <= levels <= MAX_LEVELS:  # a model file's config is data: bounded before any allocation
        raise ValueError(f"thermometer levels must be in 1..{MAX_LEVELS}, got {levels}")
    if not 1 <= vmax <= MAX_VMAX:
        raise ValueError(f"vmax must be in 1..{MAX_VMAX}, got {vmax}")
    l = np.arange(1, levels + 1, dtype=np.float64)
    t = np.floor(l * (vmax + 1) / (levels + 1) + 0.5).astype(np.int64)
    return np.clip(t, 1, vmax)


def thermometer_encode(x: np.ndarray, levels: int, vmax: int) -> np.ndarray:
    """NumPy twin of :class:`Thermometer`: ``[..., C]`` integers -> ``[..., C*L]`` of ±1 (int8)."""
    t = thermometer_thresholds(levels, vmax)
    out = np.where(np.asarray(x)[..., :, None] >= t, 1, -1).astype(np.int8)
    return out.reshape(*out.shape[:-2], out.shape[-2] * levels)


@keras.utils.register_keras_serializable(package="bnn_edge")
class Thermometer(keras.layers.Layer):
    """Keras layer: ``[N,H,W,C]`` pixel values -> ``[N,H,W,C*L]`` of ±1 (float32), no weights."""

    def __init__(self, levels: int, vmax: int, **kwargs):
        kwargs["trainable"] = False
        super().__init__(**kwargs)
        self.levels = int(levels)
        self.vmax = int(vmax)
        self._t = thermometer_thresholds(self.levels, self.vmax).astype(np.float32)

    def call(self, inputs):
        # x >= t  <=>  floor(x) >= t  <=>  floor(x) - t + 1/2 > 0 (t integer), and that difference is
        # never 0: one broadcast subtract and a sign, about a third cheaper in training than a select
        x = tf.floor(tf.cast(inputs, tf.float32))
        enc = tf.sign(x[..., None] - tf.constant(self._t - 0.5))
        static = inputs.shape[1:]
        return tf.reshape(enc, [-1, *static[:-1], static[-1] * self.levels])

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] * self.levels)

    def get_config(self):
        return {**super().get_config(), "levels": self.levels, "vmax": self.vmax}
