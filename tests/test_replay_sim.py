"""The Python replay buffer (bnn_edge.sim.replay): byte budget, CBRS replacement, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bnn_edge.sim.prng import XorShift32
from bnn_edge.sim.replay import ReplayBuffer, replay_slots


def _buf(slots_bytes: int, seed: int = 1, n_latent: int = 64, classes: int = 12) -> ReplayBuffer:
    return ReplayBuffer(n_latent, slots_bytes, classes, XorShift32(seed))


def _offer(b: ReplayBuffer, y: int, idx: int) -> int:
    z = np.array([y, idx], dtype=np.uint32)
    return b.insert(z, y)


def _consistent(b: ReplayBuffer) -> bool:
    lab = b.labels[: b.fill]
    ok_counts = np.array_equal(np.bincount(lab, minlength=b.max_classes), b.count)
    ok_pairs = np.array_equal(b.data[: b.fill, 0], lab)  # latent and label stay together
    return bool(ok_counts and ok_pairs)


def test_capacity_from_budget() -> None:
    assert replay_slots(256, 4096) == 124
    assert replay_slots(1024, 4096) == 31
    assert replay_slots(256, 32) == 0
    with pytest.raises(ValueError, match="smaller than one sample"):
        ReplayBuffer(256, 32, 10, XorShift32(1))
    b = ReplayBuffer(256, 4096, 10, XorShift32(1))
    assert b.n_slots == 124 and b.data_bytes() == 4092 <= 4096


def test_class_by_class_stream_stays_balanced() -> None:
    b = _buf(9 * 124)
    for y in range(10):
        for i in range(150):
            slot = _offer(b, y, i)
            if y == 0 and i < 124:
                assert slot == i
        assert _consistent(b) and b.fill == 124
        lo, hi = 124 // (y + 1), -(-124 // (y + 1))
        assert all(lo <= b.count[c] <= hi for c in range(y + 1))
        assert b.seen[y] == 150


def test_reservoir_within_a_class() -> None:
    b = _buf(9 * 100, seed=3)
    dropped = sum(_offer(b, 0, i) < 0 for i in range(2000))
    assert b.count[0] == 100 and dropped > 1500
    idx = b.data[:, 1]
    assert 30 < np.sum(idx >= 1000) < 70 and 700 < idx.mean() < 1300


def test_minority_classes_are_protected() -> None:
    b = _buf(9 * 60, seed=4)
    r = np.random.default_rng(0)
    for i in range(3000):
        u = r.random()
        _offer(b, 0 if u < 0.8 else (1 if u < 0.95 else 2), i)
    assert _consistent(b) and b.count[1] >= 19 and b.count[2] >= 19


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=300), st.integers(1, 2**32 - 1), st.integers(1, 40))
def test_invariants_and_determinism(labels: list[int], seed: int, slots: int) -> None:
    a, b = _buf(9 * slots, seed, classes=6), _buf(9 * slots, seed, classes=6)
    for i, y in enumerate(labels):
        assert _offer(a, y, i) == _offer(b, y, i)
        assert _consistent(a)
    assert a.fill == min(len(labels), slots)
    assert np.array_equal(a.data, b.data) and a.rng.state == b.rng.state
    # a class with fewer samples than the largest one never loses a sample to a larger one
    assert a.count.sum() == a.fill
    draws = a.draw(5)
    assert len(draws) == 5 and all(0 <= d < a.fill for d in draws)
    perm = a.epoch_order()
    assert sorted(perm) == list(range(a.fill))


def test_empty_buffer_draws_nothing() -> None:
    b = _buf(90)
    assert b.draw(4) == [] and b.epoch_order() == []
