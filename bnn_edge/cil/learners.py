"""What a deployment phase trains, and on which representation of the samples.

* :class:`HeadLearner` (latent replay): the extractor F of the pre-trained model is frozen; samples
  are represented by their latents ``z = F(x)`` (±1 for binary presets, float for ``-fp``), computed
  once; each phase trains only the masked head G on latents (fast: no convolution is run).
* :class:`FullLearner` (native replay, fine-tuning): samples stay pixels; each phase trains F and G
  together, through the preset's augmentation layer (random crop + flip where the preset has one;
  the digits presets have none).

Both train with :func:`bnn_edge.train.fit`: a fresh Adam optimizer and the adaptive LR schedule
restarted at its start LR every phase, stopping when the LR falls below its floor (or at the
epoch cap).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bnn_edge.batches import keras_predict
from bnn_edge.cil.classifier import masked_full_model, masked_head_model, set_seen
from bnn_edge.cil.codec import BinaryLatentCodec, Codec, FloatLatentCodec, PixelCodec
from bnn_edge.models import extractor_of
from bnn_edge.models.presets import Preset
from bnn_edge.schedule import LRSchedule
from bnn_edge.tfcompat import keras
from bnn_edge.train import fit


class Learner:
    """Common interface: ``represent`` pixels, ``fit_phase`` on represented samples, ``predict`` rows."""

    model: keras.Model
    codec: Codec
    trains_extractor: bool

    def represent(self, x: np.ndarray, desc: str | None = None) -> np.ndarray:
        """``desc``: a progress bar's description for long work (None: no bar)."""
        raise NotImplementedError

    def fit_phase(
        self,
        x: np.ndarray,
        y: np.ndarray,
        x_val: np.ndarray,
        y_val: np.ndarray,
        seen: int,
        schedule: LRSchedule,
        epochs: int,
        batch_size: int,
        desc: str,
        verbose: bool,
    ) -> dict[str, Any]:
        """Unmask the first ``seen`` rows, then train on ``(x, y)`` until the schedule stops."""
        set_seen(self.model, seen)
        return fit(self.model, x, y, x_val, y_val, schedule, epochs, batch_size, desc=desc, verbose=verbose)

    def predict(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Predicted output rows ``argmax`` over the seen (unmasked) rows."""
        if len(x) == 0:
            return np.zeros(0, np.int64)
        logits = keras_predict(self.model, x, keras_batch=batch_size)  # bounded batches (pixels for a FullLearner)
        return np.argmax(logits, axis=-1)


class HeadLearner(Learner):
    """Frozen extractor, fresh masked head trained on latents."""

    trains_extractor = False

    def __init__(self, p: Preset, pretrained: keras.Model, num_classes: int):
        self.extractor = extractor_of(pretrained)
        self.extractor.trainable = False
        self.latent_dim = int(self.extractor.output.shape[-1])
        self.model = masked_head_model(p, self.latent_dim, num_classes)
        self.codec = BinaryLatentCodec(self.latent_dim) if p.binary else FloatLatentCodec(self.latent_dim)

    def represent(self, x: np.ndarray, desc: str | None = None) -> np.ndarray:
        """``z = F(x)``: float32 ``[N, latent_dim]`` (exactly ±1 for binary presets), computed in
        bounded batches (:func:`bnn_edge.batches.keras_predict`: the float32 copy of the pixels
        exists one batch at a time)."""
        if len(x) == 0:
            return np.zeros((0, self.latent_dim), np.float32)
        return keras_predict(self.extractor, x, desc=desc).astype(np.float32, copy=False)


class FullLearner(Learner):
    """Trainable pre-trained extractor plus a fresh masked head, trained on pixels."""

    trains_extractor = True

    def __init__(self, p: Preset, pretrained: keras.Model, num_classes: int):
        self.model = masked_full_model(p, pretrained, num_classes)
        self.codec = PixelCodec(p.input_shape, p.vmax)

    def represent(self, x: np.ndarray, desc: str | None = None) -> np.ndarray:
        """Pixels stay pixels."""
        return np.asarray(x)
