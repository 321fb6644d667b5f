"""The incremental classifier: one fresh ternarized head with ``N_max`` outputs, masked to seen classes.

Choice (of the two the paper's protocol allows): after pre-training the classifier G is **reset**
to a fresh head (:func:`bnn_edge.models.apply_head`) with ``N_max = num_classes`` outputs (the
paper's N_max = 100 on CIFAR-100), built once and kept for every deployment phase. Its output
scale is ``1/sqrt(5 * fan_in * N_max)`` throughout, so adding classes never rescales old logits.
Rows of classes not seen yet are masked::

    masked_logits[r] = logits[r]            if r < seen
                       logits[r] - 10^9     otherwise

so softmax, cross-entropy and argmax only ever involve seen classes (``exp(-10^9) = 0``: no
gradient reaches unseen rows). "New output rows for new classes" is then unmasking rows.
"""

from __future__ import annotations

import numpy as np

from bnn_edge.models import LATENT_LAYER, apply_head
from bnn_edge.models.presets import Preset
from bnn_edge.tfcompat import keras

MASK_PENALTY = 1e9


@keras.utils.register_keras_serializable(package="bnn_edge_cil")
class SeenClassMask(keras.layers.Layer):
    """Subtract ``10^9`` from the logits of output rows ``>= seen`` (a non-trainable 0/1 vector)."""

    def __init__(self, num_classes: int, **kwargs):
        kwargs["trainable"] = False
        super().__init__(**kwargs)
        self.num_classes = int(num_classes)

    def build(self, input_shape):
        self.active = self.add_weight(name="active", shape=(self.num_classes,), initializer="zeros", trainable=False)
        super().build(input_shape)

    def set_seen(self, seen: int) -> None:
        """Unmask rows ``0 .. seen-1``."""
        if not 0 <= seen <= self.num_classes:
            raise ValueError(f"seen must be in 0..{self.num_classes}, got {seen}")
        self.active.assign((np.arange(self.num_classes) < seen).astype(np.float32))

    def call(self, inputs):
        return inputs + (self.active - 1.0) * MASK_PENALTY

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


MASK_LAYER = "seen_mask"


def masked_head_model(p: Preset, latent_dim: int, num_classes: int) -> keras.Model:
    """Latent ``z`` -> masked logits: a fresh G for latent replay (the extractor stays frozen)."""
    z = keras.Input((latent_dim,), name="latent_in")
    logits = apply_head(p, z, num_classes, prefix="cil")
    return keras.Model(z, SeenClassMask(num_classes, name=MASK_LAYER)(logits), name="cil_head")


def masked_full_model(p: Preset, pretrained: keras.Model, num_classes: int) -> keras.Model:
    """Pixels -> masked logits: the pre-trained extractor F (weights shared, trainable) + a fresh G."""
    latent = pretrained.get_layer(LATENT_LAYER).output
    logits = apply_head(p, latent, num_classes, prefix="cil")
    return keras.Model(pretrained.input, SeenClassMask(num_classes, name=MASK_LAYER)(logits), name="cil_model")


def set_seen(model: keras.Model, seen: int) -> None:
    """Unmask the first ``seen`` output rows of a model built here."""
    model.get_layer(MASK_LAYER).set_seen(seen)
