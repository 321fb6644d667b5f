import numpy as np
import pytest

from bnn_edge.models.thermometer import Thermometer, thermometer_encode, thermometer_thresholds
from bnn_edge.tfcompat import tf


def test_digits_thresholds_are_one_per_grey_level():
    assert thermometer_thresholds(16, 16).tolist() == list(range(1, 17))


def test_rgb_85_levels_gives_255_monotone_thresholds_within_range():
    t = thermometer_thresholds(85, 255)
    assert len(t) == 85 and t[0] >= 1 and t[-1] <= 255
    assert np.all(np.diff(t) > 0)


def test_encoding_counts_levels_below_value():
    x = np.array([[0, 5, 16]], np.uint8)  # 3 channels
    enc = thermometer_encode(x, 16, 16)
    assert enc.shape == (1, 48)
    # channel-major: value v turns on (+1) exactly the levels with t <= v
    for ci, v in enumerate([0, 5, 16]):
        block = enc[0, ci * 16:(ci + 1) * 16]
        assert int(np.sum(block == 1)) == v
        assert np.all(block[:v] == 1) and np.all(block[v:] == -1)


def test_keras_layer_matches_numpy_twin():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(4, 5, 6, 3)).astype(np.float32)
    layer = Thermometer(85, 255)
    got = layer(tf.constant(x)).numpy()
    assert got.shape == (4, 5, 6, 255)
    np.testing.assert_array_equal(got, thermometer_encode(x.astype(np.int64), 85, 255))


def test_keras_layer_is_x_ge_t_at_every_threshold_and_between_integers():
    """Every value 0..vmax, each threshold's neighbours, and non-integers just below/above a threshold:
    the layer is ``+1 iff x >= t`` exactly (its arithmetic is a sign of ``floor(x) - t + 1/2``)."""
    for levels, vmax in [(10, 255), (16, 16), (85, 255)]:
        t = thermometer_thresholds(levels, vmax).astype(np.float64)
        vals = np.concatenate([np.arange(vmax + 1), t - 0.25, t - 1e-3, t + 0.25, t + 1e-3])
        vals = np.clip(vals, 0, vmax).astype(np.float32)
        got = Thermometer(levels, vmax)(tf.constant(vals.reshape(-1, 1, 1, 1))).numpy().reshape(len(vals), levels)
        want = np.where(vals[:, None] >= t[None, :], 1.0, -1.0)
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("levels,vmax", [(0, 16), (4, 0)])
def test_bad_parameters_raise(levels, vmax):
    with pytest.raises(ValueError):
        thermometer_thresholds(levels, vmax)
