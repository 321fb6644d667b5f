"""The firmware model pack (``.bnnpack``, format 1.0): the one Python definition of the format.

``converters/FORMAT.md`` is the specification; this module implements it:

* :class:`TensorSpec`, :class:`OpSpec`, :class:`Pack` — the in-memory model of a pack;
* :func:`write_pack` — ``Pack -> bytes`` (tables, a 4-byte aligned data blob, JSON metadata,
  header and payload CRC-32 as ``zlib.crc32``);
* :func:`read_pack` — ``bytes -> Pack``, doing every validation FORMAT.md lists (and a few
  content checks more) and raising :class:`PackError` with a one-line message naming the
  field / op / tensor at fault;
* :func:`infer_output_shape`, :func:`check_op`, :func:`validate_pack` — the shape and size rules
  of every op (one row per op in :data:`converters.ops.OP_RULES`), shared by the validator and by
  the writers (exporter, golden generator);
* :func:`describe` — a JSON-able summary for ``bnn-edge inspect``;
* :func:`plan_arena` — a simple lifetime-based arena planner for writers;
* :func:`to_storage` / :func:`from_storage` — a tensor value <-> its storage bytes.

Layout (all little-endian, offsets in bytes, payload offsets relative to byte 64)::

    header (64) | tensor table (n_tensors x 24) | op table (n_ops x 64) | data blob

Storage of a tensor of logical shape ``[h, w, c]``, row-major over ``h, w``:
BITS = ``h*w*words(c)`` u32 words with ``words(c) = ceil(c/32)``, channel ``k`` in bit ``k % 32``
of word ``k // 32``, bit 1 = -1, bit 0 = +1, tail bits 0; INT32 = ``h*w*c`` i32;
UINT8 = ``h*w*c`` bytes padded to a multiple of 4.

Op codes and dtypes are :class:`converters.ops.OpCode` and :class:`converters.ops.DType` (also
importable from here); the bit packing is :mod:`converters.bitpack`. Only numpy and the
standard library are needed.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Sequence

import numpy as np

from converters.bitpack import words
from converters.errors import PackError
from converters.ops import (
    DTYPES,
    OP_RULES,
    DType,
    OpCode,
    Padding,
    conv_output_size,
    dtype_rule,
    op_name,
    op_rule,
    same_padding,
)

__all__ = [
    "PackError",
    "TensorSpec",
    "OpSpec",
    "Pack",
    "MAGIC",
    "VERSION_MAJOR",
    "VERSION_MINOR",
    "HEADER_SIZE",
    "TENSOR_ENTRY_SIZE",
    "OP_ENTRY_SIZE",
    "N_PARAMS",
    "NO_TENSOR",
    "MAX_ENTRIES",
    "MAX_DIM",
    "MAX_TENSOR_BYTES",
    "MAX_ARENA_BYTES",
    "ARENA_TOTAL_LIMIT",
    "INT32_MIN",
    "INT32_MAX",
    "DType",
    "OpCode",
    "Padding",
    "words",
    "tensor_size_bytes",
    "conv_output_size",
    "same_padding",
    "infer_output_shape",
    "expected_weight_words",
    "expected_threshold_count",
    "check_op",
    "shape_check",
    "validate_pack",
    "write_pack",
    "read_pack",
    "describe",
    "plan_arena",
    "to_storage",
    "from_storage",
]


# --------------------------------------------------------------------------------------------
# Constants (names as in FORMAT.md)
# --------------------------------------------------------------------------------------------

MAGIC = b"BNNP"
VERSION_MAJOR = 1
VERSION_MINOR = 0
HEADER_SIZE = 64
TENSOR_ENTRY_SIZE = 24
OP_ENTRY_SIZE = 64
N_PARAMS = 8
NO_TENSOR = 0xFFFF
"""Tensor id meaning "none" (unused ``in1``, no latent tensor)."""
MAX_ENTRIES = 65534
MAX_DIM = 1 << 30
"""Largest tensor dimension h, w or c (FORMAT.md validity rule 6)."""
MAX_TENSOR_BYTES = 1 << 26
"""Largest tensor storage size in bytes, 64 MiB (FORMAT.md validity rule 7)."""
MAX_ARENA_BYTES = 1 << 28
"""Largest arena_bytes, 256 MiB (FORMAT.md validity rule 7)."""
ARENA_TOTAL_LIMIT = 0xFFFFFFFC
"""arena_bytes rounded up to 4 plus scratch_bytes must not exceed this (FORMAT.md validity rule 8)."""
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
_U32_MAX = 2**32 - 1

# header: magic, ver_major, ver_minor, header_size, payload_size, payload_crc32, n_tensors, n_ops,
# arena_bytes, scratch_bytes, input, latent, output, reserved16, flags, meta_off, meta_len,
# reserved32, header_crc32
_HEADER = struct.Struct("<4sHH7I4H5I")
_TENSOR = struct.Struct("<6I")
_OP = struct.Struct("<6H8i5I")
assert _HEADER.size == HEADER_SIZE and _TENSOR.size == TENSOR_ENTRY_SIZE and _OP.size == OP_ENTRY_SIZE


# --------------------------------------------------------------------------------------------
# Sizes and shape arithmetic
# --------------------------------------------------------------------------------------------


def tensor_size_bytes(dtype: int, h: int, w: int, c: int) -> int:
    """Storage size of a ``[h, w, c]`` tensor.

    BITS: ``h*w*words(c)*4``; INT32: ``h*w*c*4``; UINT8: ``h*w*c`` rounded up to a multiple of 4
    (see :class:`converters.ops.DTypeRule`).
    """
    return dtype_rule(dtype).size_bytes(h, w, c)


# --------------------------------------------------------------------------------------------
# In-memory model
# --------------------------------------------------------------------------------------------


@dataclass
class TensorSpec:
    """One entry of the tensor table: logical shape ``[h, w, c]``, dtype and arena offset.

    ``size_bytes`` is computed from the dtype and shape (see :func:`tensor_size_bytes`); the
    stored field of the file must equal it.
    """

    dtype: int
    h: int
    w: int
    c: int
    arena_offset: int = 0

    @property
    def shape(self) -> tuple[int, int, int]:
        """Logical shape ``(h, w, c)``."""
        return (self.h, self.w, self.c)

    @property
    def size_bytes(self) -> int:
        """Storage size in bytes (raises :class:`PackError` for an unknown dtype)."""
        return tensor_size_bytes(self.dtype, self.h, self.w, self.c)

    @property
    def storage_shape(self) -> tuple[int, int, int]:
        """Shape of the numpy value the simulator uses: ``(h, w, words(c))`` for BITS, else ``(h, w, c)``."""
        rule = DTYPES.get(self.dtype)  # type: ignore[call-overload]
        return (self.h, self.w, rule.storage_channels(self.c) if rule is not None else self.c)

    @property
    def dtype_name(self) -> str:
        rule = DTYPES.get(self.dtype)  # type: ignore[call-overload]
        return rule.name if rule is not None else f"dtype {self.dtype}"


def _as_u32_words(value: Any, what: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype == np.uint32:
        pass
    elif arr.dtype == np.int32:  # LCE stores packed words as int32: same bits
        arr = arr.view(np.uint32)
    elif np.issubdtype(arr.dtype, np.integer):
        if arr.size and (arr.min() < 0 or arr.max() > _U32_MAX):
            raise PackError(f"{what}: values do not fit u32 words")
        arr = arr.astype(np.uint32)
    else:
        raise PackError(f"{what}: expected integer words, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype="<u4").reshape(-1)


def _as_i32(value: Any, what: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype != np.int32:
        if not np.issubdtype(arr.dtype, np.integer):
            raise PackError(f"{what}: expected integers, got dtype {arr.dtype}")
        if arr.size and (arr.min() < INT32_MIN or arr.max() > INT32_MAX):
            raise PackError(f"{what}: values do not fit int32")
        arr = arr.astype(np.int32)
    return np.ascontiguousarray(arr, dtype="<i4").reshape(-1)


@dataclass(eq=False)
class OpSpec:
    """One entry of the op table.

    ``params`` is normalised to exactly 8 ints (missing ones are 0); ``in1`` is :data:`NO_TENSOR`
    when unused (``None`` is accepted). ``weights`` is a flat ``uint32`` array in the layout
    FORMAT.md gives for the op (e.g. BCONV2D: ``[cout][kh][kw][words(cin_g)]`` in C order; an
    array of that shape is accepted and flattened, int32 words are reinterpreted bit for bit);
    ``thresholds`` a flat ``int32`` array. ``None`` means "none" (offset and length 0).
    """

    type: int
    in0: int
    in1: int | None = NO_TENSOR
    out: int = 0
    params: list[int] = field(default_factory=list)
    weights: np.ndarray | None = None
    thresholds: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.in1 is None:
            self.in1 = NO_TENSOR
        params = [int(p) for p in self.params]
        if len(params) > N_PARAMS:
            raise PackError(f"{self.label()}: {len(params)} params given, at most {N_PARAMS}")
        for p in params:
            if not INT32_MIN <= p <= INT32_MAX:
                raise PackError(f"{self.label()}: param {p} does not fit int32")
        self.params = params + [0] * (N_PARAMS - len(params))
        if self.weights is not None:
            self.weights = _as_u32_words(self.weights, f"{self.label()} weights")
        if self.thresholds is not None:
            self.thresholds = _as_i32(self.thresholds, f"{self.label()} thresholds")

    @property
    def name(self) -> str:
        """Op type name (``"BCONV2D"``...) or ``"type N"`` when unknown."""
        return op_name(self.type)

    def label(self, index: int | None = None) -> str:
        return f"op {index} ({self.name})" if index is not None else f"op {self.name}"

    def named_params(self) -> dict[str, int]:
        """The used params by name (see :attr:`converters.ops.OpRule.params`)."""
        rule = OP_RULES.get(self.type)  # type: ignore[call-overload]
        names = rule.params if rule is not None else ()
        return {n: self.params[i] for i, n in enumerate(names)}

    def input_ids(self) -> list[int]:
        """The tensor ids the op reads: ``[in0]``, or ``[in0, in1]`` for a two-input op."""
        rule = OP_RULES.get(self.type)  # type: ignore[call-overload]
        return [self.in0, self.in1] if rule is not None and rule.n_inputs == 2 else [self.in0]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OpSpec):
            return NotImplemented
        return (
            (self.type, self.in0, self.in1, self.out, self.params)
            == (other.type, other.in0, other.in1, other.out, other.params)
            and _arr_eq(self.weights, other.weights)
            and _arr_eq(self.thresholds, other.thresholds)
        )


def _arr_eq(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    a_empty = a is None or a.size == 0
    b_empty = b is None or b.size == 0
    if a_empty or b_empty:
        return a_empty and b_empty
    return bool(np.array_equal(a, b))


@dataclass(eq=False)
class Pack:
    """A whole model pack: tensors, ops (run in order), the special tensors and the arena plan.

    ``latent_tensor`` is :data:`NO_TENSOR` when there is none (``None`` is accepted).
    ``meta`` is the JSON metadata object (``{}`` = none, written as ``meta_off = meta_len = 0``).
    """

    tensors: list[TensorSpec]
    ops: list[OpSpec]
    input_tensor: int
    latent_tensor: int | None
    output_tensor: int
    arena_bytes: int
    scratch_bytes: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.latent_tensor is None:
            self.latent_tensor = NO_TENSOR
        self.tensors = list(self.tensors)
        self.ops = list(self.ops)
        if self.meta is None:
            self.meta = {}

    @property
    def has_latent(self) -> bool:
        return self.latent_tensor != NO_TENSOR

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Pack):
            return NotImplemented
        return (
            self.tensors == other.tensors
            and self.ops == other.ops
            and (self.input_tensor, self.latent_tensor, self.output_tensor)
            == (other.input_tensor, other.latent_tensor, other.output_tensor)
            and (self.arena_bytes, self.scratch_bytes) == (other.arena_bytes, other.scratch_bytes)
            and self.meta == other.meta
        )


# --------------------------------------------------------------------------------------------
# Op rules: shapes, dtypes, data lengths
# --------------------------------------------------------------------------------------------


def _require_positive(label: str, named: dict[str, int], keys: Iterable[str]) -> None:
    for k in keys:
        if named[k] < 1:
            raise PackError(f"{label}: param {k} = {named[k]}, expected >= 1")


def infer_output_shape(
    op: OpSpec,
    in_shapes: Sequence[tuple[int, int, int]],
    *,
    cout: int | None = None,
    index: int | None = None,
) -> tuple[int, int, int]:
    """Output shape ``(ho, wo, cout)`` of ``op`` given its input shapes (``[in0]`` or ``[in0, in1]``).

    Checks the params (positive sizes, known padding, groups rules, VALID windows that fit,
    BDENSE ``cin == h*w*c`` and ``h*w == 1 or c % 32 == 0``, CONCAT equal ``h, w``) and raises
    :class:`PackError` otherwise. BCONV2D's ``cout`` is not a param: pass it (the out tensor's
    ``c``), or it is derived from ``len(op.weights) / (kh*kw*words(cin_g))``; other ops ignore it.
    """
    label = op.label(index)
    named = op.named_params()
    rule = op_rule(op.type, label)
    if len(in_shapes) != rule.n_inputs:
        raise PackError(f"{label}: {len(in_shapes)} input shapes given, expected {rule.n_inputs}")
    shapes = [(int(h), int(w), int(c)) for h, w, c in in_shapes]
    _require_positive(label, named, rule.positive)
    n_w = 0 if op.weights is None else int(op.weights.size)
    return rule.shape(label, named, shapes, cout, n_w)  # type: ignore[arg-type]


def expected_weight_words(op: OpSpec, in_shape: tuple[int, int, int], out_shape: tuple[int, int, int]) -> tuple[int, str]:
    """Number of u32 weight words ``op`` must carry, and the formula as text.

    BCONV2D ``cout*kh*kw*words(cin_g)``; BDEPTHWISE2D ``kh*kw*words(c)``; BDENSE
    ``cout*words(cin)``; other ops 0.
    """
    return op_rule(op.type, op.label()).weights(op.named_params(), in_shape, out_shape)


def expected_threshold_count(op: OpSpec, out_dtype: int, out_shape: tuple[int, int, int]) -> tuple[int, str]:
    """Number of i32 thresholds: THERMO_ENCODE ``L``; BCONV2D/BDEPTHWISE2D/BDENSE ``c_out`` when
    the out tensor is BITS, 0 when it is INT32; other ops 0."""
    return op_rule(op.type, op.label()).thresholds(op.named_params(), out_dtype, out_shape)


def _check_tail_bits(label: str, what: str, data: np.ndarray, channels: int) -> None:
    if channels % 32 == 0 or data.size == 0:
        return
    rows = data.reshape(-1, words(channels))
    mask = np.uint32((0xFFFFFFFF << (channels % 32)) & 0xFFFFFFFF)
    bad = np.flatnonzero(rows[:, -1] & mask)
    if bad.size:
        raise PackError(
            f"{label}: {what} row {int(bad[0])} has nonzero tail bits past channel {channels} (must be 0)"
        )


def check_op(index: int | None, op: OpSpec, tensors: Sequence[TensorSpec]) -> tuple[int, int, int]:
    """Validate one op against the tensor table; return its output shape.

    Checks, with the op's row of :data:`converters.ops.OP_RULES`: known type; tensor ids
    ``< n_tensors`` (``in1`` is required for a two-input op such as CONCAT and must be
    :data:`NO_TENSOR` otherwise); input/output dtypes; the output tensor's shape equals
    :func:`infer_output_shape`; weights and thresholds have exactly the expected lengths;
    weight tail bits are 0; the op's own data checks (THERMO_ENCODE thresholds are u8-valued and
    non-decreasing).
    """
    label = op.label(index)
    n = len(tensors)
    rule = op_rule(op.type, label)
    roles = ["in0", "in1"][: rule.n_inputs]
    ids = list(zip(roles, op.input_ids())) + [("out", op.out)]
    if rule.n_inputs < 2 and op.in1 != NO_TENSOR:
        raise PackError(f"{label}: in1 = {op.in1}, expected 0xFFFF (unused by this op)")
    for name, tid in ids:
        if not 0 <= tid < n:
            raise PackError(f"{label}: {name} tensor id {tid} out of range (n_tensors = {n})")
    for (role, tid), allowed in zip(ids, (*rule.inputs, rule.output)):
        t = tensors[tid]
        if t.dtype not in allowed:
            exp = " or ".join(d.name for d in allowed)
            raise PackError(f"{label}: {role} tensor {tid} has dtype {t.dtype_name}, expected {exp}")
    in0 = tensors[op.in0]
    out = tensors[op.out]

    in_shapes = [tensors[tid].shape for tid in op.input_ids()]
    expected = infer_output_shape(op, in_shapes, cout=out.c, index=index)
    if tuple(out.shape) != tuple(expected):
        raise PackError(
            f"{label}: out tensor {op.out} has shape [{out.h},{out.w},{out.c}], expected "
            f"[{expected[0]},{expected[1]},{expected[2]}] from in0 [{in0.h},{in0.w},{in0.c}] and the params"
        )

    named = op.named_params()
    n_w, why_w = rule.weights(named, in0.shape, out.shape)
    got_w = 0 if op.weights is None else op.weights.size
    if got_w != n_w:
        raise PackError(f"{label}: weights length {got_w * 4} bytes, expected {n_w * 4} ({why_w})")
    n_t, why_t = rule.thresholds(named, out.dtype, out.shape)
    got_t = 0 if op.thresholds is None else op.thresholds.size
    if got_t != n_t:
        raise PackError(f"{label}: thresholds length {got_t * 4} bytes, expected {n_t * 4} ({why_t})")
    if n_w and rule.weight_row_channels is not None:
        _check_tail_bits(label, "weights", op.weights, rule.weight_row_channels(named, in0.shape))
    if rule.check_data is not None:
        rule.check_data(label, op.weights, op.thresholds)
    return expected


def shape_check(op: OpSpec, tensors: Sequence[TensorSpec], index: int | None = None) -> tuple[int, int, int]:
    """For writers: raise :class:`PackError` unless ``op`` fits ``tensors`` (see :func:`check_op`);
    return the output shape."""
    return check_op(index, op, tensors)


def _check_tensor(i: int, t: TensorSpec, arena_bytes: int) -> None:
    dtype_rule(t.dtype, f"tensor {i}")
    for name in ("h", "w", "c"):
        v = getattr(t, name)
        if not 1 <= v <= MAX_DIM:
            raise PackError(f"tensor {i}: {name} = {v}, expected 1..{MAX_DIM} (2^30)")
    if not 0 <= t.arena_offset <= _U32_MAX or t.arena_offset % 4:
        raise PackError(f"tensor {i}: arena_offset {t.arena_offset} is not a multiple of 4")
    size = t.size_bytes
    if size > MAX_TENSOR_BYTES:
        raise PackError(f"tensor {i}: size {size} bytes exceeds the cap of {MAX_TENSOR_BYTES} bytes")
    if t.arena_offset + size > arena_bytes:
        raise PackError(
            f"tensor {i}: arena range [{t.arena_offset}, {t.arena_offset + size}) exceeds arena_bytes {arena_bytes}"
        )


def validate_pack(pack: Pack) -> None:
    """Check a :class:`Pack` against every rule of FORMAT.md (what :func:`read_pack` checks after
    parsing, minus the byte-level ones); raise :class:`PackError` on the first violation."""
    nt, no = len(pack.tensors), len(pack.ops)
    if not 1 <= nt <= MAX_ENTRIES:
        raise PackError(f"n_tensors {nt}, expected 1..{MAX_ENTRIES}")
    if not 1 <= no <= MAX_ENTRIES:
        raise PackError(f"n_ops {no}, expected 1..{MAX_ENTRIES}")
    for name in ("arena_bytes", "scratch_bytes"):
        v = getattr(pack, name)
        if not 0 <= v <= _U32_MAX:
            raise PackError(f"{name} {v} does not fit u32")
    if pack.arena_bytes > MAX_ARENA_BYTES:
        raise PackError(f"arena_bytes {pack.arena_bytes} exceeds the cap of {MAX_ARENA_BYTES} bytes")
    for name in ("input_tensor", "output_tensor"):
        tid = getattr(pack, name)
        if not 0 <= tid < nt:
            raise PackError(f"{name} {tid} out of range (n_tensors = {nt})")
    for i, t in enumerate(pack.tensors):
        _check_tensor(i, t, pack.arena_bytes)
    for i, op in enumerate(pack.ops):
        check_op(i, op, pack.tensors)
    _check_graph(pack)
    if pack.latent_tensor != NO_TENSOR:
        if not 0 <= pack.latent_tensor < nt:
            raise PackError(f"latent_tensor {pack.latent_tensor} out of range (n_tensors = {nt}; 0xFFFF = none)")
        lt = pack.tensors[pack.latent_tensor]
        if lt.dtype != DType.BITS:
            raise PackError(f"latent_tensor {pack.latent_tensor} has dtype {lt.dtype_name}, expected BITS")
    if not isinstance(pack.meta, dict):
        raise PackError(f"metadata must be a JSON object, got {type(pack.meta).__name__}")


def _check_graph(pack: Pack) -> None:
    """The rules between ops (FORMAT.md validity rules 9-11): op order, output/input overlap, and
    arena + scratch <= 0xFFFFFFFC. Tensors and ops are already checked one by one."""
    if pack.arena_bytes > MAX_ARENA_BYTES:
        raise PackError(f"arena_bytes {pack.arena_bytes} exceeds the cap of {MAX_ARENA_BYTES} bytes")
    written = {pack.input_tensor}
    for i, op in enumerate(pack.ops):
        label = op.label(i)
        for tid in op.input_ids():
            if tid not in written:
                raise PackError(f"{label}: reads tensor {tid} before any op writes it "
                                "(an op reads only the model input or tensors written by an earlier op)")
        out = pack.tensors[op.out]
        for tid in op.input_ids():
            t = pack.tensors[tid]
            if out.arena_offset < t.arena_offset + t.size_bytes and t.arena_offset < out.arena_offset + out.size_bytes:
                raise PackError(f"{label}: output tensor {op.out} overlaps its input tensor {tid} in the arena")
        written.add(op.out)
    for name in ("output_tensor", "latent_tensor"):  # what the caller reads back must be computed
        tid = getattr(pack, name)
        if tid != NO_TENSOR and tid < len(pack.tensors) and tid not in written:
            raise PackError(f"{name} {tid} is written by no op (the model would return whatever the arena held)")
    if ((pack.arena_bytes + 3) & ~3) + pack.scratch_bytes > ARENA_TOTAL_LIMIT:
        raise PackError(f"arena_bytes {pack.arena_bytes} + scratch_bytes {pack.scratch_bytes} exceeds 0xFFFFFFFC")


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _meta_bytes(meta: dict[str, Any]) -> bytes:
    if not meta:
        return b""
    try:
        return json.dumps(meta, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise PackError(f"metadata is not JSON-serialisable: {exc}") from None


def write_pack(pack: Pack, *, validate: bool = True) -> bytes:
    """Serialise ``pack`` to ``.bnnpack`` bytes (format 1.0).

    Payload = tensor table, op table, then the data blob: for each op in order its weights then
    its thresholds, then the metadata (compact JSON, sorted keys, UTF-8); every item starts at a
    4-byte aligned payload offset and the payload is zero-padded to a multiple of 4. Absent
    items have offset and length 0. ``payload_crc32 = zlib.crc32(payload)``,
    ``header_crc32 = zlib.crc32(header[0:60])``. The output is deterministic.

    ``validate=False`` skips :func:`validate_pack` (tests use it to build invalid packs).
    """
    if validate:
        validate_pack(pack)
    nt, no = len(pack.tensors), len(pack.ops)
    tables = bytearray()
    for t in pack.tensors:
        try:
            size = t.size_bytes
        except PackError:
            size = 0
        tables += _TENSOR.pack(t.dtype, t.h, t.w, t.c, t.arena_offset, size)
    blob = bytearray()
    base = nt * TENSOR_ENTRY_SIZE + no * OP_ENTRY_SIZE

    def put(data: bytes) -> tuple[int, int]:
        if not data:
            return 0, 0
        while len(blob) % 4:
            blob.append(0)
        off = base + len(blob)
        blob.extend(data)
        return off, len(data)

    for op in pack.ops:
        w_off, w_len = put(b"" if op.weights is None else op.weights.astype("<u4").tobytes())
        t_off, t_len = put(b"" if op.thresholds is None else op.thresholds.astype("<i4").tobytes())
        tables += _OP.pack(op.type, 0, op.in0, op.in1, op.out, 0, *op.params, w_off, w_len, t_off, t_len, 0)
    meta_off, meta_len = put(_meta_bytes(pack.meta))
    while len(blob) % 4:
        blob.append(0)
    payload = bytes(tables) + bytes(blob)
    fields = [
        MAGIC, VERSION_MAJOR, VERSION_MINOR, HEADER_SIZE, len(payload), zlib.crc32(payload), nt, no,
        pack.arena_bytes, pack.scratch_bytes, pack.input_tensor, pack.latent_tensor, pack.output_tensor,
        0, 0, meta_off, meta_len, 0, 0,
    ]
    try:
        header = _HEADER.pack(*fields)
    except struct.error as exc:
        raise PackError(f"header field out of range: {exc}") from None
    header = header[:60] + struct.pack("<I", zlib.crc32(header[:60]))
    return header + payload


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Header:
    magic: bytes
    version_major: int
    version_minor: int
    header_size: int
    payload_size: int
    payload_crc32: int
    n_tensors: int
    n_ops: int
    arena_bytes: int
    scratch_bytes: int
    input_tensor: int
    latent_tensor: int
    output_tensor: int
    reserved16: int
    flags: int
    meta_off: int
    meta_len: int
    reserved32: int
    header_crc32: int


def _parse_header(data: bytes) -> _Header:
    if len(data) < HEADER_SIZE:
        raise PackError(f"truncated: {len(data)} bytes, the header alone needs {HEADER_SIZE}")
    return _Header(*_HEADER.unpack_from(data, 0))


def _range_in_payload(label: str, what: str, off: int, length: int, payload_size: int) -> None:
    if off % 4:
        raise PackError(f"{label}: {what} offset {off} is not 4-byte aligned")
    if length % 4:
        raise PackError(f"{label}: {what} length {length} bytes is not a multiple of 4")
    if off + length > payload_size:
        raise PackError(
            f"{label}: {what} range [{off}, {off + length}) runs past the payload end ({payload_size} bytes)"
        )


def read_pack(data: bytes | bytearray | memoryview) -> Pack:
    """Parse and validate a ``.bnnpack``; raise :class:`PackError` on the first problem.

    Checks, in order: length >= 64; magic ``b"BNNP"``; ``version_major == 1`` (any minor);
    ``header_size == 64``; header CRC; ``64 + payload_size <= len(data)``; payload CRC;
    ``n_tensors``/``n_ops`` in 1..65534 and both tables inside the payload; per tensor: known
    dtype, stored ``size_bytes`` equals the computed size, positive dims, ``arena_offset % 4 == 0``,
    ``arena_offset + size_bytes <= arena_bytes``; per op: weights/threshold ranges inside the
    payload, 4-aligned, lengths multiples of 4, then :func:`check_op` (type, ids, dtypes, shapes,
    exact lengths, tail bits, thermometer thresholds); ``meta_off + meta_len <= payload_size`` and
    the metadata is a UTF-8 JSON object; ``input_tensor``/``output_tensor`` (and
    ``latent_tensor`` unless 0xFFFF) ``< n_tensors``. Reserved fields and flags are ignored.
    Nothing is read out of bounds. Bytes after the payload are ignored.
    """
    data = bytes(data)
    hd = _parse_header(data)
    if hd.magic != MAGIC:
        raise PackError(f"bad magic {hd.magic!r} (expected {MAGIC!r})")
    if hd.version_major != VERSION_MAJOR:
        raise PackError(
            f"unsupported version_major {hd.version_major}.{hd.version_minor} (this reader supports {VERSION_MAJOR}.x)"
        )
    if hd.header_size != HEADER_SIZE:
        raise PackError(f"header_size {hd.header_size}, expected {HEADER_SIZE}")
    crc = zlib.crc32(data[:60])
    if crc != hd.header_crc32:
        raise PackError(f"header CRC mismatch: stored 0x{hd.header_crc32:08x}, computed 0x{crc:08x} (file corrupted?)")
    end = HEADER_SIZE + hd.payload_size
    if end > len(data):
        raise PackError(
            f"truncated: payload_size {hd.payload_size} needs {end} bytes, only {len(data)} given"
        )
    payload = data[HEADER_SIZE:end]
    crc = zlib.crc32(payload)
    if crc != hd.payload_crc32:
        raise PackError(
            f"payload CRC mismatch: stored 0x{hd.payload_crc32:08x}, computed 0x{crc:08x} (file corrupted?)"
        )
    if not 1 <= hd.n_tensors <= MAX_ENTRIES:
        raise PackError(f"n_tensors {hd.n_tensors}, expected 1..{MAX_ENTRIES}")
    if not 1 <= hd.n_ops <= MAX_ENTRIES:
        raise PackError(f"n_ops {hd.n_ops}, expected 1..{MAX_ENTRIES}")
    tables_end = hd.n_tensors * TENSOR_ENTRY_SIZE + hd.n_ops * OP_ENTRY_SIZE
    if tables_end > hd.payload_size:
        raise PackError(
            f"tensor and op tables ({hd.n_tensors} x {TENSOR_ENTRY_SIZE} + {hd.n_ops} x {OP_ENTRY_SIZE} = "
            f"{tables_end} bytes) run past the payload end ({hd.payload_size} bytes)"
        )

    tensors: list[TensorSpec] = []
    for i in range(hd.n_tensors):
        dtype, h, w, c, off, size = _TENSOR.unpack_from(payload, i * TENSOR_ENTRY_SIZE)
        t = TensorSpec(dtype, h, w, c, off)
        dtype_rule(dtype, f"tensor {i}")
        if size != t.size_bytes:
            raise PackError(
                f"tensor {i}: size_bytes {size}, expected {t.size_bytes} for {t.dtype_name} [{h},{w},{c}]"
            )
        _check_tensor(i, t, hd.arena_bytes)
        tensors.append(t)

    ops: list[OpSpec] = []
    op_base = hd.n_tensors * TENSOR_ENTRY_SIZE
    for i in range(hd.n_ops):
        (op_type, _flags, in0, in1, out, _res, *rest) = _OP.unpack_from(payload, op_base + i * OP_ENTRY_SIZE)
        params = rest[:N_PARAMS]
        w_off, w_len, t_off, t_len, _res2 = rest[N_PARAMS:]
        label = f"op {i} ({op_name(op_type)})"
        op_rule(op_type, label)
        weights = thresholds = None
        # the ranges are checked even when empty (FORMAT.md validity rule 5), as the C loader does
        _range_in_payload(label, "weights", w_off, w_len, hd.payload_size)
        _range_in_payload(label, "thresholds", t_off, t_len, hd.payload_size)
        if w_len:
            weights = np.frombuffer(payload, dtype="<u4", count=w_len // 4, offset=w_off).astype(np.uint32)
        if t_len:
            thresholds = np.frombuffer(payload, dtype="<i4", count=t_len // 4, offset=t_off).astype(np.int32)
        op = OpSpec(op_type, in0, in1, out, list(params), weights, thresholds)
        check_op(i, op, tensors)
        ops.append(op)

    for name in ("input_tensor", "output_tensor"):
        tid = getattr(hd, name)
        if tid >= hd.n_tensors:
            raise PackError(f"{name} {tid} out of range (n_tensors = {hd.n_tensors})")
    if hd.latent_tensor != NO_TENSOR and hd.latent_tensor >= hd.n_tensors:
        raise PackError(f"latent_tensor {hd.latent_tensor} out of range (n_tensors = {hd.n_tensors}; 0xFFFF = none)")

    meta: dict[str, Any] = {}
    if hd.meta_off + hd.meta_len > hd.payload_size:
        raise PackError(
            f"metadata range [{hd.meta_off}, {hd.meta_off + hd.meta_len}) runs past the payload end "
            f"({hd.payload_size} bytes)"
        )
    if hd.meta_len:
        raw = payload[hd.meta_off : hd.meta_off + hd.meta_len]
        try:
            meta = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise PackError(f"metadata is not valid UTF-8 JSON: {exc}") from None
        except RecursionError:
            raise PackError("metadata is not valid JSON: nested deeper than the parser allows") from None
        if not isinstance(meta, dict):
            raise PackError(f"metadata must be a JSON object, got {type(meta).__name__}")

    if hd.latent_tensor != NO_TENSOR and tensors[hd.latent_tensor].dtype != DType.BITS:
        raise PackError(
            f"latent_tensor {hd.latent_tensor} has dtype {tensors[hd.latent_tensor].dtype_name}, expected BITS"
        )
    pack = Pack(tensors, ops, hd.input_tensor, hd.latent_tensor, hd.output_tensor, hd.arena_bytes,
                hd.scratch_bytes, meta)
    _check_graph(pack)
    return pack


# --------------------------------------------------------------------------------------------
# Inspection
# --------------------------------------------------------------------------------------------


def _tensor_dict(i: int, t: TensorSpec) -> dict[str, Any]:
    try:
        size = t.size_bytes
    except PackError:
        size = None
    return {"id": i, "dtype": t.dtype_name, "shape": [t.h, t.w, t.c], "arena_offset": t.arena_offset,
            "size_bytes": size}


def describe(pack: Pack | bytes | bytearray | memoryview) -> dict[str, Any]:
    """A JSON-able summary of a pack (for ``bnn-edge inspect``).

    Keys: ``valid`` (bool), ``error`` (the :class:`PackError` message or None), ``header`` (every
    header field; present when the input is bytes of at least 64 bytes), ``crc_ok``
    (``{"header": bool, "payload": bool}``, None for a :class:`Pack`), ``tensors`` (id, dtype,
    shape, arena_offset, size_bytes), ``ops`` (index, type, name, in0/in1/out, named params,
    input/output shapes and dtypes, weights/threshold bytes), ``sizes`` (file, weights,
    thresholds, meta, arena, scratch bytes) and ``meta``. Given bytes that do not validate, it
    reports what it could decode and the error instead of raising.
    """
    result: dict[str, Any] = {"valid": True, "error": None, "header": None, "crc_ok": None}
    parsed: Pack | None
    file_bytes: int | None = None
    if isinstance(pack, Pack):
        parsed = pack
        try:
            validate_pack(pack)
            file_bytes = len(write_pack(pack))
        except PackError as exc:
            result["valid"], result["error"] = False, str(exc)
    else:
        data = bytes(pack)
        file_bytes = len(data)
        if len(data) >= HEADER_SIZE:
            hd = _parse_header(data)
            header = dict(hd.__dict__)
            header["magic"] = hd.magic.decode("latin-1")
            result["header"] = header
            end = HEADER_SIZE + hd.payload_size
            result["crc_ok"] = {
                "header": zlib.crc32(data[:60]) == hd.header_crc32,
                "payload": end <= len(data) and zlib.crc32(data[HEADER_SIZE:end]) == hd.payload_crc32,
            }
        try:
            parsed = read_pack(data)
        except PackError as exc:
            parsed = None
            result["valid"], result["error"] = False, str(exc)
    result["tensors"] = [] if parsed is None else [_tensor_dict(i, t) for i, t in enumerate(parsed.tensors)]
    ops_out: list[dict[str, Any]] = []
    w_total = t_total = 0
    if parsed is not None:
        nt = len(parsed.tensors)
        for i, op in enumerate(parsed.ops):
            ins = op.input_ids()
            w_bytes = 0 if op.weights is None else op.weights.size * 4
            t_bytes = 0 if op.thresholds is None else op.thresholds.size * 4
            w_total += w_bytes
            t_total += t_bytes
            ops_out.append({
                "index": i, "type": op.type, "name": op.name, "in0": op.in0,
                "in1": None if op.in1 == NO_TENSOR else op.in1, "out": op.out,
                "params": op.named_params(),
                "in_shapes": [list(parsed.tensors[t].shape) if 0 <= t < nt else None for t in ins],
                "out_shape": list(parsed.tensors[op.out].shape) if 0 <= op.out < nt else None,
                "out_dtype": parsed.tensors[op.out].dtype_name if 0 <= op.out < nt else None,
                "weights_bytes": w_bytes, "thresholds_bytes": t_bytes,
            })
        result["input_tensor"] = parsed.input_tensor
        result["latent_tensor"] = None if parsed.latent_tensor == NO_TENSOR else parsed.latent_tensor
        result["output_tensor"] = parsed.output_tensor
    result["ops"] = ops_out
    result["sizes"] = {
        "file_bytes": file_bytes,
        "weights_bytes": w_total,
        "thresholds_bytes": t_total,
        "meta_bytes": None if parsed is None else len(_meta_bytes(parsed.meta)) if parsed.meta else 0,
        "arena_bytes": None if parsed is None else parsed.arena_bytes,
        "scratch_bytes": None if parsed is None else parsed.scratch_bytes,
    }
    result["meta"] = None if parsed is None else parsed.meta
    return result


# --------------------------------------------------------------------------------------------
# Writer helpers
# --------------------------------------------------------------------------------------------


def plan_arena(
    tensors: Sequence[TensorSpec],
    ops: Sequence[OpSpec],
    *,
    input_tensor: int,
    keep: Iterable[int] = (),
) -> tuple[list[TensorSpec], int]:
    """Assign ``arena_offset``s so that tensors whose lifetimes overlap never overlap in memory.

    A tensor lives from the op that writes it (the input tensor, and any tensor no op writes,
    from before op 0) to the last op that reads it; tensors in ``keep`` (output, latent) live
    to the end. An op's inputs and output are live at the same time, so they never alias.
    Greedy first fit, largest tensors first. Returns the new specs and ``arena_bytes``.
    """
    n_ops = len(ops)
    start = {i: -1 for i in range(len(tensors))}
    end = {i: -1 for i in range(len(tensors))}
    written: set[int] = set()
    for k, op in enumerate(ops):
        if op.out not in written:
            written.add(op.out)
            start[op.out] = k
        end[op.out] = max(end[op.out], k)
        for tid in (op.in0, op.in1):
            if tid != NO_TENSOR and tid in end:
                end[tid] = max(end[tid], k)
    for tid in list(keep) + [input_tensor]:
        if tid in end:
            end[tid] = n_ops
    if input_tensor in start:
        start[input_tensor] = -1
    order = sorted(range(len(tensors)), key=lambda i: (-tensors[i].size_bytes, i))
    placed: list[tuple[int, int, int]] = []  # (offset, size, tid)
    offsets: dict[int, int] = {}
    for tid in order:
        size = tensors[tid].size_bytes
        clashes = sorted(
            (off, off + sz) for off, sz, other in placed
            if not (end[other] < start[tid] or end[tid] < start[other])
        )
        off = 0
        for lo, hi in clashes:
            if off + size <= lo:
                break
            off = max(off, (hi + 3) // 4 * 4)
        offsets[tid] = off
        placed.append((off, size, tid))
    out = [replace(t, arena_offset=offsets[i]) for i, t in enumerate(tensors)]
    arena = max((t.arena_offset + t.size_bytes for t in out), default=0)
    return out, arena


def to_storage(spec: TensorSpec, value: np.ndarray) -> bytes:
    """Storage bytes of one tensor value (``spec.size_bytes`` long).

    ``value`` has ``spec.storage_shape``: u32 words ``[h, w, words(c)]`` for BITS, int32
    ``[h, w, c]`` for INT32, uint8 ``[h, w, c]`` for UINT8 (zero-padded to a multiple of 4).
    """
    arr = np.asarray(value)
    if tuple(arr.shape) != spec.storage_shape:
        raise PackError(f"value of shape {tuple(arr.shape)}, expected {spec.storage_shape} for {spec.dtype_name}")
    if spec.dtype == DType.BITS:
        raw = _as_u32_words(arr, "BITS value").tobytes()
    elif spec.dtype == DType.INT32:
        raw = _as_i32(arr, "INT32 value").tobytes()
    else:
        if arr.dtype != np.uint8:
            raise PackError(f"UINT8 value has dtype {arr.dtype}")
        raw = arr.tobytes()
    return raw + b"\0" * (spec.size_bytes - len(raw))


def from_storage(spec: TensorSpec, data: bytes) -> np.ndarray:
    """Inverse of :func:`to_storage`: the value of shape ``spec.storage_shape`` stored in ``data``."""
    if len(data) != spec.size_bytes:
        raise PackError(f"{len(data)} bytes given, expected {spec.size_bytes} for {spec.dtype_name} {list(spec.shape)}")
    n = int(np.prod(spec.storage_shape))
    rule = dtype_rule(spec.dtype)
    return np.frombuffer(data, dtype=rule.storage, count=n).astype(rule.native).reshape(spec.storage_shape)
