"""The fully-binary contract (bnn_edge/contract.py): what is accepted, and each refusal names the
first offending layer."""

from __future__ import annotations

import pytest

from bnn_edge.contract import ContractError, check_contract
from bnn_edge.models import Gain, Thermometer, build_model, get_preset
from bnn_edge.tfcompat import keras, lq

BIN = dict(input_quantizer="ste_sign", kernel_quantizer="ste_sign", kernel_constraint="weight_clip", use_bias=False)


def qconv(n, name, **kw):
    return lq.layers.QuantConv2D(n, 3, name=name, **{**BIN, "padding": "same", "pad_values": 1.0, **kw})


def qdense(n, name, **kw):
    return lq.layers.QuantDense(n, name=name, **{**BIN, **kw})


def net(*middle, head=None, therm=True):
    """pixels 8x8x1 -> [Thermometer] -> middle layers -> head (default Flatten + QuantDense(10))."""
    x = inp = keras.Input((8, 8, 1), name="pixels")
    if therm:
        x = Thermometer(16, 16, name="therm")(x)
    for layer in middle:
        x = layer(x)
    for layer in head if head is not None else [keras.layers.Flatten(name="flat"), qdense(10, "out")]:
        x = layer(x)
    return keras.Model(inp, x)


def refused(model, layer: str, why: str) -> str:
    with pytest.raises(ContractError) as e:
        check_contract(model)
    msg = str(e.value)
    assert msg.startswith(f"layer '{layer}' ("), msg
    assert why in msg, msg
    assert "\n" not in msg
    return msg


def test_accepts_bn_folded_into_thresholds_and_maxpool():
    m = net(qconv(32, "c1"), keras.layers.BatchNormalization(name="bn1"), qconv(32, "c2"),
            keras.layers.BatchNormalization(name="bn2"), keras.layers.MaxPool2D(2, name="pool"), qconv(32, "c3"),
            keras.layers.BatchNormalization(name="bn3"),
            head=[keras.layers.Flatten(name="flat"), qdense(10, "out"), Gain(0.1, name="g")])
    r = check_contract(m)
    assert r.thermometer.name == "therm" and r.output_layer.name == "out"
    assert r.binary_layers == ["c1", "c2", "c3", "out"]
    assert r.batch_norms == ["bn1", "bn2", "bn3"] and r.gains == ["g"]


def test_accepts_the_builtin_binary_preset_with_ternarized_head():
    r = check_contract(build_model(get_preset("tiny"), 10))
    assert r.output_layer.name == "head_dense2"
    assert not r.batch_norms and r.gains


def test_accepts_sequential_model():
    m = keras.Sequential([keras.Input((8, 8, 1)), Thermometer(16, 16, name="t"), qconv(32, "c1"),
                          keras.layers.MaxPool2D(2, name="p"), qconv(32, "c2"), keras.layers.Flatten(), qdense(4, "o")])
    assert check_contract(m).output_layer.name == "o"


def test_refuses_float_conv2d():
    refused(net(qconv(32, "c1"), keras.layers.Conv2D(32, 3, padding="same", name="float_conv")),
            "float_conv", "a float convolution")


def test_refuses_float_dense_output():
    refused(net(qconv(32, "c1"), head=[keras.layers.Flatten(name="f"), keras.layers.Dense(10, name="fc")]),
            "fc", "a float dense layer")


def test_refuses_batch_norm_before_the_output():
    refused(net(qconv(32, "c1"), head=[keras.layers.Flatten(name="f"), qdense(10, "out"),
                                       keras.layers.BatchNormalization(name="bn_out")]),
            "bn_out", "the model's output")


def test_refuses_batch_norm_before_a_float_activation():
    # the batch norm is the first offender (it cannot fold), before the ReLU
    refused(net(qconv(32, "c1"), keras.layers.BatchNormalization(name="bn"), keras.layers.ReLU(name="relu"),
                qconv(32, "c2")), "bn", "followed by layer 'relu' (ReLU)")


def test_refuses_batch_norm_before_a_gain():
    refused(net(qconv(32, "c1"), keras.layers.BatchNormalization(name="bn"), Gain(0.5, name="g"), qconv(32, "c2")),
            "bn", "not by a sign-quantized binary layer")


def test_refuses_batch_norm_on_the_thermometer_bits():
    refused(net(keras.layers.BatchNormalization(name="bn0"), qconv(32, "c1")), "bn0", "batch norm after a binary (sign) value")


def test_refuses_float_activation():
    refused(net(qconv(32, "c1"), keras.layers.Activation("relu", name="act"), qconv(32, "c2")),
            "act", "a float activation ('relu')")
    refused(net(qconv(32, "c1", activation="tanh")), "c1", "activation 'tanh' on a binary layer")


def test_refuses_unsupported_layer_type():
    refused(net(qconv(32, "c1"), head=[keras.layers.GlobalAveragePooling2D(name="gap"), qdense(10, "out")]),
            "gap", "unsupported layer type")


def test_refuses_missing_thermometer():
    refused(net(qconv(32, "c1"), therm=False), "c1", "before any Thermometer")


def test_refuses_float_input_or_kernel_quantizer():
    refused(net(qconv(32, "c1"), qconv(32, "c2", input_quantizer=None)), "c2", "input_quantizer is None")
    refused(net(qconv(32, "c1"), qconv(32, "c2", kernel_quantizer="ste_tern")), "c2", "kernel_quantizer is stetern")


def test_refuses_zero_padding_and_output_bias():
    refused(net(qconv(32, "c1", pad_values=0.0)), "c1", "SAME padding with zeros")
    refused(net(qconv(32, "c1"), head=[keras.layers.Flatten(name="f"), qdense(10, "out", use_bias=True)]),
            "out", "bias")


def test_refuses_pooled_pre_activation_not_followed_by_a_sign():
    refused(net(qconv(32, "c1"), keras.layers.MaxPool2D(2, name="pool")), "pool", "followed by layer 'flat' (Flatten)")


def test_refuses_binary_output_and_float_concat():
    sign = lambda n: keras.layers.Activation(lq.quantizers.SteSign(), name=n)  # noqa: E731
    refused(net(qconv(32, "c1"), head=[keras.layers.Flatten(name="f"), qdense(10, "d"), sign("s")]),
            "s", "the output is a binary (sign) value")
    inp = keras.Input((8, 8, 1))
    t = Thermometer(16, 16)(inp)
    a = qconv(32, "a")(t)
    c = keras.layers.Concatenate(name="cat")([a, t])
    refused(keras.Model(inp, qdense(3, "o")(keras.layers.Flatten()(c))), "cat", "concatenates a binary layer's integer pre-activation")
