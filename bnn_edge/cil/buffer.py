"""The replay buffer: a bit budget in megabits, exact accounting, class-balanced replacement.

Accounting (1 Mb = 10^6 bits)::

    capacity_bits   = floor(buffer_mb * 10^6)
    bits_per_sample = payload_bits + ceil(log2(num_classes))          (payload: see codec.py)
    capacity        = floor(capacity_bits / bits_per_sample)          samples
    bits_used       = stored_samples * bits_per_sample  <=  capacity_bits

Replacement (after each phase, :meth:`ClassBalancedBuffer.update`): every seen class gets an equal
share of the ``capacity`` slots, ``floor(capacity / n_seen)``, the ``capacity mod n_seen`` spare
slots going to randomly chosen classes (a water-filling: a class with fewer candidates than its
share keeps all of them and its unused slots are shared among the others). Within a class the
kept samples are a uniform random subset of its candidates (the stored ones for an old class, the
task's training samples for a new one). A uniform subset of a uniform subset is uniform, so each
class's content has the distribution that class-balanced reservoir sampling gives; every draw
comes from one ``numpy.random.default_rng(seed)`` stream, so a run is reproducible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bnn_edge.cil.codec import Codec, label_bits

BITS_PER_MB = 1_000_000


@dataclass(frozen=True)
class BufferBudget:
    """What a ``buffer_mb`` budget holds for samples of ``payload_bits`` among ``num_classes``."""

    buffer_mb: float
    payload_bits: int
    num_classes: int

    @property
    def capacity_bits(self) -> int:
        """``floor(buffer_mb * 10^6)`` (rounded to the nearest bit first, against float noise)."""
        return int(math.floor(round(self.buffer_mb * BITS_PER_MB, 6)))

    @property
    def label_bits(self) -> int:
        return label_bits(self.num_classes)

    @property
    def bits_per_sample(self) -> int:
        """``payload_bits + ceil(log2(num_classes))``."""
        return self.payload_bits + self.label_bits

    @property
    def capacity(self) -> int:
        """``floor(capacity_bits / bits_per_sample)`` samples."""
        return self.capacity_bits // self.bits_per_sample

    def samples_per_mb(self) -> float:
        """``10^6 / bits_per_sample``: samples per megabit, before flooring."""
        return BITS_PER_MB / self.bits_per_sample

    def as_dict(self) -> dict:
        return {
            "buffer_mb": self.buffer_mb,
            "buffer_bits_capacity": self.capacity_bits,
            "payload_bits": self.payload_bits,
            "label_bits": self.label_bits,
            "bits_per_sample": self.bits_per_sample,
            "buffer_capacity_samples": self.capacity,
        }


def balanced_quotas(available: dict[int, int], capacity: int, rng: np.random.Generator) -> dict[int, int]:
    """Slots per class: equal shares of ``capacity`` capped by ``available[c]`` (water-filling).

    Repeatedly: ``share = floor(free / n_open)`` for the classes still open; a class whose
    ``available`` is below the share is filled and closed; when none is below, every open class
    gets ``share`` and the ``free mod n_open`` spare slots go to distinct random open classes.
    Result: ``sum = min(capacity, sum(available))`` and the quotas differ by at most one among
    classes that are not capped by their availability.
    """
    quota = {c: 0 for c in available}
    open_ = sorted(c for c, n in available.items() if n > 0)
    free = capacity
    while open_ and free > 0:
        share = free // len(open_)
        small = [c for c in open_ if available[c] <= share]
        if small:
            for c in small:
                quota[c] = available[c]
                free -= available[c]
            open_ = [c for c in open_ if c not in small]
            continue
        for c in open_:
            quota[c] = share
        spare = free - share * len(open_)
        for c in rng.choice(open_, size=spare, replace=False):
            quota[int(c)] += 1
        free = 0
    return quota


class ClassBalancedBuffer:
    """Packed replay samples (``uint8`` rows from a :class:`Codec`) and their labels (output rows)."""

    def __init__(self, budget: BufferBudget, codec: Codec, seed: int):
        if codec.payload_bits != budget.payload_bits:
            raise ValueError("codec and budget disagree on the payload size")
        self.budget = budget
        self.codec = codec
        self.rng = np.random.default_rng([seed, 0xB0FF])
        self.packed: np.ndarray | None = None
        self.labels = np.zeros(0, np.int64)

    def __len__(self) -> int:
        return int(len(self.labels))

    @property
    def bits_used(self) -> int:
        """``len(self) * bits_per_sample``."""
        return len(self) * self.budget.bits_per_sample

    def class_counts(self) -> dict[int, int]:
        labels, counts = np.unique(self.labels, return_counts=True)
        return {int(c): int(n) for c, n in zip(labels, counts)}

    def update(self, x_new: np.ndarray, y_new: np.ndarray) -> None:
        """Re-balance over the stored classes plus the new samples ``(x_new, y_new)``.

        ``x_new`` is the unpacked payload (latents or pixels); ``y_new`` output rows. Classes of
        ``y_new`` must be new (class-incremental: a class appears in one phase only).
        """
        y_new = np.asarray(y_new, np.int64)
        new_classes = set(np.unique(y_new).tolist())
        if new_classes & set(self.labels.tolist()):
            raise ValueError("a class of the new samples is already in the buffer")
        candidates: dict[int, np.ndarray] = {}
        for c in np.unique(self.labels):
            candidates[int(c)] = np.flatnonzero(self.labels == c)
        n_old = len(self)
        for c in sorted(new_classes):
            candidates[int(c)] = n_old + np.flatnonzero(y_new == c)
        quotas = balanced_quotas({c: len(idx) for c, idx in candidates.items()}, self.budget.capacity, self.rng)
        keep = []
        for c in sorted(candidates):
            idx = candidates[c]
            q = quotas[c]
            keep.append(np.sort(self.rng.choice(idx, size=q, replace=False)) if q < len(idx) else idx)
        keep_idx = np.concatenate(keep) if keep else np.zeros(0, np.int64)
        old_keep = keep_idx[keep_idx < n_old]
        new_keep = keep_idx[keep_idx >= n_old] - n_old
        parts = []
        if self.packed is not None and len(old_keep):
            parts.append(self.packed[old_keep])
        if len(new_keep):
            parts.append(self.codec.encode(np.asarray(x_new)[new_keep]))
        labels = np.concatenate([self.labels[old_keep], y_new[new_keep]])
        self.packed = np.concatenate(parts) if parts else None
        self.labels = labels.astype(np.int64)
        assert self.bits_used <= self.budget.capacity_bits

    def samples(self) -> tuple[np.ndarray, np.ndarray]:
        """The decoded payloads and their labels (empty arrays when the buffer is empty)."""
        if self.packed is None or not len(self):
            return np.zeros((0,)), np.zeros(0, np.int64)
        return self.codec.decode(self.packed), self.labels.copy()
