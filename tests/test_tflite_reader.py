"""converters/tflite_reader: ops, tensors and custom options of LCE flatbuffers; bad files refused."""

from pathlib import Path

import flatbuffers
import numpy as np
import pytest
from flatbuffers import flexbuffers

from bnn_edge.tfcompat import keras, lq
from converters.errors import FormatError
from converters.tflite_reader import TFLiteError, custom_options, describe_tflite, read_tflite, schema

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


# --- custom options: read with bounds (a flexbuffer "billion laughs" once hung `inspect`) ---

SMALL = Path(__file__).resolve().parents[1] / "firmware" / "fuzz" / "corpus" / "tflite" / "small.tflite"


def _shared_children(depth: int) -> bytes:
    """A flexbuffer of ``depth`` nested 2-vectors whose two entries point at the same child: about
    3 bytes a level, 2^depth leaves when decoded eagerly (a "billion laughs")."""
    b = bytearray([2])
    prev = len(b)
    b += bytes([7, 7, 4, 4])  # the innermost vector: two inline ints
    for _ in range(depth):
        b.append(2)
        start = len(b)
        for _ in range(2):
            b.append(len(b) - prev)  # offset back to the previous vector: both entries share it
        b += bytes([40, 40])  # both typed as vectors (offsets, 1 byte wide)
        prev = start
    b.append(len(b) - prev)
    b += bytes([40, 1])  # root: a vector, 1-byte width
    return bytes(b)


def _with_custom(data: bytes, raw: bytes) -> bytes:
    s = schema()
    m = s.ModelT.InitFromObj(s.Model.GetRootAsModel(data, 0))
    op = next(o for o in m.subgraphs[0].operators if o.customOptions is not None)
    op.customOptions = list(raw)
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def test_equal_to_a_full_decode_on_lce_files():
    s = schema()
    model = s.Model.GetRootAsModel(SMALL.read_bytes(), 0)
    seen = 0
    sg = model.Subgraphs(0)
    for i in range(sg.OperatorsLength()):
        op = sg.Operators(i)
        if op.CustomOptionsLength():
            raw = op.CustomOptionsAsNumpy().tobytes()
            assert custom_options(raw) == dict(flexbuffers.Loads(raw))
            seen += 1
    assert seen >= 2


def test_shared_children_refused_at_once(monkeypatch):
    assert len(flexbuffers.Loads(_shared_children(3))) == 2  # it is a valid flexbuffer
    with pytest.raises(ValueError, match="not a flexbuffer map"):
        custom_options(_shared_children(40))
    data = _with_custom(SMALL.read_bytes(), _shared_children(40))  # 2^40 values, eagerly
    import converters.tflite_reader as tr

    def eager(raw):  # the full decode would never end on this buffer: it must not be called
        raise AssertionError("flexbuffers.Loads called")

    monkeypatch.setattr(tr.flexbuffers, "Loads", eager)
    with pytest.raises(FormatError, match="unreadable custom options .*not a flexbuffer map"):
        read_tflite(data)


@pytest.mark.parametrize("value,match", [
    ({"a": [[1, 2], [3]]}, "nested containers"),
    ({"a": list(range(300))}, "300 values"),
    ({f"k{i}": i for i in range(65)}, "65 keys"),
    ({"a": "x" * 5000}, "bytes"),
])
def test_options_out_of_bounds_refused(value, match):
    with pytest.raises(ValueError, match=match):
        custom_options(flexbuffers.Dumps(value))
