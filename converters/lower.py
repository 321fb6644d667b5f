"""Lower an LCE TFLite graph to a ``.bnnpack`` (see FORMAT.md): binary ops only, integer only.

What LCE emits and what it becomes here:

==========================================  ==============================================
LCE / TFLite                                pack
==========================================  ==============================================
graph input -> ``LceQuantize``              ``THERMO_ENCODE`` (pixels in, parameters given)
``LceBconv2d`` (int32 = bit-packed output)  ``BCONV2D`` BITS out, LCE's integer thresholds
``LceBconv2d`` (float output)               ``BCONV2D`` INT32 out (``y = K - 2 accum``)
``LceBMaxPool2d``                           ``BMAXPOOL2D`` (AND of the window)
``LceDequantize`` -> ``DEPTHWISE_CONV_2D``  ``BDEPTHWISE2D`` (weights must be ``±s_c``)
``LceDequantize`` -> ``FULLY_CONNECTED``    ``BDENSE`` (weights must be ``±s_o``)
``CONCATENATION`` of dequantized bits       ``CONCAT`` (bits)
float op -> ``LceQuantize``                 the float op's output becomes BITS: with
                                            ``v = s*y + b`` (``s > 0``), ``v < 0`` iff
                                            ``accum > thr``, ``thr`` from ``K``, ``b/s``
``SIGN`` -> ``ADD`` (c in (0,1))            larq's ste_sign ``sign(sign(x) + 0.1)``: bits
``RESHAPE``                                 nothing (the packed layout is already flat)
==========================================  ==============================================

A float weight ``w`` of a binary layer is stored as the bit ``w < 0`` and its magnitude
``s = |w|`` must be the same for every input of an output channel: then
``sum(w x) = s * (K - 2 * popcount(x ^ bits(w)))`` exactly. Anything else is refused with a
:class:`LoweringError` that names the op, its index, the layer it came from and what to change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from converters import bnnpack as bp
from converters.bitpack import pack_bits
from converters.errors import FormatError
from converters.ops import OP_RULES, DType, OpCode, Padding
from converters.tflite_reader import TFLGraph, TFLOp

SUPPORTED = (
    "LceQuantize", "LceDequantize", "LceBconv2d", "LceBMaxPool2d",
    "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "CONCATENATION", "RESHAPE", "SIGN", "ADD",
)


class LoweringError(FormatError):
    """The graph holds something the Cortex-M pack cannot express."""


def layer_of(tensor_name: str) -> str:
    """Best guess of the Keras layer a TFLite tensor came from (``<model name>/<layer>/...``)."""
    parts = tensor_name.split(";")[0].split("/")
    return parts[1] if len(parts) > 1 else parts[0]


@dataclass
class Thermo:
    """The input encoding the exporter took out of the graph: pixels ``[h,w,c]`` -> ``c*levels`` bits."""

    h: int
    w: int
    c: int
    levels: int
    thresholds: list[int]


@dataclass
class _Val:
    kind: str  # "bits" | "pm1" (float ±1 view of bits) | "int" (integer y; float value s*y + b) | "signz" (sign(y), 0 at 0)
    tid: int  # pack tensor id
    op: int | None = None  # pack op that writes it (for "int")
    scale: np.ndarray | None = None
    bias: np.ndarray | None = None
    k: int = 0  # real taps per output (K)


@dataclass
class Lowered:
    pack: bp.Pack
    logit_scale: list[float]
    tflite_ops: list[str]
    notes: list[str] = field(default_factory=list)


def _err(op: TFLOp, g: TFLGraph, msg: str, fix: str = "") -> LoweringError:
    t = g.tensors[op.outputs[0]].name if op.outputs else ""
    where = f"op {op.index} {op.name} (layer '{layer_of(t)}')"
    return LoweringError(f"{where}: {msg}" + (f"; {fix}" if fix else ""))


def _sign_magnitude(w: np.ndarray, axis_out: int, op: TFLOp, g: TFLGraph) -> tuple[np.ndarray, np.ndarray]:
    """Split float weights into bits (``w < 0``) and one magnitude per output channel."""
    w = np.asarray(w, np.float64)
    mag = np.abs(np.moveaxis(w, axis_out, 0)).reshape(w.shape[axis_out], -1)
    s = mag.max(axis=1)
    if np.any(s <= 0) or not np.allclose(mag, s[:, None], rtol=1e-5, atol=0):
        raise _err(op, g, "weights are not binary (±s per output channel)",
                   "binarize the layer's kernel (larq kernel_quantizer='ste_sign')")
    return w < 0, s


class _Builder:
    def __init__(self, g: TFLGraph, thermo: Thermo):
        self.g = g
        self.thermo = thermo
        self.tensors: list[bp.TensorSpec] = []
        self.ops: list[bp.OpSpec] = []
        self.vals: dict[int, _Val] = {}
        self.input_tid: int | None = None

    def new_tensor(self, dtype: int, h: int, w: int, c: int) -> int:
        self.tensors.append(bp.TensorSpec(dtype, h, w, c))
        return len(self.tensors) - 1

    def shape(self, tid: int) -> tuple[int, int, int]:
        return self.tensors[tid].shape

    def val(self, op: TFLOp, j: int = 0) -> _Val:
        idx = op.inputs[j]
        if idx not in self.vals:
            raise _err(op, self.g, f"input {j} ('{self.g.tensors[idx].name}') is not produced by a supported op")
        return self.vals[idx]

    def bits_of(self, op: TFLOp, j: int = 0) -> int:
        v = self.val(op, j)
        if v.kind == "signz":
            raise _err(op, self.g, "input is sign(x) with sign(0) = 0, not binary", "use larq's ste_sign")
        if v.kind == "int":
            raise _err(op, self.g, "input is a float pre-activation, not binary",
                       "binarize the layer's input (larq input_quantizer='ste_sign')")
        return v.tid

    # -- op lowerings -----------------------------------------------------------------------

    def quantize(self, op: TFLOp) -> None:
        src = op.inputs[0]
        if src in self.g.inputs:
            t = self.thermo
            if self.g.tensors[src].shape[-1] != t.c * t.levels:
                raise _err(op, self.g, f"graph input has {self.g.tensors[src].shape[-1]} channels, "
                           f"the thermometer gives {t.c}x{t.levels}")
            pix = self.new_tensor(DType.UINT8, t.h, t.w, t.c)
            out = self.new_tensor(DType.BITS, t.h, t.w, t.c * t.levels)
            self.ops.append(bp.OpSpec(OpCode.THERMO_ENCODE, pix, None, out, [t.levels], thresholds=np.array(t.thresholds, np.int32)))
            self.input_tid = pix
            self.vals[op.outputs[0]] = _Val("bits", out)
            return
        v = self.val(op)
        if v.kind in ("bits", "pm1"):
            self.vals[op.outputs[0]] = _Val("bits", v.tid)
            return
        if v.kind == "signz":
            raise _err(op, self.g, "input is sign(x) with sign(0) = 0, not binary", "use larq's ste_sign")
        self.vals[op.outputs[0]] = _Val("bits", self.binarize(op, src, v))

    def binarize(self, op: TFLOp, src: int, v: _Val) -> int:
        """Turn the float pre-activation ``v`` (TFLite tensor ``src``) into BITS, once.

        Every consumer of ``src`` must only take its sign (LceQuantize, or SIGN as larq's
        ``ste_sign`` writes it): then the producer's output can become thresholded BITS.
        """
        if v.kind == "bits":
            return v.tid
        others = [c for c in self.g.consumers(src) if c.name not in ("LceQuantize", "SIGN")]
        if others:
            raise _err(op, self.g, f"the float pre-activation is also used by {others[0].name} (op {others[0].index})",
                       "use only its sign")
        producer = self.ops[v.op]
        c = self.shape(v.tid)[2]
        s = np.broadcast_to(v.scale, (c,)).astype(np.float64)
        b = np.zeros(c) if v.bias is None else np.broadcast_to(v.bias, (c,)).astype(np.float64)
        # bit = 1 iff s*y + b < 0 iff y < t (t = -b/s) iff y <= ceil(t) - 1, with y = K - 2*accum
        t = -b / s
        yc = np.ceil(t) - 1
        thr = np.ceil((v.k - yc) / 2.0) - 1  # accum > thr  <=>  accum >= ceil((K - yc)/2)
        thr = np.clip(thr, bp.INT32_MIN, bp.INT32_MAX).astype(np.int64)
        h, w, _ = self.shape(v.tid)
        self.tensors[v.tid] = bp.TensorSpec(DType.BITS, h, w, c)
        producer.thresholds = thr.astype(np.int32)
        for tensor, val in self.vals.items():  # every alias of the pre-activation is now bits
            if val.tid == v.tid:
                self.vals[tensor] = _Val("bits", v.tid)
        return v.tid

    def sign(self, op: TFLOp) -> None:
        """``SIGN`` (larq's ste_sign is ``sign(sign(x) + 0.1)``): sign(0) = 0 until an ADD lifts it."""
        v = self.val(op)
        if v.kind in ("bits", "pm1"):
            self.vals[op.outputs[0]] = _Val("pm1", v.tid)
            return
        if v.kind == "signz":
            raise _err(op, self.g, "sign of a sign")
        tid = self.binarize(op, op.inputs[0], v)
        self.vals[op.outputs[0]] = _Val("signz", tid)

    def add(self, op: TFLOp) -> None:
        """``sign(y) + c`` with a constant ``0 < c < 1``: positive exactly when ``y >= 0``, so ±1 after sign."""
        if len(op.inputs) != 2:
            raise _err(op, self.g, "ADD needs two inputs")
        consts = [self.g.tensors[i].data for i in op.inputs]
        j = 0 if consts[1] is not None else 1
        cval = consts[1 - j]
        v = self.vals.get(op.inputs[j])
        if cval is None or v is None or v.kind != "signz" or cval.size != 1 or not 0 < float(cval.reshape(-1)[0]) < 1:
            raise _err(op, self.g, "only sign(x) + c with a constant 0 < c < 1 (larq's ste_sign) is supported")
        self.vals[op.outputs[0]] = _Val("pm1", v.tid)

    def dequantize(self, op: TFLOp) -> None:
        self.vals[op.outputs[0]] = _Val("pm1", self.bits_of(op))

    def reshape(self, op: TFLOp) -> None:
        v = self.val(op)
        h, w, c = self.shape(v.tid)
        out_shape = self.g.tensors[op.outputs[0]].shape
        if int(np.prod(out_shape[1:])) != h * w * c:
            raise _err(op, self.g, f"reshape of {h}x{w}x{c} to {out_shape}")
        if v.kind != "int" and not (h * w == 1 or c % 32 == 0):
            raise _err(op, self.g, f"flattening {h}x{w}x{c} bits needs a channel count that is a multiple of 32")
        self.vals[op.outputs[0]] = v

    def bconv2d(self, op: TFLOp) -> None:
        o = op.custom
        x = self.bits_of(op)
        h, w, cin = self.shape(x)
        if int(o.get("channels_in", cin)) != cin:
            raise _err(op, self.g, f"channels_in {o.get('channels_in')} but the input has {cin}")
        filt = self.g.tensors[op.inputs[1]].data
        if filt is None or filt.dtype != np.int32 or filt.ndim != 4:
            raise _err(op, self.g, "filter is not a constant bit-packed int32 OHWI tensor")
        cout, kh, kw, fw = filt.shape
        if fw == bp.words(cin):
            groups = 1
        elif cin % (32 * fw) == 0:
            groups = cin // (32 * fw)
        else:
            raise _err(op, self.g, f"filter has {fw} words per tap for {cin} input channels")
        padding = int(o.get("padding", 1))
        if padding == 0 and int(o.get("pad_values", 0)) != 1:
            raise _err(op, self.g, "SAME padding with zeros", "use pad_values=1.0 (one-padding) or padding='valid'")
        params = [kh, kw, int(o.get("stride_height", 1)), int(o.get("stride_width", 1)),
                  int(o.get("dilation_height_factor", 1)), int(o.get("dilation_width_factor", 1)),
                  Padding.SAME if padding == 0 else Padding.VALID, groups]
        out_t = self.g.tensors[op.outputs[0]]
        ho, wo = out_t.shape[1], out_t.shape[2]
        K = kh * kw * (cin // groups)
        if out_t.type == 2:  # int32: bit-packed output with thresholds
            thr = self.g.tensors[op.inputs[4]].data if len(op.inputs) > 4 and op.inputs[4] >= 0 else None
            if thr is None:
                raise _err(op, self.g, "bit-packed output without an output_threshold tensor")
            out = self.new_tensor(DType.BITS, ho, wo, cout)
            self.ops.append(bp.OpSpec(OpCode.BCONV2D, x, None, out, params, weights=filt.view(np.uint32), thresholds=thr.astype(np.int32)))
            self.vals[op.outputs[0]] = _Val("bits", out)
            return
        if int(o.get("fused_activation_function", 0)) != 0:
            raise _err(op, self.g, "fused activation on a float-output binary convolution")
        mul = self.g.tensors[op.inputs[2]].data if op.inputs[2] >= 0 else None
        bias = self.g.tensors[op.inputs[3]].data if op.inputs[3] >= 0 else None
        mul = np.ones(cout) if mul is None else mul.astype(np.float64).reshape(-1)
        bias = None if bias is None else bias.astype(np.float64).reshape(-1)
        for name, arr in (("multiplier", mul), ("bias", bias)):
            if arr is not None and (arr.size not in (1, cout) or not np.all(np.isfinite(arr))):
                raise _err(op, self.g, f"post-activation {name} must hold 1 or {cout} finite values")
        if np.any(mul <= 0):
            raise _err(op, self.g, "non-positive output multiplier")
        out = self.new_tensor(DType.INT32, ho, wo, cout)
        self.ops.append(bp.OpSpec(OpCode.BCONV2D, x, None, out, params, weights=filt.view(np.uint32)))
        self.vals[op.outputs[0]] = _Val("int", out, len(self.ops) - 1, mul, bias, K)

    def bmaxpool(self, op: TFLOp) -> None:
        o = op.custom
        if int(o.get("padding", 1)) != 1:
            raise _err(op, self.g, "SAME padding in binary max-pooling", "use padding='valid'")
        x = self.bits_of(op)
        out_t = self.g.tensors[op.outputs[0]]
        c = self.shape(x)[2]
        out = self.new_tensor(DType.BITS, out_t.shape[1], out_t.shape[2], c)
        params = [int(o["filter_height"]), int(o["filter_width"]), int(o["stride_height"]), int(o["stride_width"]), Padding.VALID]
        self.ops.append(bp.OpSpec(OpCode.BMAXPOOL2D, x, None, out, params))
        self.vals[op.outputs[0]] = _Val("bits", out)

    def _bias(self, op: TFLOp, j: int, n: int) -> np.ndarray | None:
        if len(op.inputs) <= j or op.inputs[j] < 0:
            return None
        b = self.g.tensors[op.inputs[j]].data
        if b is None:
            raise _err(op, self.g, "bias is not a constant")
        b = b.astype(np.float64).reshape(-1)
        if b.size not in (1, n) or not np.all(np.isfinite(b)):
            raise _err(op, self.g, f"bias must hold 1 or {n} finite values")
        return None if not np.any(b) else b

    def depthwise(self, op: TFLOp) -> None:
        o = op.options
        x = self.bits_of(op)
        h, w, c = self.shape(x)
        if o.get("depth_multiplier", 1) != 1:
            raise _err(op, self.g, "depth multiplier > 1")
        if o.get("padding") != 1:
            raise _err(op, self.g, "SAME (zero) padding in a depthwise convolution", "use padding='valid'")
        if o.get("dilation_h", 1) != 1 or o.get("dilation_w", 1) != 1:
            raise _err(op, self.g, "dilated depthwise convolution")
        if o.get("fused_activation_function", 0) != 0:
            raise _err(op, self.g, "fused activation")
        wt = self.g.tensors[op.inputs[1]].data
        if wt is None or wt.ndim != 4 or wt.shape[3] != c:
            raise _err(op, self.g, "depthwise weights are not a constant [1, kh, kw, C] tensor")
        bits, s = _sign_magnitude(wt[0], 2, op, self.g)  # [kh, kw, C]
        kh, kw = wt.shape[1], wt.shape[2]
        out_t = self.g.tensors[op.outputs[0]]
        out = self.new_tensor(DType.INT32, out_t.shape[1], out_t.shape[2], c)
        params = [kh, kw, o.get("stride_h", 1), o.get("stride_w", 1), Padding.VALID]
        self.ops.append(bp.OpSpec(OpCode.BDEPTHWISE2D, x, None, out, params, weights=pack_bits(bits)))
        self.vals[op.outputs[0]] = _Val("int", out, len(self.ops) - 1, s, self._bias(op, 2, c), kh * kw)

    def dense(self, op: TFLOp) -> None:
        if op.options.get("fused_activation_function", 0) != 0:
            raise _err(op, self.g, "fused activation on a binary dense layer")
        x = self.bits_of(op)
        h, w, c = self.shape(x)
        cin = h * w * c
        wt = self.g.tensors[op.inputs[1]].data
        if wt is None or wt.ndim != 2 or wt.shape[1] != cin:
            raise _err(op, self.g, f"weights are not a constant [Cout, {cin}] matrix")
        bits, s = _sign_magnitude(wt, 0, op, self.g)  # [Cout, Cin]
        cout = wt.shape[0]
        out = self.new_tensor(DType.INT32, 1, 1, cout)
        self.ops.append(bp.OpSpec(OpCode.BDENSE, x, None, out, [cin, cout], weights=pack_bits(bits)))
        self.vals[op.outputs[0]] = _Val("int", out, len(self.ops) - 1, s, self._bias(op, 2, cout), cin)

    def concat(self, op: TFLOp) -> None:
        axis = op.options.get("axis", -1)
        rank = len(self.g.tensors[op.outputs[0]].shape)
        if axis not in (-1, rank - 1):
            raise _err(op, self.g, f"concatenation on axis {axis}", "concatenate channels (last axis)")
        if op.options.get("fused_activation_function", 0) != 0:
            raise _err(op, self.g, "fused activation")
        tids = [self.bits_of(op, j) for j in range(len(op.inputs))]
        cur = tids[0]
        for nxt in tids[1:]:
            h, w, ca = self.shape(cur)
            h2, w2, cb = self.shape(nxt)
            if (h, w) != (h2, w2):
                raise _err(op, self.g, f"concatenating {h}x{w} with {h2}x{w2}")
            out = self.new_tensor(DType.BITS, h, w, ca + cb)
            self.ops.append(bp.OpSpec(OpCode.CONCAT, cur, nxt, out, []))
            cur = out
        self.vals[op.outputs[0]] = _Val("pm1", cur)


def lower(g: TFLGraph, thermo: Thermo, latent_hint: str = "latent", meta: dict[str, Any] | None = None) -> Lowered:
    """Lower ``g`` (whose input is the thermometer's ±1 output) to a validated, arena-planned pack."""
    if len(g.inputs) != 1 or len(g.outputs) != 1:
        raise LoweringError(f"the graph must have one input and one output (has {len(g.inputs)} and {len(g.outputs)})")
    b = _Builder(g, thermo)
    table = {
        "LceQuantize": b.quantize, "LceDequantize": b.dequantize, "LceBconv2d": b.bconv2d,
        "LceBMaxPool2d": b.bmaxpool, "DEPTHWISE_CONV_2D": b.depthwise, "FULLY_CONNECTED": b.dense,
        "CONCATENATION": b.concat, "RESHAPE": b.reshape, "SIGN": b.sign, "ADD": b.add,
    }
    for op in g.ops:
        fn = table.get(op.name)
        if fn is None:
            raise _err(op, g, "has no Cortex-M lowering",
                       f"supported: {', '.join(SUPPORTED)}; build the network from bnn-edge's layers "
                       "(binary conv/depthwise/dense, max-pool, concatenate)")
        fn(op)
    if b.input_tid is None:
        raise LoweringError("the graph does not start with LceQuantize of its input (no thermometer input found)")
    out_v = b.vals.get(g.outputs[0])
    if out_v is None:
        raise LoweringError("the graph output is not produced by a supported op")
    if out_v.kind == "int":
        if out_v.bias is not None:
            raise _err(g.producer(g.outputs[0]) or g.ops[-1], g, "the output layer has a bias, which integer logits cannot carry",
                       "use use_bias=False")
        c = b.shape(out_v.tid)[2]
        logit_scale = [float(v) for v in np.broadcast_to(out_v.scale, (c,))]
    else:
        logit_scale = []
    latent = bp.NO_TENSOR
    for op in g.ops:
        if op.name == "LceQuantize" and latent_hint and latent_hint in g.tensors[op.outputs[0]].name:
            latent = b.vals[op.outputs[0]].tid
    if latent == bp.NO_TENSOR:
        for spec in b.ops:
            if spec.type == OpCode.CONCAT:
                latent = spec.in0
                break
    keep = [out_v.tid] + ([latent] if latent != bp.NO_TENSOR else [])
    tensors, arena = bp.plan_arena(b.tensors, b.ops, input_tensor=b.input_tid, keep=keep)
    meta = dict(meta or {})
    meta.setdefault("logit_scale", logit_scale)
    pack = bp.Pack(tensors, b.ops, b.input_tid, latent, out_v.tid, arena, 0, meta)
    bp.validate_pack(pack)
    return Lowered(pack, logit_scale, g.op_names())


def binary_weight_bits(pack: bp.Pack) -> int:
    """Real binary weights of a pack (1 bit each, padding bits of the packed words excluded)."""
    total = 0
    for op in pack.ops:
        rule = OP_RULES[op.type]
        total += rule.weight_bits(op.named_params(), pack.tensors[op.in0].shape, pack.tensors[op.out].shape)
    return total
