"""The constant gain that replaces batch norm: ``y = K * x`` with ``K = 1 / sqrt(fan_in)``.

A binary layer's pre-activation is a sum of ``fan_in`` products of ±1 values, so with random signs
its variance is ``fan_in``; multiplying by ``K = 1/sqrt(fan_in)`` brings it back to unit variance,
which keeps the straight-through estimator's window (|x| <= 1) open for learning. No statistics
are collected, so there is nothing to warm up and nothing that drifts when new classes arrive.

``K > 0`` never changes a sign: the next binary layer (or the latent) sees exactly the same bits
with or without it. The exporter therefore sets every gain to 1 (:func:`unit_gains`) before
conversion, which makes every pre-activation an exact integer ``K_fan_in - 2*popcount``.
"""

from __future__ import annotations

import contextlib
import math
from typing import Iterator

from bnn_edge.tfcompat import keras


def fan_in_gain(fan_in: int) -> float:
    """``K = 1 / sqrt(fan_in)``."""
    if fan_in <= 0:
        raise ValueError(f"fan_in must be positive, got {fan_in}")
    return 1.0 / math.sqrt(fan_in)


@keras.utils.register_keras_serializable(package="bnn_edge")
class Gain(keras.layers.Layer):
    """Multiply by a fixed positive constant (no weights, not trained)."""

    def __init__(self, gain: float, **kwargs):
        kwargs["trainable"] = False
        super().__init__(**kwargs)
        if not gain > 0:
            raise ValueError(f"gain must be > 0, got {gain}")
        self.gain = float(gain)

    def call(self, inputs):
        return inputs * self.gain

    def get_config(self):
        return {**super().get_config(), "gain": self.gain}


def _all_layers(model: keras.Model) -> Iterator[keras.layers.Layer]:
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)
        else:
            yield layer


@contextlib.contextmanager
def unit_gains(model: keras.Model) -> Iterator[keras.Model]:
    """Temporarily set every :class:`Gain` of ``model`` (nested models included) to 1."""
    saved = [(layer, layer.gain) for layer in _all_layers(model) if isinstance(layer, Gain)]
    try:
        for layer, _ in saved:
            layer.gain = 1.0
        yield model
    finally:
        for layer, g in saved:
            layer.gain = g
