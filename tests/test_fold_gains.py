"""The training graph with folded gains (bnn_edge.models.build) is the deployed graph's twin: same
weights, same logits, gradients parallel per weight tensor (a constant factor each)."""

from __future__ import annotations

import numpy as np
import pytest

from bnn_edge.models import build_model, get_preset
from bnn_edge.models.gain import Gain
from bnn_edge.tfcompat import tf


@pytest.mark.parametrize("preset", ["tiny", "m4-32"])
def test_folded_graph_has_the_same_weights_logits_and_gradient_directions(preset):
    p = get_preset(preset)
    std = build_model(p, 10)
    fold = build_model(p, 10, fold_gains=True)
    assert [w.shape for w in std.weights] == [w.shape for w in fold.weights]
    fold.set_weights(std.get_weights())
    # the trunk's gains are gone, the head's stay
    gains = lambda m: sorted(layer.name for layer in m.layers if isinstance(layer, Gain))
    assert [g for g in gains(fold)] == [g for g in gains(std) if g.startswith("head") or g == "logits"]
    assert len(gains(std)) > len(gains(fold))

    rng = np.random.default_rng(0)
    x = tf.constant(rng.integers(0, p.vmax + 1, (16, *p.input_shape)).astype(np.float32))
    y = tf.constant(rng.integers(0, 10, 16))
    loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    grads, logits = [], []
    for m in (std, fold):
        with tf.GradientTape() as tape:
            out = m(x, training=False)
            value = loss(y, out)
        grads.append(tape.gradient(value, m.trainable_weights))
        logits.append(out.numpy())
    np.testing.assert_array_equal(logits[0], logits[1])  # the signs do not see a positive scale
    for w, gs, gf in zip(std.trainable_weights, *grads):
        gs, gf = gs.numpy().ravel(), gf.numpy().ravel()
        if not np.any(gs):
            assert not np.any(gf), w.name
            continue
        cos = float(gs @ gf / (np.linalg.norm(gs) * np.linalg.norm(gf)))
        assert cos > 0.999, (w.name, cos)
        scale = np.linalg.norm(gf) / np.linalg.norm(gs)
        np.testing.assert_allclose(gf, scale * gs, rtol=1e-3, atol=1e-3 * np.abs(gf).max())


def test_float_twins_ignore_the_flag():
    p = get_preset("tiny-fp")
    std, fold = build_model(p, 10), build_model(p, 10, fold_gains=True)
    assert [layer.name for layer in std.layers] == [layer.name for layer in fold.layers]
