"""The non-linear ternarized classifier: duplicated binary weights act as ternary {-2, 0, +2}."""

import math

import numpy as np

from bnn_edge.models import build_head_model, classifier_gain, get_preset, unit_gains
from bnn_edge.tfcompat import tf


def _binary_kernels(head):
    return [np.where(layer.get_weights()[0] >= 0, 1.0, -1.0) for layer in head.layers if layer.trainable_weights]


def test_head_equals_ternary_formula():
    p = get_preset("tiny")
    head = build_head_model(p, 256, 10)
    rng = np.random.default_rng(0)
    z = rng.choice([-1.0, 1.0], size=(32, 256)).astype(np.float32)
    w1, w2 = _binary_kernels(head)  # [256,128], [768,10]
    h = np.where(z @ w1 >= 0, 1.0, -1.0)
    c = np.concatenate([z, h], 1)
    n = c.shape[1]
    ternary = w2[:n] + w2[n:]  # two binary weights on the duplicated input
    assert set(np.unique(ternary)) <= {-2.0, 0.0, 2.0}
    assert {-2.0, 0.0, 2.0} <= set(np.unique(ternary))
    expected = c @ ternary  # A_out = W2 x sign(W1 x I) + W2 x I, with ternary W2
    with unit_gains(head):
        got = head(tf.constant(z)).numpy()
    np.testing.assert_array_equal(got, expected)
    scaled = head(tf.constant(z)).numpy()
    np.testing.assert_allclose(scaled, expected * classifier_gain(2 * n, 10), rtol=1e-5)


def test_classifier_scale_formula():
    assert classifier_gain(768, 10) == 1 / math.sqrt(5 * 768 * 10)
