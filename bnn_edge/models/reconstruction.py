"""Auxiliary reconstruction objective: pre-training that keeps what unseen classes will need.

Latent replay freezes the extractor F after pre-training on the first ``P`` classes, so the latent
``z = F(x)`` must still separate classes F never saw. Cross-entropy alone only rewards what
separates the ``P`` pre-training classes and lets F discard the rest. During training we therefore
add a **linear decoder** ``D`` (float, training only) from the binary latent ``z in {-1,+1}^N``
back to the image the network saw (after augmentation, scaled to ``[0, 1]``)::

    loss = CE(logits, y)  +  lambda * (1/D_in) * sum_i ( D(z)_i - x_i / vmax )^2

``D(z) = W z + b`` with ``W`` of shape ``[H*W*C, N]``. The gradient of the second term reaches F
through the latent's straight-through sign like the classifier's does. ``lambda = 0`` is plain
supervised training.

Nothing of ``D`` is deployed: the trainer model wraps the network, and the network saved, counted
(:func:`bnn_edge.models.weight_counts`) and exported is the preset's, unchanged.

Default (:func:`resolve_recon_weight`): ``lambda = 20`` when training is the pre-training phase of a
class-incremental scenario (only the first ``P`` classes), 0 for ordinary offline training, where
it costs accuracy and time for nothing (tiny on all 10 digits: 0.96 in 129 epochs against 0.98 in 52).

Measured on Split-Digits (``bnn-edge cil --dataset digits --preset tiny --pretrain-classes 5
--tasks 5 --replay latent --buffer-mb 0.02``, seeds 0 / 1 / 2): final accuracy 0.856 / 0.864 /
0.817 with ``lambda = 20`` against 0.797 / 0.836 / 0.753 with ``lambda = 0``.
"""

from __future__ import annotations

import math

from typing import TYPE_CHECKING

from bnn_edge.errors import UserError
from bnn_edge.models.presets import Preset

if TYPE_CHECKING:  # TensorFlow is imported by with_reconstruction, so the CLI can read the default without it
    from bnn_edge.tfcompat import keras

DEFAULT_RECON_WEIGHT = 20.0
DECODER_LAYER = "recon_decoder"


def resolve_recon_weight(weight: float | None, pretraining: bool) -> float:
    """``weight`` if given, else :data:`DEFAULT_RECON_WEIGHT` for a CIL pre-training and 0 otherwise."""
    if weight is None:
        return DEFAULT_RECON_WEIGHT if pretraining else 0.0
    return check_recon_weight(weight)


def check_recon_weight(weight: float) -> float:
    """``weight`` as a float if it is finite and ``>= 0``; :class:`UserError` otherwise."""
    w = float(weight)
    if not (math.isfinite(w) and w >= 0):
        raise UserError(f"--recon-weight {weight}: must be a finite number >= 0 (0 = plain cross-entropy)")
    return w


def with_reconstruction(model: keras.Model, p: Preset, weight: float) -> keras.Model:
    """A trainer for ``model``: same inputs and logits, plus ``weight`` times the decoder's MSE.

    Returns ``model`` itself when ``weight == 0``. The trainer shares every layer of ``model``, so
    training it trains ``model``; save ``model``, not the trainer.
    """
    from bnn_edge.models.build import AUGMENT_LAYER, LATENT_LAYER
    from bnn_edge.tfcompat import keras, tf

    weight = check_recon_weight(weight)
    if weight == 0:
        return model
    z = model.get_layer(LATENT_LAYER).output
    names = {layer.name for layer in model.layers}
    seen = model.get_layer(AUGMENT_LAYER).output if AUGMENT_LAYER in names else model.input
    target = keras.layers.Flatten(name="recon_target")(keras.layers.Rescaling(1.0 / p.vmax, name="recon_scale")(seen))
    decoded = keras.layers.Dense(int(target.shape[-1]), name=DECODER_LAYER)(z)
    error = keras.layers.Subtract(name="recon_error")([decoded, target])
    trainer = keras.Model(model.input, model.output, name=f"{model.name}_trainer")
    trainer.add_loss(weight * tf.reduce_mean(tf.square(tf.cast(error, tf.float32))))  # float32 under mixed precision
    return trainer
