import numpy as np
import pytest

from bnn_edge.tfcompat import keras, lq
from converters.tflite_reader import TFLiteError, describe_tflite, read_tflite

BIN = dict(input_quantizer="ste_sign", kernel_quantizer="ste_sign", kernel_constraint="weight_clip", use_bias=False)


@pytest.fixture(scope="module")
def fb():
    import larq_compute_engine as lce

    inp = keras.Input((6, 6, 40))
    y = lq.layers.QuantConv2D(64, 3, strides=2, dilation_rate=1, padding="same", pad_values=1.0, **BIN)(inp)
    y = lq.layers.QuantConv2D(32, 3, padding="same", pad_values=1.0, **BIN)(y)
    y = keras.layers.MaxPool2D(3, strides=1)(y)
    y = lq.layers.QuantConv2D(32, 1, **BIN)(y)  # a binary consumer makes LCE emit LceBMaxPool2d
    return bytes(lce.convert_keras_model(keras.Model(inp, y)))


def test_reads_ops_tensors_and_custom_options(fb):
    g = read_tflite(fb)
    assert g.op_names()[:3] == ["LceQuantize", "LceBconv2d", "LceBconv2d"]
    bconv = g.ops[1]
    assert bconv.custom["channels_in"] == 40 and bconv.custom["stride_height"] == 2 and bconv.custom["pad_values"] == 1
    filt = g.tensors[bconv.inputs[1]]
    assert filt.data.dtype == np.int32 and filt.shape == (64, 3, 3, 2)  # 40 channels -> 2 words
    assert g.tensors[g.inputs[0]].shape == (1, 6, 6, 40)
    pool = [op for op in g.ops if op.name == "LceBMaxPool2d"][0]
    assert pool.custom["filter_height"] == 3 and pool.custom["stride_width"] == 1
    assert g.producer(bconv.outputs[0]) is bconv and bconv in g.consumers(bconv.inputs[0])


def test_describe_is_json_ready(fb):
    import json

    d = describe_tflite(fb)
    json.dumps(d)
    assert d["op_counts"]["LceBconv2d"] == 3 and d["op_counts"]["LceBMaxPool2d"] == 1


@pytest.mark.parametrize("mutate,msg", [
    (lambda b: b[:10], "only 10 bytes"),
    (lambda b: b[:4] + b"XXXX" + b[8:], "file identifier"),
    (lambda b: b[: len(b) // 3], "corrupted"),
])
def test_malformed_inputs_raise_clear_errors(fb, mutate, msg):
    with pytest.raises(TFLiteError, match=msg):
        read_tflite(mutate(fb))
