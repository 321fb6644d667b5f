"""Lowering LCE flatbuffers to packs: each lowering, and each refusal naming op, index and layer."""

import numpy as np
import pytest

from bnn_edge.sim.interpreter import run_pack
from bnn_edge.tfcompat import keras, lq, tf
from converters import bnnpack as bp
from converters.bitpack import unpack_bits
from converters.lower import LoweringError, Thermo, lower
from converters.ops import DType
from converters.tflite_reader import read_tflite

BIN = dict(input_quantizer="ste_sign", kernel_quantizer="ste_sign", kernel_constraint="weight_clip", use_bias=False)
THERMO = Thermo(4, 4, 1, 32, list(range(1, 33)))  # 4x4 pixels, 32 levels -> 32 channels


def _convert(build, shape=(4, 4, 32)):
    import larq_compute_engine as lce

    inp = keras.Input(shape)
    model = keras.Model(inp, build(inp))
    return model, read_tflite(lce.convert_keras_model(model))


def _pixels(n=16, seed=0):
    return np.random.default_rng(seed).integers(0, 33, size=(n, 4, 4, 1)).astype(np.uint8)


def _encode(x):
    from bnn_edge.models.thermometer import thermometer_encode

    return thermometer_encode(x, 32, 32).astype(np.float32)


def test_conv_pool_depthwise_dense_concat_lower_and_match_keras():
    def build(x):
        y = lq.layers.QuantConv2D(32, 3, padding="same", pad_values=1.0, **BIN)(x)
        y = lq.layers.QuantConv2D(64, 3, strides=1, padding="valid", **BIN)(y)  # 2x2
        y = keras.layers.MaxPool2D(2)(y)  # 1x1
        y = lq.layers.QuantDepthwiseConv2D(1, padding="valid", input_quantizer="ste_sign", depthwise_quantizer="ste_sign",
                                           depthwise_constraint="weight_clip", use_bias=False)(y)
        y = keras.layers.Flatten()(y)
        z = keras.layers.Activation(lq.quantizers.SteSign(), name="latent")(lq.layers.QuantDense(64, **BIN)(y))
        h = keras.layers.Activation(lq.quantizers.SteSign())(lq.layers.QuantDense(32, **BIN)(z))
        c = keras.layers.Concatenate()([z, h])
        return lq.layers.QuantDense(5, **BIN)(keras.layers.Concatenate()([c, c]))

    tf.random.set_seed(1)
    model, g = _convert(build)
    low = lower(g, THERMO)
    names = [op.name for op in low.pack.ops]
    assert names == ["THERMO_ENCODE", "BCONV2D", "BCONV2D", "BMAXPOOL2D", "BDEPTHWISE2D", "BDENSE", "BDENSE",
                     "CONCAT", "CONCAT", "BDENSE"]
    assert low.pack.tensors[low.pack.output_tensor].dtype == DType.INT32
    x = _pixels(32)
    sim = run_pack(low.pack, x)
    keras_logits = model.predict(_encode(x), verbose=0)
    np.testing.assert_array_equal(sim["output"].reshape(32, 5), keras_logits)  # unit gains: exact integers
    latent = keras.Model(model.input, model.get_layer("latent").output).predict(_encode(x), verbose=0) < 0
    np.testing.assert_array_equal(unpack_bits(sim["latent"].reshape(32, -1), 64), latent)


def test_float_scale_and_bias_fold_into_thresholds():
    """v = s*y + b with b != 0 before a sign: the threshold absorbs -b/s exactly."""

    def build(x):
        y = lq.layers.QuantConv2D(32, 4, padding="valid", **BIN)(x)
        y = keras.layers.Flatten()(y)
        y = lq.layers.QuantDense(40, input_quantizer="ste_sign", kernel_quantizer="ste_sign", use_bias=True,
                                 bias_initializer=keras.initializers.RandomUniform(-6, 6))(y)
        y = keras.layers.Lambda(lambda t: t * 0.37)(y)
        return lq.layers.QuantDense(3, **BIN)(y)

    tf.random.set_seed(2)
    model, g = _convert(build)
    low = lower(g, THERMO)
    x = _pixels(64, 5)
    np.testing.assert_array_equal(run_pack(low.pack, x)["output"].reshape(64, 3), model.predict(_encode(x), verbose=0))


@pytest.mark.parametrize("case,msg", [
    ("float_conv", "CONV_2D (layer 'plain_conv'): has no Cortex-M lowering"),
    ("zero_pad", "SAME padding with zeros"),
    ("float_dense", "weights are not binary"),
    ("dw_same", "SAME (zero) padding in a depthwise"),
    ("out_bias", "output layer has a bias"),
    ("preact_reused", "also used by"),
])
def test_refusals_name_the_op_and_the_fix(case, msg):
    def build(x):
        if case == "float_conv":
            y = lq.layers.QuantConv2D(32, 3, padding="same", pad_values=1.0, **BIN)(x)
            y = keras.layers.Conv2D(8, 3, name="plain_conv")(y)
            return keras.layers.Flatten()(y)
        if case == "zero_pad":
            y = lq.layers.QuantConv2D(32, 3, padding="same", pad_values=0.0, name="zp", **BIN)(x)
            return lq.layers.QuantConv2D(32, 3, padding="same", pad_values=1.0, **BIN)(y)
        y = lq.layers.QuantConv2D(32, 4, padding="valid", **BIN)(x)
        if case == "dw_same":
            return lq.layers.QuantDepthwiseConv2D(3, padding="same", input_quantizer="ste_sign", depthwise_quantizer="ste_sign", use_bias=False)(y)
        y = keras.layers.Flatten()(y)
        if case == "float_dense":
            return keras.layers.Dense(4, use_bias=False, name="float_dense")(lq.quantizers.SteSign()(y))
        if case == "out_bias":
            return lq.layers.QuantDense(4, input_quantizer="ste_sign", kernel_quantizer="ste_sign",
                                        bias_initializer="ones", name="biased")(y)
        d = lq.layers.QuantDense(32, **BIN)(y)
        return keras.layers.Concatenate()([lq.layers.QuantDense(4, **BIN)(d), d[:, :4] * 2.0])

    _, g = _convert(build)
    with pytest.raises(LoweringError) as e:
        lower(g, THERMO)
    text = str(e.value)
    assert msg in text, text
    assert text.startswith("op ") and "layer '" in text


def test_graph_without_thermometer_input_is_refused():
    _, g = _convert(lambda x: lq.layers.QuantDense(4, **BIN)(keras.layers.Flatten()(x)))
    with pytest.raises(LoweringError):
        lower(g, Thermo(4, 4, 1, 16, list(range(1, 17))))
