"""How a replay sample's payload is stored, and how many bits it costs.

Three payloads, each packed into a ``uint8`` row per sample (the cost counted is the exact bit
count below; a device packs samples back to back, so the byte padding of a row is not counted):

* **binary latent** (latent replay, binary presets): ``N`` features ``z in {-1,+1}`` cost
  ``N`` bits, 1 bit per feature (bit 1 means -1, channel ``k`` in bit ``k % 8`` of byte ``k // 8``:
  the byte layout of :mod:`converters.bitpack`, which does the packing).
* **float latent** (latent replay, ``-fp`` presets): ``N`` float32 features cost ``32 N`` bits.
* **pixels** (native replay): an image of ``H*W*C`` integer pixels in ``0..vmax`` is stored at
  its own precision, ``b = ceil(log2(vmax + 1))`` bits per pixel: 5 bits for the 0..16 digits,
  8 bits for 8-bit images (7 bits for the paper's 7-bit CIFAR inputs, vmax = 127).

A label costs ``ceil(log2(num_classes))`` bits (4 for 10 classes, 7 for 100).
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np

from converters.bitpack import from_pm1, to_pm1


def bits_per_pixel(vmax: int) -> int:
    """``ceil(log2(vmax + 1))``: bits that hold every integer ``0..vmax`` (at least 1)."""
    if vmax < 1:
        raise ValueError(f"vmax must be >= 1, got {vmax}")
    return max(1, math.ceil(math.log2(vmax + 1)))


def label_bits(num_classes: int) -> int:
    """``ceil(log2(num_classes))``: bits of a class label (0 for a single class)."""
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    return math.ceil(math.log2(num_classes)) if num_classes > 1 else 0


class Codec(Protocol):
    """Packs samples ``[N, ...]`` to ``uint8`` rows ``[N, B]`` and back; ``payload_bits`` per sample."""

    payload_bits: int

    def encode(self, x: np.ndarray) -> np.ndarray: ...

    def decode(self, packed: np.ndarray) -> np.ndarray: ...


class BinaryLatentCodec:
    """``z in {-1,+1}^N`` -> ``ceil(N/8)`` bytes; ``payload_bits = N`` (1 bit per latent feature)."""

    def __init__(self, latent_dim: int):
        self.latent_dim = int(latent_dim)
        self.payload_bits = self.latent_dim

    def encode(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z).reshape(len(z), self.latent_dim)
        words = from_pm1(z)  # u32 words, bit 1 = -1, LSB first
        return np.ascontiguousarray(words.astype("<u4")).view(np.uint8)[:, : (self.latent_dim + 7) // 8].copy()

    def decode(self, packed: np.ndarray) -> np.ndarray:
        packed = np.asarray(packed, np.uint8)
        nbytes = 4 * ((self.latent_dim + 31) // 32)
        padded = np.zeros((len(packed), nbytes), np.uint8)
        padded[:, : packed.shape[1]] = packed
        return to_pm1(padded.view("<u4"), self.latent_dim, np.float32)


class FloatLatentCodec:
    """Float32 latents ``[N]`` -> ``4N`` bytes; ``payload_bits = 32 N``."""

    def __init__(self, latent_dim: int):
        self.latent_dim = int(latent_dim)
        self.payload_bits = 32 * self.latent_dim

    def encode(self, z: np.ndarray) -> np.ndarray:
        z = np.ascontiguousarray(np.asarray(z, "<f4").reshape(len(z), self.latent_dim))
        return z.view(np.uint8).copy()

    def decode(self, packed: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.asarray(packed, np.uint8)).view("<f4").astype(np.float32)


class PixelCodec:
    """Integer images ``[H,W,C]`` in ``0..vmax`` -> ``b = ceil(log2(vmax+1))`` bits per pixel.

    ``payload_bits = H * W * C * b``. Pixel ``k`` (row-major) occupies bits ``k*b .. k*b+b-1``,
    least significant bit first.
    """

    def __init__(self, shape: tuple[int, int, int], vmax: int):
        self.shape = tuple(int(d) for d in shape)
        self.vmax = int(vmax)
        self.bits = bits_per_pixel(vmax)
        self.pixels = int(np.prod(self.shape))
        self.payload_bits = self.pixels * self.bits

    def encode(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.size and (x.min() < 0 or x.max() > self.vmax):
            raise ValueError(f"pixels outside 0..{self.vmax}")
        flat = x.reshape(len(x), self.pixels).astype(np.uint8)
        bits = np.unpackbits(flat[..., None], axis=-1, bitorder="little")[..., : self.bits]
        return np.packbits(bits.reshape(len(x), self.payload_bits), axis=-1, bitorder="little")

    def decode(self, packed: np.ndarray) -> np.ndarray:
        packed = np.asarray(packed, np.uint8)
        bits = np.unpackbits(packed, axis=-1, count=self.payload_bits, bitorder="little")
        bits = bits.reshape(len(packed), self.pixels, self.bits)
        weights = (1 << np.arange(self.bits)).astype(np.uint16)
        values = (bits.astype(np.uint16) * weights).sum(-1).astype(np.uint8)
        return values.reshape((len(packed),) + self.shape)
