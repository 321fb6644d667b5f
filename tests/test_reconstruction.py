"""The training-only reconstruction objective (:mod:`bnn_edge.models.reconstruction`)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from bnn_edge.errors import UserError
from bnn_edge.models import LATENT_LAYER, build_model, get_preset, weight_counts
from bnn_edge.models.reconstruction import (
    DECODER_LAYER,
    DEFAULT_RECON_WEIGHT,
    check_recon_weight,
    resolve_recon_weight,
    with_reconstruction,
)
from bnn_edge.tfcompat import keras


def test_zero_weight_is_the_model_itself():
    m = build_model(get_preset("tiny"), 5)
    assert with_reconstruction(m, get_preset("tiny"), 0.0) is m


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_bad_weights_are_refused(bad):
    with pytest.raises(UserError, match="--recon-weight"):
        check_recon_weight(bad)


def test_default_only_for_a_cil_pretraining():
    assert resolve_recon_weight(None, pretraining=True) == DEFAULT_RECON_WEIGHT > 0
    assert resolve_recon_weight(None, pretraining=False) == 0.0
    assert resolve_recon_weight(3.5, pretraining=False) == 3.5


@pytest.mark.parametrize("augment", [False, True])
def test_added_loss_is_weighted_mse_of_the_linear_decoder(augment):
    """``loss_aux = lambda * mean_i (W z + b - x / vmax)_i^2`` over the batch and the pixels.

    With an augmentation layer the target is its output (identity outside training).
    """
    p = get_preset("tiny")
    if augment:
        p = dataclasses.replace(p, augment_pad=1, augment_flip=True)
    m = build_model(p, 5)
    trainer = with_reconstruction(m, p, 7.0)
    assert trainer.inputs[0] is m.inputs[0] and trainer.outputs[0] is m.outputs[0]
    dec = trainer.get_layer(DECODER_LAYER)
    rng = np.random.default_rng(0)
    dec.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in dec.get_weights()])
    x = rng.integers(0, p.vmax + 1, (6, *p.input_shape)).astype(np.float32)
    z = keras.Model(m.input, m.get_layer(LATENT_LAYER).output)(x, training=False).numpy()
    assert set(np.unique(z)) <= {-1.0, 1.0}
    w, b = dec.get_weights()
    expect = 7.0 * np.mean((z @ w + b - x.reshape(len(x), -1) / p.vmax) ** 2)
    trainer(x, training=False)
    (got,) = [float(v) for v in trainer.losses]
    assert got == pytest.approx(expect, rel=1e-5)


@pytest.mark.slow
def test_decoder_is_trained_but_never_part_of_the_saved_network(tmp_path):
    p = get_preset("tiny")
    m = build_model(p, 5)
    before = weight_counts(m).as_dict()
    trainer = with_reconstruction(m, p, DEFAULT_RECON_WEIGHT)
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    trainer.compile(optimizer=keras.optimizers.Adam(1e-3), loss=ce)
    m.compile(loss=ce)  # the network alone: cross-entropy only
    rng = np.random.default_rng(1)
    x = rng.integers(0, p.vmax + 1, (64, *p.input_shape)).astype(np.float32)
    y = rng.integers(0, 5, 64)

    def aux_loss() -> float:  # trainer loss minus the network's cross-entropy
        return float(trainer.evaluate(x, y, verbose=0)) - float(m.evaluate(x, y, verbose=0))

    aux0 = aux_loss()
    trainer.fit(x, y, epochs=30, batch_size=16, verbose=0)
    assert aux_loss() < 0.5 * aux0  # the decoder (and the extractor under it) learned to reconstruct
    assert DECODER_LAYER not in {layer.name for layer in m.layers}
    assert weight_counts(m).as_dict() == before and weight_counts(m).fully_binary
    m.save(tmp_path / "model.keras")
    from bnn_edge.models import CUSTOM_OBJECTS

    loaded = keras.models.load_model(tmp_path / "model.keras", custom_objects=CUSTOM_OBJECTS, compile=False)
    assert DECODER_LAYER not in {layer.name for layer in loaded.layers}
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), m.predict(x, verbose=0))


@pytest.mark.slow
def test_train_records_the_weight_it_used(tmp_path):
    from bnn_edge.train import train_run

    train_run("digits", "tiny", tmp_path / "pre", epochs=2, pretrain_classes=5, seed=0, verbose=False)
    train_run("digits", "tiny", tmp_path / "off", epochs=2, seed=0, verbose=False)
    assert json.loads((tmp_path / "pre" / "run.json").read_text())["recon_weight"] == DEFAULT_RECON_WEIGHT
    assert json.loads((tmp_path / "pre" / "metrics.json").read_text())["recon_weight"] == DEFAULT_RECON_WEIGHT
    assert json.loads((tmp_path / "off" / "run.json").read_text())["recon_weight"] == 0.0
