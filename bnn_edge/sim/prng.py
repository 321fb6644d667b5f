"""The head's pseudo-random generator, bit-exact with ``firmware/src/head/bnn_head_prng.c``.

Generator: Marsaglia's xorshift32 with the shift triple (13, 17, 5)::

    x ^= x << 13;  x ^= x >> 17;  x ^= x << 5      (all mod 2**32)

The state is never 0 (0 is a fixed point); :func:`seed_stream` never returns 0.

Integers below ``n`` use Lemire's multiply-shift (no modulo, no division)::

    below(n) = (next_u32() * n) >> 32            (64-bit product)

Independent streams are derived from one user seed with the murmur3 32-bit finaliser::

    seed_stream(seed, stream) = fmix32(seed + stream * 0x9E3779B9)  (0 -> 0x6D2B79F5)

Stream ids (same constants in C, ``BNN_PRNG_STREAM_*``): 1 = W1 generation, 2 = latent-weight
initialisation, 3 = replay buffer (CBRS replacement, replay draws, epoch shuffles).
"""

from __future__ import annotations

MASK32 = 0xFFFFFFFF
STREAM_W1 = 1
STREAM_INIT = 2
STREAM_BUFFER = 3
_ZERO_SEED_REPLACEMENT = 0x6D2B79F5


def fmix32(x: int) -> int:
    """murmur3's 32-bit finaliser: a bijection on 32-bit integers that mixes every bit."""
    x &= MASK32
    x ^= x >> 16
    x = (x * 0x85EBCA6B) & MASK32
    x ^= x >> 13
    x = (x * 0xC2B2AE35) & MASK32
    x ^= x >> 16
    return x


def seed_stream(seed: int, stream: int) -> int:
    """Non-zero xorshift32 state for stream ``stream`` of user seed ``seed``."""
    x = fmix32((seed + stream * 0x9E3779B9) & MASK32)
    return x if x != 0 else _ZERO_SEED_REPLACEMENT


class XorShift32:
    """xorshift32 generator; ``state`` is the full state (one u32, persisted by the head)."""

    __slots__ = ("state",)

    def __init__(self, state: int) -> None:
        state &= MASK32
        self.state = state if state != 0 else _ZERO_SEED_REPLACEMENT

    def next_u32(self) -> int:
        """Advance once and return the new state."""
        x = self.state
        x ^= (x << 13) & MASK32
        x ^= x >> 17
        x ^= (x << 5) & MASK32
        self.state = x
        return x

    def below(self, n: int) -> int:
        """Uniform-ish integer in ``[0, n)`` for ``1 <= n < 2**32``: ``(next_u32() * n) >> 32``."""
        if not 1 <= n <= MASK32:
            raise ValueError(f"below(n) needs 1 <= n < 2**32, got {n}")
        return (self.next_u32() * n) >> 32
