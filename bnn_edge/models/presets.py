"""Named network presets: the paper's 4 Mb net, a tiny net for 8x8 digits, an MCU-sized net for
32x32 colour images (``m4-32``), and their float twins.

A preset fixes the input encoding, the VGG-like trunk (blocks of 3x3 convolutions, each block
ending in a 2x2 max-pool), the depthwise "learnable pooling", the dense bottleneck that produces the
binary latent vector, and the width of the classifier's non-linear path.

``<name>-fp`` is the full-precision baseline of *equal memory footprint*: the same topology in
float32 with every width scaled by ``1/sqrt(32)`` so that it holds about 32x fewer weights
(32-bit floats instead of 1-bit weights).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from bnn_edge.errors import UserError


@dataclass(frozen=True)
class Block:
    """Convolutions of one block (3x3, SAME one-padding), then a 2x2 max-pool.

    ``stride`` applies to the block's first convolution (``out = ceil(in / stride)``, TF's SAME
    geometry); ``pool=False`` drops the block's max-pool. A stride-2 first block without a pool
    (a "stem") sees every pixel (3x3 windows overlap at stride 2) for a quarter of the instructions
    of a stride-1 conv followed by a pool.
    """

    filters: tuple[int, ...]
    groups: int = 1
    stride: int = 1
    pool: bool = True

    def out_hw(self, h: int, w: int) -> tuple[int, int]:
        """Spatial size after this block: ``ceil(h / stride)``, then halved by the pool."""
        h, w = -(-h // self.stride), -(-w // self.stride)
        return (h // 2, w // 2) if self.pool else (h, w)


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    input_shape: tuple[int, int, int]
    levels: int  # thermometer levels per input channel
    vmax: int  # largest pixel value
    blocks: tuple[Block, ...]
    depthwise_kernel: int  # VALID depthwise conv after the last block
    latent: int  # bits of the binary latent vector (bottleneck width)
    hidden: int  # width n of the classifier's non-linear path
    binary: bool = True
    augment_pad: int = 0  # random-crop padding in pixels (0 = no crop)
    augment_flip: bool = False
    # gradient window of the sign's straight-through estimator (d sign(x)/dx := 1 where |x| <= ste_clip);
    # training only: the forward pass, the export and the firmware do not depend on it
    ste_clip: float = 1.0
    # multiplies the classifier's output gain 1/sqrt(5 fan_in N_c) (the softmax temperature of the
    # training loss); training only as well: the device returns the integer logits, whose argmax
    # a positive scale does not change
    logit_scale: float = 1.0

    @property
    def encoded_channels(self) -> int:
        return self.input_shape[2] * self.levels


# One block, not two: on Split-Digits a frozen extractor pre-trained on 5 classes transfers better
# when shallower (latent replay at 0.02 Mb, seed 0: 0.797 against 0.742 with a second 128-filter
# block, both without the reconstruction term of bnn_edge.models.reconstruction; 0.856 with it).
# Offline on all 10 digits it is also better: 0.981 against 0.969.
TINY = Preset(
    name="tiny",
    description="8x8x1 digits (0..16): 16-level thermometer, 1 block, 256-bit latent; trains in ~1 min",
    input_shape=(8, 8, 1),
    levels=16,
    vmax=16,
    blocks=(Block((64, 64)),),
    depthwise_kernel=2,
    latent=256,
    hidden=128,
)

PAPER = Preset(
    name="paper",
    description="32x32x3 8-bit images: 85-level thermometer (255 bits/pixel), blocks 128/256(g2)/512(g4), 1024-bit latent: the paper's ~4 Mb net",
    input_shape=(32, 32, 3),
    levels=85,
    vmax=255,
    blocks=(Block((128, 128)), Block((256, 256), groups=2), Block((512, 512), groups=4)),
    depthwise_kernel=3,
    latent=1024,
    hidden=128,
    augment_pad=4,
    augment_flip=True,
)

# Shaped for a Cortex-M4 with 256 KB flash and 64 KB RAM (docs/vision.md: the variants measured).
# Cost on the M4 is per output value: about 45 instructions plus about 65 per 32-bit word of the
# 3x3 receptive field's input channels (per group). The 10-level thermometer (30 channels: one word)
# costs the first conv no more than 1 level would; the stride-2 stem (64 filters, no pool) sees every
# pixel for a quarter of the outputs of a 32x32 conv, so the 10 M instruction budget goes to width
# at 16x16 and 8x8 (96 and 192 filters); a 2x2 depthwise pooling keeps 3x3x192 features for the
# bottleneck (flash is cheap: ~1 instruction per 4 bits of dense weights).
M4_32 = Preset(
    name="m4-32",
    description="32x32x3 8-bit images on a Cortex-M4: 10-level thermometer (30 bits/pixel), stride-2 stem 64, "
                "blocks 96/192, 256-bit latent; ~9.4 M M4 instructions, ~100 KB pack",
    input_shape=(32, 32, 3),
    levels=10,
    vmax=255,
    blocks=(Block((64,), stride=2, pool=False), Block((96,)), Block((192,))),
    depthwise_kernel=2,
    latent=256,
    hidden=128,
    augment_pad=2,
    augment_flip=True,
    ste_clip=2.0,
    logit_scale=4.0,
)

FP_WIDTH_SCALE = 1.0 / math.sqrt(32.0)


def _scaled(width: int, multiple: int, scale: float) -> int:
    return max(multiple, int(round(width * scale / multiple)) * multiple)


def memory_bits(p: Preset, num_classes: int) -> int:
    """Weight memory of the network in bits, counted from the preset (no model built).

    Binary presets: 1 bit per conv/depthwise/dense weight (no biases). Float presets: 32 bits per
    weight and per bias. Equals :func:`bnn_edge.models.weight_counts` ``memory_bits`` (tested).
    """
    bits = 1 if p.binary else 32
    cin = p.encoded_channels if p.binary else p.input_shape[2]
    total = 0
    for block in p.blocks:
        for f in block.filters:
            g = block.groups if cin % block.groups == 0 and (cin // block.groups) % (32 if p.binary else 1) == 0 else 1
            total += 9 * (cin // g) * f + (0 if p.binary else f)
            cin = f
    k = p.depthwise_kernel
    total += k * k * cin + (0 if p.binary else cin)
    ho, wo = trunk_output_hw(p)
    flat = ho * wo * cin
    total += flat * p.latent + (0 if p.binary else p.latent)
    total += p.latent * p.hidden + (0 if p.binary else p.hidden)
    total += 2 * (p.latent + p.hidden) * num_classes + (0 if p.binary else num_classes)
    return total * bits


def float_variant(p: Preset, num_classes: int = 10) -> Preset:
    """The float32 twin of ``p`` with the same memory footprint.

    Same topology (blocks, groups, depthwise pooling, bottleneck, duplicated classifier), float
    pixels in instead of the thermometer, ReLU instead of sign, and every width scaled by one
    factor ``s`` (about ``1/sqrt(32)``: 32-bit weights instead of 1-bit ones) chosen on a fine grid
    so that :func:`memory_bits` is closest to the binary net's.
    """

    def make(scale: float) -> Preset:
        blocks = tuple(
            dataclasses.replace(b, filters=tuple(_scaled(f, b.groups, scale) for f in b.filters)) for b in p.blocks
        )
        return dataclasses.replace(
            p,
            name=p.name + "-fp",
            description=f"float32 baseline of '{p.name}' with the same weight memory (~32x fewer weights)",
            blocks=blocks,
            latent=_scaled(p.latent, 1, scale),
            hidden=_scaled(p.hidden, 1, scale),
            binary=False,
        )

    target = memory_bits(p, num_classes)
    candidates = [make(FP_WIDTH_SCALE * (0.6 + 0.005 * i)) for i in range(121)]
    return min(candidates, key=lambda q: abs(memory_bits(q, num_classes) - target))


def get_preset(name: str) -> Preset:
    """Look a preset up by name, or read a network description file (:mod:`bnn_edge.models.preset_file`);
    unknown names are a :class:`UserError` listing the known ones."""
    from bnn_edge.models.preset_file import is_preset_file, load_preset_file

    if name not in PRESETS and is_preset_file(name):
        return load_preset_file(name)
    try:
        return PRESETS[name]
    except KeyError:
        raise UserError(f"unknown preset '{name}' (known: {', '.join(sorted(PRESETS))}, or a .toml/.json network "
                        "description file)") from None


def with_input_shape(p: Preset, shape: tuple[int, int, int], vmax: int | None = None) -> Preset:
    """``p`` adapted to another input shape (the trunk must still reduce it to >= the depthwise kernel)."""
    q = dataclasses.replace(p, input_shape=tuple(shape), vmax=p.vmax if vmax is None else vmax)
    check_fits(q)
    return q


def trunk_output_hw(p: Preset) -> tuple[int, int]:
    """Spatial size after the conv blocks (:meth:`Block.out_hw`) and the VALID depthwise conv."""
    h, w = p.input_shape[:2]
    for block in p.blocks:
        h, w = block.out_hw(h, w)
    k = p.depthwise_kernel
    return h - k + 1, w - k + 1


#: the most weights (latent float32 weights in training: 1 GiB) and the most values in one image's
#: largest activation (1 GiB of float32 per image) of a network bnn-edge builds; its presets are
#: thousands of times smaller (m4-32: 0.72 M weights, 31 k values at most)
MAX_WEIGHTS = 2**28
MAX_ACTIVATION = 2**28


def largest_activation(p: Preset) -> tuple[int, tuple[int, int, int]]:
    """The most values one image's activation holds in the trunk (input encoding and every conv
    output), and that tensor's shape ``(H, W, C)``."""
    h, w, c = p.input_shape
    best = (h * w * (p.encoded_channels if p.binary else c), (h, w, p.encoded_channels if p.binary else c))
    for block in p.blocks:
        for i, f in enumerate(block.filters):
            if i == 0:
                h, w = -(-h // block.stride), -(-w // block.stride)
            best = max(best, (h * w * f, (h, w, f)))
        if block.pool:
            h, w = h // 2, w // 2
    return best


def check_fits(p: Preset) -> None:
    """Raise :class:`UserError` when the input is too small for the trunk, or the network too large to
    build (:data:`MAX_WEIGHTS`, :data:`MAX_ACTIVATION`: a mistyped input shape, not a model)."""
    shape = "x".join(map(str, p.input_shape))
    ho, wo = trunk_output_hw(p)
    if ho < 1 or wo < 1:
        shrink = math.prod(b.stride * (2 if b.pool else 1) for b in p.blocks)
        raise UserError(
            f"preset '{p.name}' does not fit input shape {shape}: "
            f"{len(p.blocks)} blocks (shrinking {shrink}x) and a {p.depthwise_kernel}x{p.depthwise_kernel} depthwise conv "
            f"need at least {(p.depthwise_kernel) * shrink} pixels per side"
        )
    values, (h, w, c) = largest_activation(p)
    if values > MAX_ACTIVATION:
        raise UserError(f"preset '{p.name}' at input shape {shape}: a {h}x{w}x{c} activation ({values:,} values per "
                        f"image) is more than the {MAX_ACTIVATION:,} bnn-edge builds: a smaller input (--image-size, "
                        "--input-shape)")
    weights = memory_bits(p, 1) // (1 if p.binary else 32)
    if weights > MAX_WEIGHTS:
        raise UserError(f"preset '{p.name}' at input shape {shape} has {weights:,} weights, more than the "
                        f"{MAX_WEIGHTS:,} bnn-edge builds (its bottleneck reads {ho}x{wo} positions): a smaller input "
                        "(--image-size, --input-shape) or more pooling")


PRESETS: dict[str, Preset] = {}
for _p in (TINY, PAPER, M4_32):
    PRESETS[_p.name] = _p
    PRESETS[_p.name + "-fp"] = float_variant(_p, 100 if _p is PAPER else 10)
