import math

import numpy as np
import pytest

from bnn_edge.models import Gain, build_model, fan_in_gain, get_preset, unit_gains
from bnn_edge.tfcompat import tf


def test_gain_is_inverse_sqrt_fan_in():
    assert fan_in_gain(9 * 64) == pytest.approx(1 / 24)
    with pytest.raises(ValueError):
        fan_in_gain(0)


def test_gain_keeps_unit_variance_of_random_binary_preactivations():
    rng = np.random.default_rng(1)
    fan_in = 576
    x = rng.choice([-1.0, 1.0], size=(4000, fan_in))
    w = rng.choice([-1.0, 1.0], size=(fan_in,))
    y = fan_in_gain(fan_in) * (x @ w)
    assert abs(np.var(y) - 1.0) < 0.1


def test_model_has_no_batch_norm_and_a_gain_after_every_binary_layer():
    model = build_model(get_preset("tiny"), 10)
    names = [layer.__class__.__name__ for layer in model.layers]
    assert not any("BatchNormalization" in n for n in names)
    weight_layers = [layer for layer in model.layers if layer.trainable_weights]
    for layer in weight_layers:
        nxt = model.layers[model.layers.index(layer) + 1]
        assert isinstance(nxt, Gain), f"{layer.name} is followed by {nxt.name}"
    conv = model.get_layer("conv1_2_gain")
    assert conv.gain == pytest.approx(1 / math.sqrt(9 * 64))


def test_unit_gains_is_temporary_and_keeps_signs():
    model = build_model(get_preset("tiny"), 10)
    x = tf.constant(np.random.default_rng(0).integers(0, 17, size=(8, 8, 8, 1)).astype(np.float32))
    before = model(x).numpy()
    with unit_gains(model):
        assert all(layer.gain == 1.0 for layer in model.layers if isinstance(layer, Gain))
        unit = model(x).numpy()
    np.testing.assert_array_equal(np.argmax(unit, 1), np.argmax(before, 1))
    np.testing.assert_allclose(unit * model.get_layer("logits").gain, before, rtol=1e-5, atol=1e-6)
    assert model.get_layer("logits").gain < 1.0
    # logits with unit gains are the integer sums of the ternarized classifier
    np.testing.assert_array_equal(unit, np.round(unit))
