"""Latent replay buffer with a fixed byte budget, bit-exact with ``firmware/src/head/bnn_head_replay.c``.

Storage: ``n_slots = budget_bytes // (4*W + 1)`` samples, ``W = n_latent/32``; each sample is its
bit-packed latent (``W`` u32 words, FORMAT.md packing: bit 1 = -1) plus a u8 label. Per-class
bookkeeping (``count[c]`` stored, ``seen[c]`` offered) is counted separately as buffer metadata.

Replacement is class-balanced reservoir sampling (CBRS, Chrysakis & Moens, ICML 2020), with every
random draw taken from one seeded xorshift32 stream (:mod:`bnn_edge.sim.prng`), so it is
deterministic. Offering sample ``(z, y)``:

1. ``seen[y] += 1`` (saturating at 2**32 - 1).
2. Buffer not full: store in slot ``fill``; ``fill += 1``.
3. Else let ``M = max_c count[c]``.
   a. ``count[y] < M`` (y is not a largest class): the victim class ``v`` is the *lowest* class
      index with ``count[v] == M``; ``r = below(count[v])``; overwrite the ``r``-th slot (in slot
      order) holding class ``v``.
   b. ``count[y] == M``: reservoir within the class: ``u = below(seen[y])``; if ``u < count[y]``
      overwrite the ``u``-th slot holding class ``y``, else drop the sample.

Replay draws: ``below(fill)`` per replayed sample (uniform, with replacement). Epoch order:
Fisher-Yates on the identity ``[0, fill)``: for ``i = fill-1 .. 1``: ``j = below(i+1)``, swap.
"""

from __future__ import annotations

import numpy as np

from bnn_edge.sim.prng import XorShift32


#: the C buffer counts its samples in 16 bits (bnn_head_replay.c)
MAX_REPLAY_SAMPLES = 0xFFFF


def replay_slots(n_latent: int, budget_bytes: int) -> int:
    """Number of samples a ``budget_bytes`` buffer holds: ``budget // (4*ceil(N/32) + 1)``."""
    return budget_bytes // (4 * ((n_latent + 31) // 32) + 1)


class ReplayBuffer:
    """Bit-packed latent store with CBRS replacement (see module docstring for the exact rule)."""

    def __init__(self, n_latent: int, budget_bytes: int, max_classes: int, rng: XorShift32) -> None:
        self.n_latent = n_latent
        self.words = (n_latent + 31) // 32
        self.n_slots = replay_slots(n_latent, budget_bytes)
        if self.n_slots < 1:
            raise ValueError(
                f"buffer budget {budget_bytes} B is smaller than one sample ({4 * self.words + 1} B)"
            )
        if self.n_slots > MAX_REPLAY_SAMPLES:
            raise ValueError(f"buffer holds more than {MAX_REPLAY_SAMPLES} samples")
        self.max_classes = max_classes
        self.rng = rng
        self.data = np.zeros((self.n_slots, self.words), dtype=np.uint32)
        self.labels = np.zeros(self.n_slots, dtype=np.uint8)
        self.count = np.zeros(max_classes, dtype=np.int64)
        self.seen = np.zeros(max_classes, dtype=np.int64)
        self.fill = 0

    def data_bytes(self) -> int:
        """Bytes of sample storage: ``n_slots * (4W + 1)`` (latents + labels)."""
        return self.n_slots * (4 * self.words + 1)

    def _nth_slot_of(self, cls: int, r: int) -> int:
        idx = np.flatnonzero(self.labels[: self.fill] == cls)
        return int(idx[r])

    def insert(self, latent: np.ndarray, label: int) -> int:
        """Offer one sample; return the slot it went to or -1 when dropped. Rule: module docstring."""
        y = int(label)
        self.seen[y] = min(int(self.seen[y]) + 1, 0xFFFFFFFF)
        if self.fill < self.n_slots:
            slot = self.fill
            self.fill += 1
        else:
            m = int(self.count.max())
            if self.count[y] < m:
                victim = int(np.flatnonzero(self.count == m)[0])
                slot = self._nth_slot_of(victim, self.rng.below(int(self.count[victim])))
                self.count[victim] -= 1
            else:
                u = self.rng.below(int(self.seen[y]))
                if u >= self.count[y]:
                    return -1
                slot = self._nth_slot_of(y, u)
                self.count[y] -= 1
        self.data[slot] = latent
        self.labels[slot] = y
        self.count[y] += 1
        return slot

    def draw(self, k: int) -> list[int]:
        """``k`` slot indices drawn uniformly with replacement (``below(fill)`` each); [] if empty."""
        if self.fill == 0:
            return []
        return [self.rng.below(self.fill) for _ in range(k)]

    def epoch_order(self) -> list[int]:
        """A Fisher-Yates shuffle of ``[0, fill)`` (see module docstring)."""
        perm = list(range(self.fill))
        for i in range(self.fill - 1, 0, -1):
            j = self.rng.below(i + 1)
            perm[i], perm[j] = perm[j], perm[i]
        return perm
