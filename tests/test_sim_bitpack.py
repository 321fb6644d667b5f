"""Bit packing (converters/bitpack.py): properties against a naive per-bit definition."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from converters.bitpack import from_pm1, pack_bits, tail_mask, to_pm1, unpack_bits, words

bool_arrays = hnp.arrays(
    dtype=bool,
    shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=70),
)


def naive_pack(bits: np.ndarray) -> np.ndarray:
    """FORMAT.md literally: channel k is bit k % 32 of word k // 32."""
    c = bits.shape[-1]
    flat = bits.reshape(-1, c)
    out = np.zeros((flat.shape[0], (c + 31) // 32), dtype=np.uint64)
    for r in range(flat.shape[0]):
        for k in range(c):
            if flat[r, k]:
                out[r, k // 32] |= np.uint64(1) << np.uint64(k % 32)
    return out.astype(np.uint32).reshape(bits.shape[:-1] + (out.shape[1],))


@settings(max_examples=60, deadline=None)
@given(bool_arrays)
def test_pack_matches_naive_definition(bits: np.ndarray) -> None:
    packed = pack_bits(bits)
    assert packed.dtype == np.uint32
    assert packed.shape == bits.shape[:-1] + (words(bits.shape[-1]),)
    assert np.array_equal(packed, naive_pack(bits))


@settings(max_examples=60, deadline=None)
@given(bool_arrays)
def test_round_trip_and_zero_tail(bits: np.ndarray) -> None:
    c = bits.shape[-1]
    packed = pack_bits(bits)
    assert np.array_equal(unpack_bits(packed, c), bits)
    assert not np.any(packed[..., -1] & np.uint32(~tail_mask(c) & 0xFFFFFFFF))


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.uint32, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5)), st.integers(0, 31))
def test_unpack_then_pack_clears_only_tail(ws: np.ndarray, drop: int) -> None:
    c = ws.shape[-1] * 32 - drop
    if c <= 0:
        return
    repacked = pack_bits(unpack_bits(ws, c))
    expected = ws.copy()
    expected[..., -1] &= np.uint32(tail_mask(c))
    assert np.array_equal(repacked, expected)


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=2, max_side=80),
                  elements=st.sampled_from([-1.0, 1.0])))
def test_pm1_round_trip(values: np.ndarray) -> None:
    packed = from_pm1(values)
    back = to_pm1(packed, values.shape[-1])
    assert back.dtype == np.int8
    assert np.array_equal(back, values.astype(np.int8))
    assert np.array_equal(unpack_bits(packed, values.shape[-1]), values < 0)  # bit 1 means -1


def test_conventions_explicit() -> None:
    # channel 0 -> LSB of word 0, channel 32 -> LSB of word 1, -1 is bit 1, 0.0 packs as +1
    v = np.ones(40)
    v[0] = -1
    v[33] = -1
    v[39] = 0.0
    assert from_pm1(v).tolist() == [1, 2]
    assert pack_bits(np.array([False] * 31 + [True])).tolist() == [0x80000000]
    assert words(0) == 0 and words(1) == 1 and words(32) == 1 and words(33) == 2 and words(255) == 8
    assert tail_mask(40) == 0xFF and tail_mask(64) == 0xFFFFFFFF
    # little-endian bytes: the packed vector's bytes are the channels in order, LSB first
    assert pack_bits(np.array([True, False, False, False, False, False, False, False, True])).view(np.uint8).tolist()[:2] == [1, 1]
    # LCE int32 words: to_pm1 reads them by bits
    assert to_pm1(np.array([-1], dtype=np.int32), 32).tolist() == [-1] * 32
