"""Op codes, dtypes and the per-op rules of the pack format: one table row per op (FORMAT.md).

* :class:`DType`, :class:`OpCode`, :class:`Padding` — the numeric codes stored in a pack
  (``IntEnum``: they compare, hash and serialise as the plain integers of the file);
* :data:`DTYPES` — per dtype: storage element, channel packing, hence the storage size;
* :data:`OP_RULES` — per op, keyed by :class:`OpCode`: the meaning of ``params[i]``, the dtypes
  its inputs and output may have, which params must be positive, and the functions giving its
  output shape, its weight and threshold lengths, the channels of a weight row (for the tail-bit
  check), extra data checks and its count of real binary weights.

:mod:`converters.bnnpack` (validation, writing, reading, inspection) and
:mod:`converters.lower` use only this table: adding an op is one :class:`OpCode` member and one
:class:`OpRule` row here (plus its kernel, its simulator module and its golden cases).
The firmware's ``bnn/bnn_constants.h`` is generated from these codes (and checked against them).

Shape arithmetic follows TensorFlow (SAME/VALID, dilation); every failing check raises
:class:`~converters.errors.PackError` with a one-line message naming the op and the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Callable, Mapping, Sequence

import numpy as np

from converters.bitpack import words
from converters.errors import PackError

__all__ = [
    "DType",
    "OpCode",
    "Padding",
    "DTypeRule",
    "DTYPES",
    "OpRule",
    "OP_RULES",
    "Shape",
    "dtype_rule",
    "op_rule",
    "op_name",
    "dtype_choices",
    "op_code_range",
    "conv_output_size",
    "same_padding",
]

Shape = tuple[int, int, int]
"""A logical tensor shape ``(h, w, c)``."""


class DType(IntEnum):
    """Tensor dtype codes (tensor table field ``dtype``)."""

    BITS = 0
    INT32 = 1
    UINT8 = 2


class OpCode(IntEnum):
    """Op type codes (op table field ``type``); ops run in table order."""

    THERMO_ENCODE = 1
    BCONV2D = 2
    BMAXPOOL2D = 3
    BDEPTHWISE2D = 4
    BDENSE = 5
    CONCAT = 6


class Padding(IntEnum):
    """The ``padding`` param of the spatial ops."""

    SAME = 0
    """SAME padding as TensorFlow computes it, out-of-bounds taps read +1 (bit 0): "one-padding"."""
    VALID = 1


# --------------------------------------------------------------------------------------------
# Dtypes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DTypeRule:
    """How one dtype is stored.

    ``storage`` is the little-endian numpy dtype of the stored elements and ``native`` the
    simulator's numpy type; a ``packed`` dtype holds 32 channels per u32 word, so a pixel of
    ``c`` channels stores ``words(c)`` elements, otherwise ``c``. Storage size:
    ``h*w*storage_channels(c)*itemsize`` rounded up to a multiple of 4 bytes.
    """

    code: DType
    storage: str
    native: type
    packed: bool
    doc: str

    @property
    def name(self) -> str:
        return self.code.name

    def storage_channels(self, c: int) -> int:
        """Stored elements per pixel: ``words(c)`` when packed, else ``c``."""
        return words(c) if self.packed else int(c)

    def size_bytes(self, h: int, w: int, c: int) -> int:
        """Storage size of ``[h, w, c]``: ``h*w*storage_channels(c)*itemsize``, rounded up to 4."""
        n = h * w * self.storage_channels(c) * np.dtype(self.storage).itemsize
        return (n + 3) // 4 * 4


DTYPES: Mapping[DType, DTypeRule] = {
    r.code: r
    for r in (
        DTypeRule(DType.BITS, "<u4", np.uint32, True,
                  "packed u32 words, bit 1 = -1, channel k = bit k%32 of word k/32"),
        DTypeRule(DType.INT32, "<i4", np.int32, False, "int32 per element"),
        DTypeRule(DType.UINT8, "u1", np.uint8, False,
                  "uint8 per element, storage padded to a multiple of 4 bytes"),
    )
}


def dtype_choices() -> str:
    """``"0=BITS, 1=INT32, 2=UINT8"`` (for error messages)."""
    return ", ".join(f"{int(d)}={d.name}" for d in DTYPES)


def dtype_rule(dtype: int, what: str = "") -> DTypeRule:
    """The :class:`DTypeRule` of ``dtype``; :class:`PackError` ``"<what>: unknown dtype ..."`` otherwise."""
    rule = DTYPES.get(dtype)  # type: ignore[call-overload]
    if rule is None:
        prefix = f"{what}: " if what else ""
        raise PackError(f"{prefix}unknown dtype {dtype} (expected {dtype_choices()})")
    return rule


# --------------------------------------------------------------------------------------------
# Shape arithmetic
# --------------------------------------------------------------------------------------------


def conv_output_size(size: int, k: int, stride: int, dilation: int, padding: int) -> int:
    """Output length along one axis (TensorFlow rules).

    SAME: ``ceil(size / stride)``; VALID: ``(size - (k-1)*dilation - 1) // stride + 1`` (may be
    ``<= 0`` when the dilated kernel is larger than the input: the caller rejects that).
    """
    if padding == Padding.SAME:
        return -(-size // stride)
    return (size - (k - 1) * dilation - 1) // stride + 1


def same_padding(size: int, k: int, stride: int, dilation: int) -> tuple[int, int]:
    """``(pad_before, pad_after)`` of SAME padding along one axis, as TensorFlow computes it.

    ``out = ceil(size/stride)``, ``total = max((out-1)*stride + (k-1)*dilation + 1 - size, 0)``,
    ``before = total // 2``, ``after = total - before`` (the extra pad goes after).
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + (k - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _spatial(
    label: str, h: int, w: int, kh: int, kw: int, sh: int, sw: int, dh: int, dw: int, padding: int
) -> tuple[int, int]:
    if padding not in (Padding.SAME, Padding.VALID):
        raise PackError(f"{label}: padding {padding}, expected 0 (SAME) or 1 (VALID)")
    ho = conv_output_size(h, kh, sh, dh, padding)
    wo = conv_output_size(w, kw, sw, dw, padding)
    if ho < 1 or wo < 1:
        raise PackError(
            f"{label}: VALID window {(kh - 1) * dh + 1}x{(kw - 1) * dw + 1} does not fit the {h}x{w} input"
        )
    return ho, wo


# --------------------------------------------------------------------------------------------
# The per-op rules
# --------------------------------------------------------------------------------------------

Named = Mapping[str, int]
ShapeFn = Callable[[str, Named, Sequence[Shape], "int | None", int], Shape]
"""``(label, named params, input shapes, cout or None, weight words given) -> output shape``."""


def _no_weights(named: Named, in_shape: Shape, out_shape: Shape) -> tuple[int, str]:
    return 0, "takes no weights"


def _no_thresholds(named: Named, out_dtype: int, out_shape: Shape) -> tuple[int, str]:
    return 0, "takes none"


def _no_weight_bits(named: Named, in_shape: Shape, out_shape: Shape) -> int:
    return 0


def _binary_thresholds(named: Named, out_dtype: int, out_shape: Shape) -> tuple[int, str]:
    """The binary ops' output modes: ``c_out`` thresholds for a BITS output, none for INT32."""
    if out_dtype == DType.BITS:
        return out_shape[2], f"c_out={out_shape[2]}, BITS output"
    return 0, "INT32 output takes none"


@dataclass(frozen=True)
class OpRule:
    """Everything the Python side knows about one op type (one row of :data:`OP_RULES`).

    ``params``: the meaning of ``params[i]`` (the rest are unused and written as 0);
    ``inputs``: per input (``in0``, then ``in1`` when there are two) the dtypes allowed;
    ``output``: the dtypes the out tensor may have; ``positive``: params that must be >= 1;
    ``shape``: the output shape from the input shapes (checking the params);
    ``weights`` / ``thresholds``: the exact number of u32 weight words / i32 thresholds and the
    formula as text; ``weight_row_channels``: channels covered by each row of ``words(..)``
    weight words (their tail bits must be 0); ``check_data``: further checks of the data;
    ``weight_bits``: real binary weights (1 bit each, padding bits excluded); ``doc``: one line.
    """

    code: OpCode
    params: tuple[str, ...]
    inputs: tuple[tuple[DType, ...], ...]
    output: tuple[DType, ...]
    positive: tuple[str, ...]
    shape: ShapeFn
    doc: str
    weights: Callable[[Named, Shape, Shape], tuple[int, str]] = _no_weights
    thresholds: Callable[[Named, int, Shape], tuple[int, str]] = _no_thresholds
    weight_row_channels: Callable[[Named, Shape], int] | None = None
    check_data: Callable[[str, "np.ndarray | None", "np.ndarray | None"], None] | None = None
    weight_bits: Callable[[Named, Shape, Shape], int] = _no_weight_bits

    @property
    def name(self) -> str:
        """``"BCONV2D"``..."""
        return self.code.name

    @property
    def n_inputs(self) -> int:
        """1, or 2 when the op reads ``in1``."""
        return len(self.inputs)


# -- 1 THERMO_ENCODE --------------------------------------------------------------------------


def _thermo_shape(label: str, named: Named, ins: Sequence[Shape], cout: int | None, n_w: int) -> Shape:
    h, w, c = ins[0]
    return (h, w, c * named["levels"])


def _thermo_check(label: str, weights: np.ndarray | None, thresholds: np.ndarray | None) -> None:
    t = np.asarray(thresholds).astype(np.int64)
    if t.min() < 0 or t.max() > 255:
        raise PackError(f"{label}: thresholds must be u8-valued (0..255), got {int(t.min())}..{int(t.max())}")
    if np.any(np.diff(t) < 0):
        raise PackError(f"{label}: thresholds must be non-decreasing")


# -- 2 BCONV2D --------------------------------------------------------------------------------


def _conv_groups(label: str, cin: int, named: Named) -> int:
    groups = named["groups"]
    if cin % groups:
        raise PackError(f"{label}: cin {cin} is not a multiple of groups {groups}")
    cin_g = cin // groups
    if groups > 1 and cin_g % 32:
        raise PackError(f"{label}: cin/groups = {cin_g} must be a multiple of 32 when groups > 1")
    return cin_g


def _bconv_shape(label: str, named: Named, ins: Sequence[Shape], cout: int | None, n_w: int) -> Shape:
    h, w, c = ins[0]
    cin_g = _conv_groups(label, c, named)
    kh, kw = named["kh"], named["kw"]
    if cout is None:
        per = kh * kw * words(cin_g)
        if n_w == 0 or n_w % per:
            raise PackError(
                f"{label}: cannot infer cout: {n_w} weight words is not a positive multiple of "
                f"kh*kw*words(cin_g) = {per}"
            )
        cout = n_w // per
    if cout < 1 or cout % named["groups"]:
        raise PackError(f"{label}: cout {cout} is not a positive multiple of groups {named['groups']}")
    ho, wo = _spatial(label, h, w, kh, kw, named["stride_h"], named["stride_w"],
                      named["dilation_h"], named["dilation_w"], named["padding"])
    return (ho, wo, int(cout))


def _bconv_weights(named: Named, in_shape: Shape, out_shape: Shape) -> tuple[int, str]:
    groups = max(named["groups"], 1)
    cin_g = in_shape[2] // groups
    n = out_shape[2] * named["kh"] * named["kw"] * words(cin_g)
    return n, f"cout={out_shape[2]} x kh={named['kh']} x kw={named['kw']} x words(cin_g={cin_g})={words(cin_g)}"


# -- 3 BMAXPOOL2D -----------------------------------------------------------------------------


def _bmaxpool_shape(label: str, named: Named, ins: Sequence[Shape], cout: int | None, n_w: int) -> Shape:
    h, w, c = ins[0]
    if named["padding"] != Padding.VALID:
        raise PackError(f"{label}: padding {named['padding']}, expected 1 (VALID; the only padding in v1)")
    ho, wo = _spatial(label, h, w, named["kh"], named["kw"], named["stride_h"], named["stride_w"], 1, 1,
                      Padding.VALID)
    return (ho, wo, c)


# -- 4 BDEPTHWISE2D ---------------------------------------------------------------------------


def _bdepthwise_shape(label: str, named: Named, ins: Sequence[Shape], cout: int | None, n_w: int) -> Shape:
    h, w, c = ins[0]
    ho, wo = _spatial(label, h, w, named["kh"], named["kw"], named["stride_h"], named["stride_w"], 1, 1,
                      named["padding"])
    return (ho, wo, c)


def _bdepthwise_weights(named: Named, in_shape: Shape, out_shape: Shape) -> tuple[int, str]:
    n = named["kh"] * named["kw"] * words(in_shape[2])
    return n, f"kh={named['kh']} x kw={named['kw']} x words(c={in_shape[2]})={words(in_shape[2])}"


# -- 5 BDENSE ---------------------------------------------------------------------------------


def _bdense_shape(label: str, named: Named, ins: Sequence[Shape], cout: int | None, n_w: int) -> Shape:
    h, w, c = ins[0]
    if named["cin"] != h * w * c:
        raise PackError(f"{label}: param cin {named['cin']}, expected h*w*c = {h}*{w}*{c} = {h * w * c}")
    if h * w != 1 and c % 32:
        raise PackError(
            f"{label}: input [{h},{w},{c}] is not a packed flat vector (needs h*w == 1 or c % 32 == 0)"
        )
    return (1, 1, named["cout"])


def _bdense_weights(named: Named, in_shape: Shape, out_shape: Shape) -> tuple[int, str]:
    n = named["cout"] * words(named["cin"])
    return n, f"cout={named['cout']} x words(cin={named['cin']})={words(named['cin'])}"


# -- 6 CONCAT ---------------------------------------------------------------------------------


def _concat_shape(label: str, named: Named, ins: Sequence[Shape], cout: int | None, n_w: int) -> Shape:
    h, w, c = ins[0]
    h1, w1, c1 = ins[1]
    if (h, w) != (h1, w1):
        raise PackError(f"{label}: inputs have different spatial shapes [{h},{w}] and [{h1},{w1}]")
    return (h, w, c + c1)


_BITS = (DType.BITS,)
_BINARY_OUT = (DType.BITS, DType.INT32)
_WINDOW = ("kh", "kw", "stride_h", "stride_w")

OP_RULES: Mapping[OpCode, OpRule] = {
    r.code: r
    for r in (
        OpRule(
            OpCode.THERMO_ENCODE, ("levels",), ((DType.UINT8,),), _BITS, ("levels",), _thermo_shape,
            "UINT8 [h,w,c] -> BITS [h,w,c*levels]",
            thresholds=lambda named, out_dtype, out_shape: (named["levels"], f"L={named['levels']}"),
            check_data=_thermo_check,
        ),
        OpRule(
            OpCode.BCONV2D,
            ("kh", "kw", "stride_h", "stride_w", "dilation_h", "dilation_w", "padding", "groups"),
            (_BITS,), _BINARY_OUT, (*_WINDOW, "dilation_h", "dilation_w", "groups"), _bconv_shape,
            "BITS [h,w,cin] -> BITS/INT32 [ho,wo,cout], binary convolution (LceBconv2d)",
            weights=_bconv_weights,
            thresholds=_binary_thresholds,
            weight_row_channels=lambda named, in_shape: in_shape[2] // max(named["groups"], 1),
            weight_bits=lambda named, i, o: o[2] * named["kh"] * named["kw"] * (i[2] // named["groups"]),
        ),
        OpRule(
            OpCode.BMAXPOOL2D, ("kh", "kw", "stride_h", "stride_w", "padding"), (_BITS,), _BITS, _WINDOW,
            _bmaxpool_shape, "BITS [h,w,c] -> BITS [ho,wo,c], AND over the window (LceBMaxPool2d)",
        ),
        OpRule(
            OpCode.BDEPTHWISE2D, ("kh", "kw", "stride_h", "stride_w", "padding"), (_BITS,), _BINARY_OUT,
            _WINDOW, _bdepthwise_shape, "BITS [h,w,c] -> BITS/INT32 [ho,wo,c], depth multiplier 1",
            weights=_bdepthwise_weights,
            thresholds=_binary_thresholds,
            weight_row_channels=lambda named, in_shape: in_shape[2],
            weight_bits=lambda named, i, o: named["kh"] * named["kw"] * i[2],
        ),
        OpRule(
            OpCode.BDENSE, ("cin", "cout"), (_BITS,), _BINARY_OUT, ("cin", "cout"), _bdense_shape,
            "BITS [h,w,c] (flat cin = h*w*c) -> BITS/INT32 [1,1,cout]",
            weights=_bdense_weights,
            thresholds=_binary_thresholds,
            weight_row_channels=lambda named, in_shape: named["cin"],
            weight_bits=lambda named, i, o: named["cin"] * named["cout"],
        ),
        OpRule(
            OpCode.CONCAT, (), (_BITS, _BITS), _BITS, (), _concat_shape,
            "BITS [h,w,ca] ++ BITS [h,w,cb] -> BITS [h,w,ca+cb]",
        ),
    )
}
assert set(OP_RULES) == set(OpCode), "every OpCode needs its row in OP_RULES"


def op_code_range() -> str:
    """``"1..6"``: the op codes (contiguous), for error messages."""
    return f"{int(min(OpCode))}..{int(max(OpCode))}"


def op_name(code: int) -> str:
    """``"BCONV2D"``..., or ``"type N"`` for an unknown code."""
    rule = OP_RULES.get(code)  # type: ignore[call-overload]
    return rule.name if rule is not None else f"type {code}"


def op_rule(code: int, label: str) -> OpRule:
    """The :class:`OpRule` of ``code``; :class:`PackError` ``"<label>: unknown op type ..."`` otherwise."""
    rule = OP_RULES.get(code)  # type: ignore[call-overload]
    if rule is None:
        raise PackError(f"{label}: unknown op type {code} (expected {op_code_range()})")
    return rule
