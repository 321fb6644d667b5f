"""Read a TFLite flatbuffer (as written by Larq Compute Engine) into plain Python objects.

Parsing goes through TensorFlow's generated TFLite schema bindings and the ``flatbuffers``
package (``flexbuffers`` for LCE's custom options): nothing here decodes bytes by hand. Any
malformed input becomes :class:`TFLiteError` naming what is wrong.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from flatbuffers import flexbuffers

from converters.errors import FormatError

_schema = None
_SCHEMA_MODULE = "tensorflow.lite.python.schema_py_generated"


def schema():
    """TensorFlow's generated TFLite schema module (``tensorflow/lite/python/schema_py_generated``).

    The file needs only ``flatbuffers``, so it is loaded on its own, without importing TensorFlow
    (no TensorFlow start-up, no dependence on how the application configures it); TensorFlow's
    own copy is used when TensorFlow is already loaded, or when the file is not where expected.
    """
    global _schema
    if _schema is None:
        module = sys.modules.get(_SCHEMA_MODULE)
        tf = importlib.util.find_spec("tensorflow") if module is None else None
        path = Path(tf.submodule_search_locations[0], "lite", "python", "schema_py_generated.py") if (
            tf is not None and tf.submodule_search_locations) else None
        if module is None and path is not None and path.is_file():
            spec = importlib.util.spec_from_file_location("converters._tflite_schema", path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        _schema = module if module is not None else importlib.import_module(_SCHEMA_MODULE)
    return _schema


class TFLiteError(FormatError):
    """The file is not a TFLite flatbuffer this tool can read."""


_NP_TYPES = {
    0: np.float32,  # FLOAT32
    1: np.float16,
    2: np.int32,
    3: np.uint8,
    4: np.int64,
    6: np.bool_,
    7: np.int16,
    9: np.int8,
}


@dataclass
class TFLTensor:
    index: int
    name: str
    shape: tuple[int, ...]
    type: int
    data: np.ndarray | None  # constant buffer, or None for activations

    @property
    def type_name(self) -> str:
        names = {v: k for k, v in vars(schema().TensorType).items() if not k.startswith("_")}
        return names.get(self.type, str(self.type))


@dataclass
class TFLOp:
    index: int
    name: str  # builtin operator name (e.g. FULLY_CONNECTED) or custom code (e.g. LceBconv2d)
    inputs: list[int]  # tensor indices, -1 = optional input absent
    outputs: list[int]
    custom: dict[str, Any] = field(default_factory=dict)  # flexbuffer map of a custom op
    options: dict[str, Any] = field(default_factory=dict)  # builtin options of interest


@dataclass
class TFLGraph:
    tensors: list[TFLTensor]
    ops: list[TFLOp]
    inputs: list[int]
    outputs: list[int]

    def op_names(self) -> list[str]:
        return [op.name for op in self.ops]

    def consumers(self, tensor: int) -> list[TFLOp]:
        return [op for op in self.ops if tensor in op.inputs]

    def producer(self, tensor: int) -> TFLOp | None:
        for op in self.ops:
            if tensor in op.outputs:
                return op
        return None


def _builtin_names() -> dict[int, str]:
    return {v: k for k, v in vars(schema().BuiltinOperator).items() if not k.startswith("_")}


def _builtin_options(op, name: str) -> dict[str, Any]:
    S = schema()
    table = op.BuiltinOptions()
    if table is None:
        return {}
    if name == "DEPTHWISE_CONV_2D":
        o = S.DepthwiseConv2DOptions()
        o.Init(table.Bytes, table.Pos)
        return {
            "padding": o.Padding(),  # 0 SAME, 1 VALID
            "stride_w": o.StrideW(),
            "stride_h": o.StrideH(),
            "depth_multiplier": o.DepthMultiplier(),
            "fused_activation_function": o.FusedActivationFunction(),
            "dilation_w": o.DilationWFactor(),
            "dilation_h": o.DilationHFactor(),
        }
    if name == "FULLY_CONNECTED":
        o = S.FullyConnectedOptions()
        o.Init(table.Bytes, table.Pos)
        return {"fused_activation_function": o.FusedActivationFunction(), "keep_num_dims": bool(o.KeepNumDims())}
    if name == "CONCATENATION":
        o = S.ConcatenationOptions()
        o.Init(table.Bytes, table.Pos)
        return {"axis": o.Axis(), "fused_activation_function": o.FusedActivationFunction()}
    return {}


# Operand signatures of the ops converters/lower.py reads, as TFLite's and LCE's kernels require them:
# name -> (min inputs, max inputs (None: any), leading inputs that must be present, output rank).
# Checked here so that a corrupted file ends in a TFLiteError, not in an IndexError downstream.
_SIGNATURES: dict[str, tuple[int, int | None, int, int | None]] = {
    "LceQuantize": (1, 1, 1, None),
    "LceDequantize": (1, 1, 1, None),
    "LceBconv2d": (5, 5, 2, 4),  # input, filter, post-multiplier, post-bias, output threshold
    "LceBMaxPool2d": (1, 1, 1, 4),
    "DEPTHWISE_CONV_2D": (2, 3, 2, 4),
    "FULLY_CONNECTED": (2, 3, 2, None),
    "CONCATENATION": (1, None, 1, None),
    "RESHAPE": (1, 2, 1, None),
    "SIGN": (1, 1, 1, None),
    "ADD": (2, 2, 2, None),
}
_REQUIRED_CUSTOM = {"LceBMaxPool2d": ("filter_height", "filter_width", "stride_height", "stride_width")}


def _check_signature(k: int, name: str, ins: list[int], outs: list[int], custom: dict[str, Any],
                     tensors: list[TFLTensor]) -> None:
    where = f"op {k} ({name})"
    if any(j < 0 for j in outs):
        raise TFLiteError(f"{where}: output tensor index {min(outs)} out of range")
    if name.startswith("Lce"):
        for key, v in custom.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or abs(v) == float("inf"):
                raise TFLiteError(f"{where}: custom option {key!r} is not a number ({v!r})")
        for key in _REQUIRED_CUSTOM.get(name, ()):
            if key not in custom:
                raise TFLiteError(f"{where}: custom option {key!r} missing")
    sig = _SIGNATURES.get(name)
    if sig is None:
        return
    lo, hi, required, out_rank = sig
    if len(ins) < lo or (hi is not None and len(ins) > hi):
        want = f"{lo}" if lo == hi else f"{lo}..{hi}" if hi is not None else f"at least {lo}"
        raise TFLiteError(f"{where}: {len(ins)} inputs, the op takes {want}")
    if len(outs) != 1:
        raise TFLiteError(f"{where}: {len(outs)} outputs, the op has 1")
    if name == "CONCATENATION":
        required = len(ins)
    if any(j < 0 for j in ins[:required]):
        raise TFLiteError(f"{where}: a required input is absent (tensor index -1)")
    if not tensors[ins[0]].shape:
        raise TFLiteError(f"{where}: input 0 is a scalar")
    if out_rank is not None and len(tensors[outs[0]].shape) != out_rank:
        raise TFLiteError(f"{where}: output has shape {tensors[outs[0]].shape}, expected rank {out_rank}")


#: LCE's custom options are one flexbuffer map of a dozen scalars and short vectors (~300 bytes)
MAX_CUSTOM_OPTION_BYTES = 4096
MAX_CUSTOM_OPTION_KEYS = 64
MAX_CUSTOM_OPTION_VECTOR = 256


def _option_value(ref: flexbuffers.Ref, depth: int = 0) -> Any:
    """A scalar, or (at the top level only) a vector of scalars, of a custom-options map."""
    if ref.IsNull or ref.IsBool or ref.IsInt or ref.IsFloat or ref.IsString:
        return ref.Value
    if depth == 0 and (ref.IsVector or ref.IsTypedVector or ref.IsFixedTypedVector):
        vec = ref.AsVector if ref.IsVector else ref.AsTypedVector if ref.IsTypedVector else ref.AsFixedTypedVector
        if len(vec) > MAX_CUSTOM_OPTION_VECTOR:
            raise ValueError(f"a vector of {len(vec)} values (at most {MAX_CUSTOM_OPTION_VECTOR})")
        return [_option_value(vec[j], 1) for j in range(len(vec))]
    raise ValueError("a value that is not a number, string or flat vector of them (nested containers are refused)")


def custom_options(raw: bytes) -> dict[str, Any]:
    """An op's custom options (a flexbuffer map) as a dict, read lazily with bounds: at most
    :data:`MAX_CUSTOM_OPTION_BYTES` bytes, :data:`MAX_CUSTOM_OPTION_KEYS` keys, values that are
    scalars or flat vectors of at most :data:`MAX_CUSTOM_OPTION_VECTOR` scalars. (``flexbuffers.Loads``
    decodes everything eagerly: 150 bytes of vectors that share their children decode to 2^40
    elements.) ``ValueError`` (or the flexbuffers package's own errors) otherwise."""
    if len(raw) > MAX_CUSTOM_OPTION_BYTES:
        raise ValueError(f"{len(raw)} bytes (at most {MAX_CUSTOM_OPTION_BYTES})")
    root = flexbuffers.GetRoot(raw)
    if not root.IsMap:
        raise ValueError("not a flexbuffer map")
    m = root.AsMap
    if len(m) > MAX_CUSTOM_OPTION_KEYS:
        raise ValueError(f"{len(m)} keys (at most {MAX_CUSTOM_OPTION_KEYS})")
    keys, values = m.Keys, m.Values
    return {keys[i].AsKey: _option_value(values[i]) for i in range(len(m))}


def read_tflite(data: bytes) -> TFLGraph:
    """Parse the first subgraph of a TFLite model: tensors (with constant data), ops, I/O."""
    data = bytes(data)
    if len(data) < 16:
        raise TFLiteError(f"not a TFLite flatbuffer: only {len(data)} bytes")
    if data[4:8] != b"TFL3":
        raise TFLiteError(f"not a TFLite flatbuffer: file identifier {data[4:8]!r} (expected b'TFL3')")
    S = schema()
    try:
        model = S.Model.GetRootAsModel(data, 0)
        if model.SubgraphsLength() < 1:
            raise TFLiteError("TFLite model has no subgraph")
        sg = model.Subgraphs(0)
        # Every vector element takes at least 4 bytes: a larger count is a corrupt length (and would
        # make the loops below run for as long as the garbage it reads happens to decode).
        for what, n in (("tensors", sg.TensorsLength()), ("operators", sg.OperatorsLength()),
                        ("buffers", model.BuffersLength()), ("operator codes", model.OperatorCodesLength())):
            if not 0 <= n <= len(data) // 4:
                raise TFLiteError(f"corrupted TFLite flatbuffer: {n} {what} in {len(data)} bytes")
        names = _builtin_names()
        tensors = []
        for i in range(sg.TensorsLength()):
            t = sg.Tensors(i)
            shape = tuple(int(v) for v in t.ShapeAsNumpy()) if t.ShapeLength() else ()
            arr = None
            buf = model.Buffers(t.Buffer()) if t.Buffer() < model.BuffersLength() else None
            if buf is not None and buf.DataLength() > 0:
                raw = buf.DataAsNumpy().tobytes()
                dt = _NP_TYPES.get(t.Type())
                if dt is None:
                    raise TFLiteError(f"tensor {i}: unsupported constant type {t.Type()}")
                arr = np.frombuffer(raw, dtype=np.dtype(dt).newbyteorder("<"))
                if int(np.prod(shape)) != arr.size:
                    raise TFLiteError(f"tensor {i} ({t.Name()!r}): buffer holds {arr.size} values, shape {shape} needs {int(np.prod(shape))}")
                arr = arr.reshape(shape).astype(dt)
            tensors.append(TFLTensor(i, (t.Name() or b"").decode("utf-8", "replace"), shape, t.Type(), arr))
        ops = []
        for k in range(sg.OperatorsLength()):
            op = sg.Operators(k)
            idx = op.OpcodeIndex()
            if idx >= model.OperatorCodesLength():
                raise TFLiteError(f"op {k}: opcode index {idx} out of range")
            oc = model.OperatorCodes(idx)
            code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
            custom_code = oc.CustomCode()
            name = custom_code.decode("utf-8", "replace") if custom_code else names.get(code, f"BUILTIN_{code}")
            ins = [int(v) for v in op.InputsAsNumpy()] if op.InputsLength() else []
            outs = [int(v) for v in op.OutputsAsNumpy()] if op.OutputsLength() else []
            for j in ins + outs:
                if j >= len(tensors) or j < -1:
                    raise TFLiteError(f"op {k} ({name}): tensor index {j} out of range")
            custom: dict[str, Any] = {}
            if custom_code and op.CustomOptionsLength() > 0:
                raw = op.CustomOptionsAsNumpy().tobytes()
                try:
                    custom = custom_options(raw)
                except Exception as exc:
                    raise TFLiteError(f"op {k} ({name}): unreadable custom options "
                                      f"({exc.__class__.__name__}: {str(exc)[:120]})") from None
            _check_signature(k, name, ins, outs, custom, tensors)
            ops.append(TFLOp(k, name, ins, outs, custom, _builtin_options(op, name)))
        g_in = [int(v) for v in sg.InputsAsNumpy()]
        g_out = [int(v) for v in sg.OutputsAsNumpy()]
    except TFLiteError:
        raise
    except Exception as exc:  # flatbuffers raises IndexError/struct.error/... on corrupt input
        raise TFLiteError(f"corrupted TFLite flatbuffer ({exc.__class__.__name__}: {str(exc)[:120]})") from None
    for j in g_in + g_out:
        if not 0 <= j < len(tensors):
            raise TFLiteError(f"graph input/output tensor index {j} out of range")
    return TFLGraph(tensors, ops, g_in, g_out)


def describe_tflite(data: bytes) -> dict[str, Any]:
    """A JSON-able summary for ``bnn-edge inspect``: ops with their custom options, I/O shapes."""
    g = read_tflite(data)
    return {
        "format": "tflite",
        "size_bytes": len(data),
        "inputs": [{"name": g.tensors[i].name, "shape": list(g.tensors[i].shape), "type": g.tensors[i].type_name} for i in g.inputs],
        "outputs": [{"name": g.tensors[i].name, "shape": list(g.tensors[i].shape), "type": g.tensors[i].type_name} for i in g.outputs],
        "ops": [
            {
                "index": op.index,
                "op": op.name,
                "inputs": [list(g.tensors[i].shape) if i >= 0 else None for i in op.inputs],
                "outputs": [list(g.tensors[i].shape) for i in op.outputs],
                **({"custom_options": {k: v for k, v in op.custom.items()}} if op.custom else {}),
                **({"options": op.options} if op.options else {}),
            }
            for op in g.ops
        ],
        "op_counts": {name: g.op_names().count(name) for name in sorted(set(g.op_names()))},
    }
