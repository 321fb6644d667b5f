"""The .bnnpack format (converters/bnnpack.py): layout, round trip, and every rejection path."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from converters import bnnpack as bp
from converters.bnnpack import (
    NO_TENSOR,
    OpSpec,
    Pack,
    PackError,
    TensorSpec,
    describe,
    read_pack,
    write_pack,
)
from converters.errors import FormatError
from converters.ops import OP_RULES, DType, OpCode, Padding

# --------------------------------------------------------------------------------------------
# A small valid pack using every op type
# --------------------------------------------------------------------------------------------

T_IN, T_THERMO, T_CONV, T_POOL, T_DW, T_LAT, T_CAT, T_OUT = range(8)


def _words(rng: np.random.Generator, n_rows: int, channels: int) -> np.ndarray:
    """Random weight rows of ``channels`` bits each (tail bits 0), flat uint32."""
    nw = (channels + 31) // 32
    w = rng.integers(0, 2**32, size=(n_rows, nw), dtype=np.uint64).astype(np.uint32)
    if channels % 32:
        w[:, -1] &= np.uint32((1 << (channels % 32)) - 1)
    return w.reshape(-1)


def make_pack(seed: int = 0) -> Pack:
    """thermo(L=8) [6,6,2]->[6,6,16]; bconv 3x3 SAME 16->40 bits; maxpool 2x2 -> [3,3,40];
    depthwise 3x3 VALID -> [1,1,40]; dense 40->24 (latent); concat(lat, lat) -> 48; dense 48->5 int32."""
    rng = np.random.default_rng(seed)
    tensors = [
        TensorSpec(DType.UINT8, 6, 6, 2),
        TensorSpec(DType.BITS, 6, 6, 16),
        TensorSpec(DType.BITS, 6, 6, 40),
        TensorSpec(DType.BITS, 3, 3, 40),
        TensorSpec(DType.BITS, 1, 1, 40),
        TensorSpec(DType.BITS, 1, 1, 24),
        TensorSpec(DType.BITS, 1, 1, 48),
        TensorSpec(DType.INT32, 1, 1, 5),
    ]
    ops = [
        OpSpec(OpCode.THERMO_ENCODE, T_IN, NO_TENSOR, T_THERMO, [8], None, np.array([0, 10, 40, 40, 90, 150, 200, 255])),
        OpSpec(OpCode.BCONV2D, T_THERMO, NO_TENSOR, T_CONV, [3, 3, 1, 1, 1, 1, 0, 1], _words(rng, 40 * 9, 16),
               rng.integers(60, 80, size=40)),
        OpSpec(OpCode.BMAXPOOL2D, T_CONV, NO_TENSOR, T_POOL, [2, 2, 2, 2, 1]),
        OpSpec(OpCode.BDEPTHWISE2D, T_POOL, NO_TENSOR, T_DW, [3, 3, 1, 1, 1], _words(rng, 9, 40), rng.integers(3, 6, size=40)),
        OpSpec(OpCode.BDENSE, T_DW, NO_TENSOR, T_LAT, [40, 24], _words(rng, 24, 40), rng.integers(15, 25, size=24)),
        OpSpec(OpCode.CONCAT, T_LAT, T_LAT, T_CAT, []),
        OpSpec(OpCode.BDENSE, T_CAT, NO_TENSOR, T_OUT, [48, 5], _words(rng, 5, 48)),
    ]
    tensors, arena = bp.plan_arena(tensors, ops, input_tensor=T_IN, keep=[T_OUT, T_LAT])
    return Pack(tensors, ops, T_IN, T_LAT, T_OUT, arena, 16, {"preset": "test", "classes": list("abcde")})


@pytest.fixture(scope="module")
def pack() -> Pack:
    return make_pack()


@pytest.fixture(scope="module")
def blob(pack: Pack) -> bytes:
    return write_pack(pack)


N_T, N_O = 8, 7
TENSOR_AT = lambda i: 64 + 24 * i  # noqa: E731
OP_AT = lambda j: 64 + 24 * N_T + 64 * j  # noqa: E731


def patch(data: bytes, offset: int, fmt: str, *values: int, fix_payload: bool = True, fix_header: bool = True) -> bytes:
    """Overwrite ``struct.pack(fmt, *values)`` at ``offset`` and recompute the CRCs, so the
    check under test (not a CRC) is the one that fires."""
    b = bytearray(data)
    struct.pack_into(fmt, b, offset, *values)
    if fix_payload:
        payload_size = struct.unpack_from("<I", b, 12)[0]
        struct.pack_into("<I", b, 16, zlib.crc32(bytes(b[64 : 64 + payload_size])))
    if fix_header:
        struct.pack_into("<I", b, 60, zlib.crc32(bytes(b[:60])))
    return bytes(b)


def u32(data: bytes, off: int) -> int:
    return struct.unpack_from("<I", data, off)[0]


def u16(data: bytes, off: int) -> int:
    return struct.unpack_from("<H", data, off)[0]


def rejects(data: bytes, *substrings: str) -> str:
    with pytest.raises(PackError) as info:
        read_pack(data)
    msg = str(info.value)
    assert "\n" not in msg
    for s in substrings:
        assert s in msg, f"{s!r} not in {msg!r}"
    return msg


def rewritten(pack: Pack, **changes) -> bytes:
    """Bytes of ``pack`` with some fields replaced, written without validation."""
    return write_pack(replace(pack, **changes), validate=False)


def with_op(pack: Pack, index: int, **changes) -> bytes:
    ops = list(pack.ops)
    ops[index] = replace(ops[index], **changes)
    return rewritten(pack, ops=ops)


def with_tensor(pack: Pack, index: int, **changes) -> bytes:
    tensors = list(pack.tensors)
    tensors[index] = replace(tensors[index], **changes)
    return rewritten(pack, tensors=tensors)


# --------------------------------------------------------------------------------------------
# Layout and round trip
# --------------------------------------------------------------------------------------------


def test_round_trip_equal(pack: Pack, blob: bytes) -> None:
    back = read_pack(blob)
    assert back == pack
    assert back.ops[1].weights.dtype == np.uint32 and back.ops[1].thresholds.dtype == np.int32
    assert write_pack(back) == blob  # deterministic, stable


def test_round_trip_detects_differences(pack: Pack) -> None:
    other = make_pack(seed=1)
    assert other != pack  # weights differ
    assert read_pack(write_pack(other)) == other


def test_header_layout_matches_format_md(pack: Pack, blob: bytes) -> None:
    assert blob[:4] == b"BNNP"
    assert (u16(blob, 4), u16(blob, 6), u32(blob, 8)) == (1, 0, 64)
    assert u32(blob, 12) == len(blob) - 64
    assert u32(blob, 16) == zlib.crc32(blob[64:])
    assert (u32(blob, 20), u32(blob, 24)) == (N_T, N_O)
    assert (u32(blob, 28), u32(blob, 32)) == (pack.arena_bytes, 16)
    assert (u16(blob, 36), u16(blob, 38), u16(blob, 40), u16(blob, 42)) == (T_IN, T_LAT, T_OUT, 0)
    assert u32(blob, 44) == 0 and u32(blob, 56) == 0
    assert u32(blob, 60) == zlib.crc32(blob[:60])
    meta_off, meta_len = u32(blob, 48), u32(blob, 52)
    assert json.loads(blob[64 + meta_off : 64 + meta_off + meta_len]) == pack.meta
    assert (64 + meta_off + meta_len + 3) // 4 * 4 == len(blob)


def test_tensor_and_op_entries_layout(pack: Pack, blob: bytes) -> None:
    # tensor 2: BITS [6,6,40] -> 6*6*2 words
    t = struct.unpack_from("<6I", blob, TENSOR_AT(T_CONV))
    assert t[:4] == (DType.BITS, 6, 6, 40) and t[5] == 6 * 6 * 2 * 4 and t[4] == pack.tensors[T_CONV].arena_offset
    # uint8 [6,6,2] = 72 bytes; int32 [1,1,5] = 20 bytes
    assert u32(blob, TENSOR_AT(T_IN) + 20) == 72 and u32(blob, TENSOR_AT(T_OUT) + 20) == 20
    # op 1: BCONV2D, ids, params, weights / thresholds ranges
    typ, flags, in0, in1, out, res = struct.unpack_from("<6H", blob, OP_AT(1))
    assert (typ, flags, in0, in1, out, res) == (OpCode.BCONV2D, 0, T_THERMO, 0xFFFF, T_CONV, 0)
    assert list(struct.unpack_from("<8i", blob, OP_AT(1) + 12)) == [3, 3, 1, 1, 1, 1, 0, 1]
    w_off, w_len, t_off, t_len, res2 = struct.unpack_from("<5I", blob, OP_AT(1) + 44)
    assert w_len == 40 * 9 * 1 * 4 and t_len == 40 * 4 and res2 == 0
    assert w_off % 4 == 0 and t_off % 4 == 0 and w_off >= 24 * N_T + 64 * N_O
    got = np.frombuffer(blob, "<u4", count=w_len // 4, offset=64 + w_off)
    assert np.array_equal(got, pack.ops[1].weights)
    # an op without weights has offset and length 0
    assert struct.unpack_from("<4I", blob, OP_AT(2) + 44) == (0, 0, 0, 0)
    # CONCAT with in0 == in1
    assert struct.unpack_from("<3H", blob, OP_AT(5) + 4) == (T_LAT, T_LAT, T_CAT)


def test_no_meta_and_no_latent() -> None:
    p = replace(make_pack(), meta={}, latent_tensor=None)
    data = write_pack(p)
    assert (u32(data, 48), u32(data, 52)) == (0, 0)
    assert u16(data, 38) == 0xFFFF
    back = read_pack(data)
    assert back.meta == {} and back.latent_tensor == NO_TENSOR and not back.has_latent


def test_other_minor_version_and_trailing_bytes_accepted(blob: bytes) -> None:
    assert read_pack(patch(blob, 6, "<H", 7)) == read_pack(blob)
    assert read_pack(blob + b"\0" * 12) == read_pack(blob)
    assert read_pack(bytearray(blob)) == read_pack(memoryview(blob))


def test_opspec_normalisation() -> None:
    op = OpSpec(OpCode.BDENSE, 0, None, 1, [64, 3], np.array([[-1, 0]] * 3, dtype=np.int32), [1, 2, 3])
    assert op.params == [64, 3, 0, 0, 0, 0, 0, 0] and op.in1 == NO_TENSOR
    assert op.weights.dtype == np.uint32 and op.weights.tolist() == [0xFFFFFFFF, 0] * 3
    assert op.thresholds.dtype == np.int32
    with pytest.raises(PackError, match="at most 8"):
        OpSpec(OpCode.BCONV2D, 0, None, 1, list(range(9)))
    with pytest.raises(PackError, match="do not fit u32"):
        OpSpec(OpCode.BDENSE, 0, None, 1, [1, 1], np.array([2**32]))
    with pytest.raises(PackError, match="do not fit int32"):
        OpSpec(OpCode.BDENSE, 0, None, 1, [1, 1], None, np.array([2**31]))


def test_pack_error_is_reported_like_a_user_error(capsys: pytest.CaptureFixture[str]) -> None:
    """A converters error (no bnn_edge base class) still becomes the CLI's one ``error:`` line, exit 2."""
    from bnn_edge.cli import user_errors

    assert issubclass(PackError, FormatError) and issubclass(FormatError, ValueError)

    @user_errors
    def command() -> None:
        read_pack(b"XXXX" + bytes(60))

    with pytest.raises(SystemExit) as info:
        command()
    assert info.value.code == 2
    assert capsys.readouterr().err == "error: bad magic b'XXXX' (expected b'BNNP')\n"


def test_converters_are_a_standalone_layer() -> None:
    """converters/ imports nothing from bnn_edge (and reading a flatbuffer does not start TensorFlow)."""
    code = (
        "import sys; sys.modules['bnn_edge'] = None\n"
        "import converters.bitpack, converters.bnnpack, converters.errors, converters.lower, converters.ops\n"
        "from converters.tflite_reader import read_tflite\n"
        "g = read_tflite(open('firmware/fuzz/corpus/tflite/small.tflite', 'rb').read())\n"
        "assert g.ops and 'tensorflow' not in sys.modules, sorted(sys.modules)\n"
    )
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(root)})
    assert proc.returncode == 0, proc.stderr


def test_op_table_rows() -> None:
    """One row per op code; each row's names agree with the format (FORMAT.md op sections)."""
    assert sorted(OP_RULES) == sorted(OpCode) == list(range(1, len(OpCode) + 1))
    for code, rule in OP_RULES.items():
        assert rule.code == code and rule.name == code.name
        assert len(rule.params) <= bp.N_PARAMS and set(rule.positive) <= set(rule.params)
        assert rule.n_inputs in (1, 2) and rule.output and all(rule.inputs)
        assert OpSpec(code, 0, 0 if rule.n_inputs == 2 else None, 1, [1] * len(rule.params)).named_params() == \
            dict.fromkeys(rule.params, 1)
    assert OP_RULES[OpCode.CONCAT].n_inputs == 2
    assert OP_RULES[OpCode.BCONV2D].params[6:] == ("padding", "groups")


def test_sizes() -> None:
    assert TensorSpec(DType.BITS, 2, 3, 33).size_bytes == 2 * 3 * 2 * 4
    assert TensorSpec(DType.BITS, 1, 1, 32).size_bytes == 4
    assert TensorSpec(DType.INT32, 2, 2, 3).size_bytes == 48
    assert TensorSpec(DType.UINT8, 3, 3, 1).size_bytes == 12  # 9 rounded up
    assert TensorSpec(DType.UINT8, 2, 2, 1).size_bytes == 4
    with pytest.raises(PackError, match="unknown dtype 5"):
        TensorSpec(5, 1, 1, 1).size_bytes


@pytest.mark.parametrize(
    "size,k,s,d,before_after,out",
    [
        (6, 3, 1, 1, (1, 1), 6),
        (6, 2, 1, 1, (0, 1), 6),  # even kernel: the extra pad goes after
        (7, 3, 2, 1, (1, 1), 4),
        (6, 3, 2, 1, (0, 1), 3),
        (7, 3, 1, 2, (2, 2), 7),
        (5, 5, 2, 1, (2, 2), 3),
        (1, 3, 1, 1, (1, 1), 1),
    ],
)
def test_same_padding_tf_rules(size: int, k: int, s: int, d: int, before_after: tuple[int, int], out: int) -> None:
    assert bp.same_padding(size, k, s, d) == before_after
    assert bp.conv_output_size(size, k, s, d, Padding.SAME) == out


def test_valid_output_size() -> None:
    assert bp.conv_output_size(8, 3, 2, 1, Padding.VALID) == 3
    assert bp.conv_output_size(8, 3, 1, 2, Padding.VALID) == 4
    assert bp.conv_output_size(4, 3, 1, 2, Padding.VALID) == 0


def test_storage_round_trip() -> None:
    rng = np.random.default_rng(3)
    u8 = TensorSpec(DType.UINT8, 3, 3, 1)
    x = rng.integers(0, 256, (3, 3, 1), dtype=np.uint8)
    raw = bp.to_storage(u8, x)
    assert len(raw) == 12 and raw[:9] == x.tobytes() and raw[9:] == b"\0\0\0"
    assert np.array_equal(bp.from_storage(u8, raw), x)
    i32 = TensorSpec(DType.INT32, 1, 1, 3)
    raw = bp.to_storage(i32, np.array([[[-1, 2, -(2**31)]]], dtype=np.int32))
    assert raw == struct.pack("<3i", -1, 2, -(2**31))
    bits = TensorSpec(DType.BITS, 1, 2, 40)
    v = np.array([[[0x80000001, 0xFF], [5, 0]]], dtype=np.uint32)
    raw = bp.to_storage(bits, v)
    assert raw == struct.pack("<4I", 0x80000001, 0xFF, 5, 0)
    assert np.array_equal(bp.from_storage(bits, raw), v)
    with pytest.raises(PackError, match="expected \\(1, 2, 2\\)"):
        bp.to_storage(bits, v[:, :1])


def test_plan_arena_never_overlaps_live_tensors(pack: Pack) -> None:
    tensors = pack.tensors
    # lifetimes as in the planner's contract
    live: dict[int, tuple[int, int]] = {T_IN: (-1, len(pack.ops))}
    for k, op in enumerate(pack.ops):
        live.setdefault(op.out, (k, k))
        for tid in (op.in0, op.in1):
            if tid != NO_TENSOR:
                live[tid] = (live[tid][0], max(live[tid][1], k))
    for tid in (T_OUT, T_LAT):
        live[tid] = (live[tid][0], len(pack.ops))
    for a in range(len(tensors)):
        for b in range(a + 1, len(tensors)):
            (s1, e1), (s2, e2) = live[a], live[b]
            if s1 <= e2 and s2 <= e1:
                ta, tb = tensors[a], tensors[b]
                assert ta.arena_offset + ta.size_bytes <= tb.arena_offset or tb.arena_offset + tb.size_bytes <= ta.arena_offset, (a, b)
    assert all(t.arena_offset % 4 == 0 for t in tensors)
    assert pack.arena_bytes < sum(t.size_bytes for t in tensors)  # memory is reused


def test_describe_valid(pack: Pack, blob: bytes) -> None:
    d = describe(blob)
    assert d["valid"] and d["error"] is None
    assert d["crc_ok"] == {"header": True, "payload": True}
    assert d["header"]["magic"] == "BNNP" and d["header"]["n_ops"] == N_O
    assert [o["name"] for o in d["ops"]] == ["THERMO_ENCODE", "BCONV2D", "BMAXPOOL2D", "BDEPTHWISE2D", "BDENSE",
                                             "CONCAT", "BDENSE"]
    conv = d["ops"][1]
    assert conv["params"] == {"kh": 3, "kw": 3, "stride_h": 1, "stride_w": 1, "dilation_h": 1, "dilation_w": 1,
                              "padding": 0, "groups": 1}
    assert conv["in_shapes"] == [[6, 6, 16]] and conv["out_shape"] == [6, 6, 40] and conv["weights_bytes"] == 1440
    assert d["ops"][5]["in1"] == T_LAT and d["ops"][2]["in1"] is None
    assert d["sizes"]["file_bytes"] == len(blob)
    assert d["sizes"]["weights_bytes"] == sum(0 if o.weights is None else o.weights.size * 4 for o in pack.ops)
    assert d["meta"] == pack.meta and d["latent_tensor"] == T_LAT
    json.dumps(d)  # JSON-able
    assert describe(pack)["ops"] == d["ops"]


def test_describe_corrupted(blob: bytes) -> None:
    bad = bytearray(blob)
    bad[-8] ^= 0xFF
    d = describe(bytes(bad))
    assert not d["valid"] and "payload CRC mismatch" in d["error"]
    assert d["crc_ok"] == {"header": True, "payload": False}
    assert d["ops"] == [] and d["header"]["n_tensors"] == N_T
    assert describe(b"xx")["header"] is None


def test_write_refuses_invalid_pack(pack: Pack) -> None:
    ops = list(pack.ops)
    ops[1] = replace(ops[1], weights=ops[1].weights[:-1])
    with pytest.raises(PackError, match="op 1 \\(BCONV2D\\): weights length 1436 bytes, expected 1440"):
        write_pack(replace(pack, ops=ops))


def test_shape_check_and_infer_output_shape() -> None:
    op = OpSpec(OpCode.BCONV2D, 0, None, 1, [3, 3, 2, 2, 1, 1, 0, 2], np.zeros(8 * 9 * 1, np.uint32))
    assert bp.infer_output_shape(op, [(7, 6, 64)]) == (4, 3, 8)  # cout from the weights
    assert bp.infer_output_shape(op, [(7, 6, 64)], cout=16) == (4, 3, 16)
    tensors = [TensorSpec(DType.BITS, 7, 6, 64), TensorSpec(DType.INT32, 4, 3, 8)]
    assert bp.shape_check(op, tensors) == (4, 3, 8)
    with pytest.raises(PackError, match="out tensor 1 has shape \\[4,4,8\\], expected \\[4,3,8\\]"):
        bp.shape_check(op, [tensors[0], TensorSpec(DType.INT32, 4, 4, 8)])
    assert bp.infer_output_shape(OpSpec(OpCode.CONCAT, 0, 0, 1, []), [(2, 3, 5), (2, 3, 7)]) == (2, 3, 12)
    assert bp.infer_output_shape(OpSpec(OpCode.BDENSE, 0, None, 1, [256, 9]), [(2, 2, 64)]) == (1, 1, 9)
    assert bp.infer_output_shape(OpSpec(OpCode.BMAXPOOL2D, 0, None, 1, [3, 3, 2, 2, 1]), [(7, 6, 3)]) == (3, 2, 3)
    assert bp.infer_output_shape(OpSpec(OpCode.THERMO_ENCODE, 0, None, 1, [85]), [(4, 4, 3)]) == (4, 4, 255)


# --------------------------------------------------------------------------------------------
# Header-level rejections
# --------------------------------------------------------------------------------------------


def test_reject_bad_magic(blob: bytes) -> None:
    rejects(patch(blob, 0, "<4s", b"XXXX"), "bad magic b'XXXX' (expected b'BNNP')")


def test_reject_version_major(blob: bytes) -> None:
    rejects(patch(blob, 4, "<H", 2), "unsupported version_major 2")


def test_reject_header_size(blob: bytes) -> None:
    rejects(patch(blob, 8, "<I", 80), "header_size 80, expected 64")


def test_reject_header_crc(blob: bytes) -> None:
    msg = rejects(patch(blob, 28, "<I", 999999, fix_header=False), "header CRC mismatch", "file corrupted?")
    assert f"stored 0x{u32(blob, 60):08x}" in msg


def test_reject_payload_crc(blob: bytes) -> None:
    b = bytearray(blob)
    b[OP_AT(N_O) + 5] ^= 0x10  # a weight bit
    msg = rejects(bytes(b), "payload CRC mismatch", "file corrupted?")
    assert f"stored 0x{u32(blob, 16):08x}, computed 0x{zlib.crc32(bytes(b[64:])):08x}" in msg


@pytest.mark.parametrize("n", [0, 10, 63])
def test_reject_truncated_header(blob: bytes, n: int) -> None:
    rejects(blob[:n], f"truncated: {n} bytes", "needs 64")


def test_reject_truncated_payload(blob: bytes) -> None:
    rejects(blob[:-4], "truncated: payload_size", f"only {len(blob) - 4} given")


def test_reject_payload_size_past_end(blob: bytes) -> None:
    rejects(patch(blob, 12, "<I", 2**32 - 1, fix_payload=False), "truncated: payload_size 4294967295")


@pytest.mark.parametrize("field,off,value", [("n_tensors", 20, 0), ("n_ops", 24, 0), ("n_tensors", 20, 65535),
                                             ("n_ops", 24, 70000)])
def test_reject_table_counts(blob: bytes, field: str, off: int, value: int) -> None:
    rejects(patch(blob, off, "<I", value), f"{field} {value}, expected 1..65534")


def test_reject_tables_past_payload(blob: bytes) -> None:
    rejects(patch(blob, 24, "<I", 5000), "tensor and op tables", "run past the payload end")


# --------------------------------------------------------------------------------------------
# Tensor rejections
# --------------------------------------------------------------------------------------------


def test_reject_unknown_dtype(blob: bytes) -> None:
    rejects(patch(blob, TENSOR_AT(3), "<I", 7), "tensor 3: unknown dtype 7")


def test_reject_wrong_size_bytes(blob: bytes) -> None:
    rejects(patch(blob, TENSOR_AT(2) + 20, "<I", 288 - 4), "tensor 2: size_bytes 284, expected 288",
            "BITS [6,6,40]")


def test_reject_misaligned_arena_offset(blob: bytes) -> None:
    off = u32(blob, TENSOR_AT(4) + 16)
    rejects(patch(blob, TENSOR_AT(4) + 16, "<I", off + 2), f"tensor 4: arena_offset {off + 2} is not a multiple of 4")


def test_reject_tensor_past_arena(blob: bytes, pack: Pack) -> None:
    rejects(patch(blob, 28, "<I", pack.arena_bytes - 4), "exceeds arena_bytes")


def test_reject_arena_offset_overflow(blob: bytes) -> None:
    rejects(patch(blob, TENSOR_AT(1) + 16, "<I", 2**32 - 4), "tensor 1: arena range", "exceeds arena_bytes")


def test_reject_zero_dim(pack: Pack) -> None:
    rejects(with_tensor(pack, T_OUT, c=0), "tensor 7: c = 0")


# --------------------------------------------------------------------------------------------
# Op rejections
# --------------------------------------------------------------------------------------------


def test_reject_unknown_op_type(blob: bytes) -> None:
    rejects(patch(blob, OP_AT(2), "<H", 9), "op 2 (type 9): unknown op type 9")


@pytest.mark.parametrize("field,off", [("in0", 4), ("out", 8)])
def test_reject_tensor_id_out_of_range(blob: bytes, field: str, off: int) -> None:
    rejects(patch(blob, OP_AT(1) + off, "<H", 8), f"op 1 (BCONV2D): {field} tensor id 8 out of range (n_tensors = 8)")


def test_reject_concat_missing_in1(blob: bytes) -> None:
    rejects(patch(blob, OP_AT(5) + 6, "<H", 0xFFFF), "op 5 (CONCAT): in1 tensor id 65535 out of range")


def test_reject_in1_on_single_input_op(blob: bytes) -> None:
    rejects(patch(blob, OP_AT(2) + 6, "<H", 1), "op 2 (BMAXPOOL2D): in1 = 1, expected 0xFFFF")


def test_reject_misaligned_weights(blob: bytes) -> None:
    w_off = u32(blob, OP_AT(1) + 44)
    rejects(patch(blob, OP_AT(1) + 44, "<I", w_off + 2), f"op 1 (BCONV2D): weights offset {w_off + 2} is not 4-byte aligned")


def test_reject_weights_past_payload(blob: bytes) -> None:
    rejects(patch(blob, OP_AT(4) + 44, "<I", len(blob) - 64 - 8), "op 4 (BDENSE): weights range", "runs past the payload end")


def test_reject_thresholds_past_payload(blob: bytes) -> None:
    rejects(patch(blob, OP_AT(4) + 52, "<I", 2**32 - 4), "op 4 (BDENSE): thresholds range", "runs past the payload end")


def test_reject_weights_length_not_multiple_of_4(blob: bytes) -> None:
    rejects(patch(blob, OP_AT(1) + 48, "<I", 1438), "op 1 (BCONV2D): weights length 1438 bytes is not a multiple of 4")


def test_reject_wrong_weight_length(blob: bytes) -> None:
    rejects(patch(blob, OP_AT(1) + 48, "<I", 1436), "op 1 (BCONV2D): weights length 1436 bytes, expected 1440",
            "cout=40 x kh=3 x kw=3 x words(cin_g=16)=1")


def test_reject_missing_weights(blob: bytes) -> None:
    rejects(patch(blob, OP_AT(3) + 44, "<2I", 0, 0), "op 3 (BDEPTHWISE2D): weights length 0 bytes, expected 72")


def test_reject_weights_on_op_without_weights(pack: Pack) -> None:
    rejects(with_op(pack, 2, weights=np.zeros(4, np.uint32)), "op 2 (BMAXPOOL2D): weights length 16 bytes, expected 0")


def test_reject_wrong_threshold_length(blob: bytes) -> None:
    rejects(patch(blob, OP_AT(1) + 56, "<I", 156), "op 1 (BCONV2D): thresholds length 156 bytes, expected 160")


def test_reject_thresholds_on_int32_output(pack: Pack) -> None:
    rejects(with_op(pack, 6, thresholds=np.zeros(5, np.int32)),
            "op 6 (BDENSE): thresholds length 20 bytes, expected 0 (INT32 output takes none)")


def test_reject_nonzero_weight_tail_bits(pack: Pack) -> None:
    w = pack.ops[3].weights.copy()  # depthwise, c = 40 -> 2 words per tap, 8 valid bits in the 2nd
    w[5] |= 1 << 20
    rejects(with_op(pack, 3, weights=w), "op 3 (BDEPTHWISE2D): weights row 2 has nonzero tail bits past channel 40")


def test_reject_wrong_dtypes(pack: Pack) -> None:
    rejects(with_op(pack, 1, in0=T_IN), "op 1 (BCONV2D): in0 tensor 0 has dtype UINT8, expected BITS")
    rejects(with_op(pack, 0, out=T_OUT), "op 0 (THERMO_ENCODE): out tensor 7 has dtype INT32, expected BITS")
    rejects(with_op(pack, 2, out=T_OUT), "op 2 (BMAXPOOL2D): out tensor 7 has dtype INT32, expected BITS")
    rejects(with_op(pack, 0, in0=T_THERMO), "op 0 (THERMO_ENCODE): in0 tensor 1 has dtype BITS, expected UINT8")


def test_reject_shape_inconsistency(pack: Pack) -> None:
    rejects(with_tensor(pack, T_POOL, h=2), "op 2 (BMAXPOOL2D): out tensor 3 has shape [2,3,40], expected [3,3,40]")
    rejects(with_tensor(pack, T_THERMO, c=17), "op 0 (THERMO_ENCODE): out tensor 1 has shape [6,6,17], expected [6,6,16]")
    rejects(with_tensor(pack, T_CAT, c=47), "op 5 (CONCAT): out tensor 6 has shape [1,1,47], expected [1,1,48]")


@pytest.mark.parametrize(
    "index,params,message",
    [
        (1, [3, 3, 0, 1, 1, 1, 0, 1], "op 1 (BCONV2D): param stride_h = 0, expected >= 1"),
        (1, [3, 3, 1, 1, 1, 1, 2, 1], "op 1 (BCONV2D): padding 2, expected 0 (SAME) or 1 (VALID)"),
        (1, [3, 3, 1, 1, 1, 1, 0, 2], "op 1 (BCONV2D): cin/groups = 8 must be a multiple of 32 when groups > 1"),
        (1, [3, 3, 1, 1, 1, 1, 0, 3], "op 1 (BCONV2D): cin 16 is not a multiple of groups 3"),
        (1, [7, 3, 1, 1, 1, 1, 1, 1], "op 1 (BCONV2D): VALID window 7x3 does not fit the 6x6 input"),
        (1, [3, 3, 1, 1, 3, 1, 1, 1], "op 1 (BCONV2D): VALID window 7x3 does not fit the 6x6 input"),
        (2, [2, 2, 2, 2, 0], "op 2 (BMAXPOOL2D): padding 0, expected 1 (VALID"),
        (2, [2, 0, 2, 2, 1], "op 2 (BMAXPOOL2D): param kw = 0, expected >= 1"),
        (3, [3, 3, 1, 1, 7], "op 3 (BDEPTHWISE2D): padding 7"),
        (4, [41, 24], "op 4 (BDENSE): param cin 41, expected h*w*c = 1*1*40 = 40"),
        (0, [0], "op 0 (THERMO_ENCODE): param levels = 0, expected >= 1"),
    ],
)
def test_reject_bad_params(pack: Pack, index: int, params: list[int], message: str) -> None:
    rejects(with_op(pack, index, params=params), message)


def test_reject_grouped_conv_cout_not_multiple() -> None:
    tensors = [TensorSpec(DType.BITS, 4, 4, 64), TensorSpec(DType.BITS, 4, 4, 3)]
    op = OpSpec(OpCode.BCONV2D, 0, None, 1, [1, 1, 1, 1, 1, 1, 0, 2], np.zeros(3, np.uint32), np.zeros(3, np.int32))
    p = Pack(tensors, [op], 0, None, 1, 4096)
    rejects(write_pack(p, validate=False), "op 0 (BCONV2D): cout 3 is not a positive multiple of groups 2")


def test_reject_dense_on_unflattenable_input() -> None:
    tensors = [TensorSpec(DType.BITS, 2, 2, 40), TensorSpec(DType.BITS, 1, 1, 4)]
    op = OpSpec(OpCode.BDENSE, 0, None, 1, [160, 4], np.zeros(4 * 5, np.uint32), np.zeros(4, np.int32))
    rejects(write_pack(Pack(tensors, [op], 0, None, 1, 4096), validate=False),
            "op 0 (BDENSE): input [2,2,40] is not a packed flat vector")


def test_reject_concat_spatial_mismatch() -> None:
    tensors = [TensorSpec(DType.BITS, 2, 2, 8), TensorSpec(DType.BITS, 2, 3, 8), TensorSpec(DType.BITS, 2, 2, 16)]
    op = OpSpec(OpCode.CONCAT, 0, 1, 2, [])
    rejects(write_pack(Pack(tensors, [op], 0, None, 2, 4096), validate=False),
            "op 0 (CONCAT): inputs have different spatial shapes [2,2] and [2,3]")


def test_reject_bad_thermo_thresholds(pack: Pack) -> None:
    rejects(with_op(pack, 0, thresholds=np.array([0, 10, 40, 30, 90, 150, 200, 255])),
            "op 0 (THERMO_ENCODE): thresholds must be non-decreasing")
    rejects(with_op(pack, 0, thresholds=np.array([0, 10, 40, 40, 90, 150, 200, 256])),
            "op 0 (THERMO_ENCODE): thresholds must be u8-valued (0..255)")


# --------------------------------------------------------------------------------------------
# Special tensors and metadata
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("field,off", [("input_tensor", 36), ("output_tensor", 40), ("latent_tensor", 38)])
def test_reject_special_tensor_out_of_range(blob: bytes, field: str, off: int) -> None:
    rejects(patch(blob, off, "<H", 8), f"{field} 8 out of range (n_tensors = 8")


def test_reject_latent_not_bits(blob: bytes) -> None:
    rejects(patch(blob, 38, "<H", T_OUT), "latent_tensor 7 has dtype INT32, expected BITS")


def test_reject_meta_past_payload(blob: bytes) -> None:
    rejects(patch(blob, 52, "<I", len(blob)), "metadata range", "runs past the payload end")


def test_reject_meta_not_json(blob: bytes) -> None:
    meta_off = u32(blob, 48)
    rejects(patch(blob, 64 + meta_off, "<4s", b"\xff\xfe{x"), "metadata is not valid UTF-8 JSON")


def test_reject_meta_not_object(blob: bytes) -> None:
    meta_off = u32(blob, 48)
    b = patch(blob, 52, "<I", 3)
    b = patch(b, 64 + meta_off, "<3s", b"[1]")
    rejects(b, "metadata must be a JSON object, got list")


def test_reject_meta_nested_past_the_parser(pack: Pack) -> None:
    """Metadata nested deeper than Python's recursion limit: a PackError, not a RecursionError."""
    n = 20_000
    b = write_pack(replace(pack, meta={"pad": "x" * (2 * n)}))
    meta_off, meta_len = u32(b, 48), u32(b, 52)
    deep = (b"[" * n + b"]" * n).ljust(meta_len, b" ")
    rejects(patch(b, 64 + meta_off, f"<{meta_len}s", deep), "metadata is not valid JSON", "nested")


def test_every_byte_flip_is_detected(blob: bytes) -> None:
    """Any single corrupted byte in header or payload is rejected, never crashes."""
    rng = np.random.default_rng(7)
    for pos in rng.choice(len(blob), size=60, replace=False):
        b = bytearray(blob)
        b[pos] ^= 1 << int(rng.integers(8))
        with pytest.raises(PackError):
            read_pack(bytes(b))


def test_random_garbage_never_crashes() -> None:
    """Structurally random packs with valid CRCs raise PackError, never another exception."""
    rng = np.random.default_rng(11)
    good = write_pack(make_pack())
    for _ in range(300):
        b = bytearray(good)
        for _ in range(int(rng.integers(1, 4))):
            pos = int(rng.integers(20, OP_AT(N_O)))  # header fields and tables
            b[pos] = int(rng.integers(256))
        b = patch(bytes(b), 0, "<4s", b"BNNP")
        try:
            read_pack(b)
        except PackError:
            pass
