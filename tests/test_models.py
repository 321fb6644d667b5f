import json

import numpy as np
import pytest

from bnn_edge.errors import UserError
from bnn_edge.models import build_model, extractor_of, get_preset, weight_counts, with_input_shape
from bnn_edge.models.presets import memory_bits
from bnn_edge.tfcompat import keras, lq
from conftest import run_cli


@pytest.mark.parametrize("name,classes", [("tiny", 10), ("paper", 100), ("tiny-fp", 10), ("paper-fp", 100)])
def test_counted_memory_matches_built_model(name, classes):
    p = get_preset(name)
    assert weight_counts(build_model(p, classes)).memory_bits == memory_bits(p, classes)


def test_paper_preset_is_the_4mb_fully_binary_net():
    c = weight_counts(build_model(get_preset("paper"), 100))
    assert 3.6e6 <= c.binary_weight_bits <= 4.4e6
    assert c.float_weight_count == 0 and c.float_io_layers == 0 and c.fully_binary


def test_float_twins_have_equal_footprint_and_float_io():
    for name, classes in [("tiny", 10), ("paper", 100)]:
        b = memory_bits(get_preset(name), classes)
        f = memory_bits(get_preset(name + "-fp"), classes)
        assert abs(f - b) / b < 0.05
        c = weight_counts(build_model(get_preset(name + "-fp"), classes))
        assert c.binary_weight_bits == 0 and c.float_io_layers == 2 and not c.fully_binary


def test_every_weight_layer_of_binary_model_is_binary_in_and_out():
    model = build_model(get_preset("tiny"), 10)
    for layer in model.layers:
        if layer.trainable_weights:
            assert isinstance(layer, (lq.layers.QuantConv2D, lq.layers.QuantDense, lq.layers.QuantDepthwiseConv2D))
            assert layer.input_quantizer is not None
            assert len(layer.trainable_weights) == 1  # no bias
    convs = [layer for layer in model.layers if isinstance(layer, lq.layers.QuantConv2D)]
    assert all(layer.pad_values == 1.0 for layer in convs)


def test_latent_is_binary():
    model = build_model(get_preset("tiny"), 10)
    x = np.random.default_rng(0).integers(0, 17, (5, 8, 8, 1)).astype(np.float32)
    z = extractor_of(model).predict(x, verbose=0)
    assert z.shape == (5, 256) and set(np.unique(z)) <= {-1.0, 1.0}


def test_unknown_preset_and_input_too_small():
    with pytest.raises(UserError, match="unknown preset 'huge'"):
        get_preset("huge")
    with pytest.raises(UserError, match="does not fit input shape 8x8x3"):
        with_input_shape(get_preset("paper"), (8, 8, 3))


def test_too_large_a_network_is_refused_before_it_is_built():
    """A mistyped input shape (or a preset file's) must be one error, not an out-of-memory traceback."""
    from bnn_edge.models.presets import MAX_ACTIVATION, MAX_WEIGHTS, check_fits, largest_activation

    m4 = get_preset("m4-32")
    assert largest_activation(m4) == (32 * 32 * 30, (32, 32, 30))  # the thermometer (conv 2: 16x16x96)
    assert largest_activation(get_preset("paper")) == (32 * 32 * 255, (32, 32, 255))  # the thermometer
    for name in ("tiny", "paper", "m4-32", "paper-fp", "m4-32-fp"):
        p = get_preset(name)
        check_fits(p)
        assert memory_bits(p, 1) < MAX_WEIGHTS // 50 and largest_activation(p)[0] < MAX_ACTIVATION // 1000
    with pytest.raises(UserError, match=r"preset 'tiny' at input shape 1024x1024x1 has 4,[\d,]+ weights"):
        with_input_shape(get_preset("tiny"), (1024, 1024, 1))  # a 511x511x64 bottleneck input
    with pytest.raises(UserError, match=r"a 4096x4096x64 activation \(1,073,741,824 values per image\)"):
        with_input_shape(get_preset("tiny"), (4096, 4096, 3))  # its first conv
    with pytest.raises(UserError, match=r"a 3000x3000x255 activation"):
        with_input_shape(get_preset("paper"), (3000, 3000, 3))  # its 85-level thermometer


@pytest.mark.slow  # builds the paper-sized network in a fresh process
def test_summary_cli_json_reports_paper_counts():
    proc = run_cli("summary", "--preset", "paper", "--json", check=True)
    d = json.loads(proc.stdout)
    assert 3.6e6 <= d["binary_weight_bits"] <= 4.4e6 and d["float_io_layers"] == 0 and d["fully_binary"] is True


@pytest.mark.slow  # a fresh process importing TensorFlow
def test_summary_cli_bad_input_shape_is_one_line():
    proc = run_cli("summary", "--preset", "tiny", "--input-shape", "8,x")
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0 and "H,W,C" in proc.stderr
