"""Build fully-binary (or float twin) Keras models from a :class:`Preset` with larq layers.

Binary graph (every weight layer binary, no batch norm, no float input or output layer)::

    pixels -> [augment] -> Thermometer -> { QuantConv2D 3x3 (one-padding, the first one strided) -> Gain }* -> [MaxPool 2x2]  (per block)
           -> QuantDepthwiseConv2D (VALID) -> Gain -> Flatten -> QuantDense(latent) -> Gain
           -> SteSign = latent z in {-1,+1}^N                                     (the extractor F)
    z -> QuantDense(n) -> Gain -> SteSign = h                                     (non-linear path)
      -> c = [z, h] -> d = [c, c] -> QuantDense(classes) -> Gain(s/sqrt(5 fan_in N_c)) = logits   (G)

Every QuantConv2D/QuantDense binarizes its input and kernel with ``ste_sign`` (sign(0) = +1; the
gradient passes where |x| <= 1, or |x| <= ``Preset.ste_clip`` for the inputs and activations) and clips latent weights to [-1, 1]. The duplication ``d = [c, c]``
gives each classifier input two binary weights, so ``w_a x + w_b x = (w_a + w_b) x`` with
``w_a + w_b in {-2, 0, +2}``: a ternary classifier built from binary arithmetic only. ``s`` is
``Preset.logit_scale`` (1 in the paper's head): the temperature of the training loss only, since the
device returns the integer logits and a positive scale leaves their argmax alone.

Training graph (``fold_gains=True``, binary presets): every trunk ``Gain`` (convolutions, depthwise,
bottleneck) is followed, through max-pools and a flatten that commute with a positive scale, by a
sign, and ``sign(K x) = sign(x)``; the straight-through window ``|K x| <= c`` is ``|x| <= c / K``.
So the training graph drops those multiplies and widens the next sign's window to ``c / K``: the
same forward pass and the same gradient masks, gradients scaled by a constant per weight tensor
(which Adam's per-weight normalisation cancels, but for its epsilon). The head keeps its gains: its
two paths into the classifier (``z`` and ``h``) must keep their relative scale. Weights are
identical in both graphs (a ``Gain`` holds none): train the folded graph, copy its weights into
:func:`build_model`'s for evaluation, saving and export. About 13 % of an m4-32 training step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bnn_edge.models.augment import RandomCropFlip
from bnn_edge.models.gain import Gain, fan_in_gain
from bnn_edge.models.presets import Preset, check_fits
from bnn_edge.models.thermometer import Thermometer
from bnn_edge.precision import is_mixed
from bnn_edge.tfcompat import keras, lq

LATENT_LAYER = "latent"
AUGMENT_LAYER = "augment"
LOGITS_LAYER = "logits"

_BIN = dict(
    input_quantizer="ste_sign",
    kernel_quantizer="ste_sign",
    kernel_constraint="weight_clip",
    use_bias=False,
)


def _bin(p: Preset, widen: float = 1.0) -> dict:
    """Arguments of a binary larq layer; the input quantizer's gradient window is ``p.ste_clip``
    (times ``widen`` = ``1/K`` of a folded gain before it)."""
    return {**_BIN, "input_quantizer": _sign(p, widen)}


def _sign(p: Preset, widen: float = 1.0):
    """``ste_sign`` (window |x| <= 1, larq's default), or larq's ``SteSign`` with ``clip_value = p.ste_clip * widen``."""
    clip = float(p.ste_clip) * widen
    return "ste_sign" if clip == 1.0 else lq.quantizers.SteSign(clip_value=clip)


def _sign_activation(p: Preset, widen: float = 1.0):
    """The sign of an ``Activation`` layer (larq's ``SteSign``; its default window is 1)."""
    return lq.quantizers.SteSign(clip_value=float(p.ste_clip) * widen)


def classifier_gain(fan_in: int, num_classes: int) -> float:
    """Output scale of the ternarized classifier: ``1 / sqrt(5 * fan_in * N_c)``."""
    return 1.0 / math.sqrt(5.0 * fan_in * num_classes)


def _unit():
    """Float twins use He initialisation (variance 2/fan_in), which already keeps ReLU activations
    at unit scale, so their gains are 1 (:func:`_gain`): glorot init plus ``K`` made them vanish."""
    return keras.initializers.HeNormal()


def _gain(p: Preset, k: float) -> float:
    """``K`` for binary layers (±1 weights); 1 for the float twin (its init does the scaling)."""
    return k if p.binary else 1.0


def _conv(p: Preset, filters: int, groups: int, name: str, stride: int = 1, widen: float = 1.0):
    if p.binary:
        return lq.layers.QuantConv2D(
            filters, 3, strides=stride, padding="same", pad_values=1.0, groups=groups, name=name, **_bin(p, widen)
        )
    return keras.layers.Conv2D(filters, 3, strides=stride, padding="same", groups=groups, kernel_initializer=_unit(),
                               name=name)


def _act(p: Preset, x, name: str):
    """Binary nets binarize in the next layer's input quantizer; float nets use ReLU."""
    return x if p.binary else keras.layers.ReLU(name=name)(x)


def build_extractor_layers(p: Preset, inputs, fold_gains: bool = False):
    """Apply the feature extractor F to ``inputs`` (pixels); returns the latent tensor.

    ``fold_gains``: the training graph of the module docstring (binary presets only; no effect on
    float twins, whose gains are 1)."""
    check_fits(p)
    fold = fold_gains and p.binary
    widen = 1.0  # 1/K of the gain folded into the next sign's window (1: none)

    def gain(k: float, name: str, x):
        nonlocal widen
        if fold:
            widen = 1.0 / k
            return x
        return Gain(k, name=name)(x)

    x = inputs
    if p.augment_pad or p.augment_flip:
        x = RandomCropFlip(p.augment_pad, p.vmax, p.augment_flip, name=AUGMENT_LAYER)(x)
    if p.binary:
        x = Thermometer(p.levels, p.vmax, name="thermometer")(x)
        cin = p.encoded_channels
    else:  # the float baseline reads pixels scaled to [0, 1]: a float input layer
        x = keras.layers.Rescaling(1.0 / p.vmax, name="rescale")(x)
        cin = p.input_shape[2]
    for b, block in enumerate(p.blocks, start=1):
        for i, filters in enumerate(block.filters, start=1):
            groups = block.groups if (cin % block.groups == 0 and (cin // block.groups) % (32 if p.binary else 1) == 0) else 1
            x = _conv(p, filters, groups, f"conv{b}_{i}", block.stride if i == 1 else 1, widen)(x)
            x = gain(_gain(p, fan_in_gain(9 * cin // groups)), f"conv{b}_{i}_gain", x)
            x = _act(p, x, f"conv{b}_{i}_relu")
            cin = filters
        if block.pool:
            x = keras.layers.MaxPool2D(2, name=f"pool{b}")(x)
    k = p.depthwise_kernel
    if p.binary:
        x = lq.layers.QuantDepthwiseConv2D(
            k,
            padding="valid",
            input_quantizer=_sign(p, widen),
            depthwise_quantizer="ste_sign",
            depthwise_constraint="weight_clip",
            use_bias=False,
            name="depthwise",
        )(x)
    else:
        x = keras.layers.DepthwiseConv2D(k, padding="valid", depthwise_initializer=_unit(), name="depthwise")(x)
    x = gain(_gain(p, fan_in_gain(k * k)), "depthwise_gain", x)
    x = _act(p, x, "depthwise_relu")
    x = keras.layers.Flatten(name="flatten")(x)
    fan_in = int(x.shape[-1])
    if p.binary:
        x = lq.layers.QuantDense(p.latent, name="bottleneck", **_bin(p, widen))(x)
    else:
        x = keras.layers.Dense(p.latent, kernel_initializer=_unit(), name="bottleneck")(x)
    x = gain(_gain(p, fan_in_gain(fan_in)), "bottleneck_gain", x)
    if p.binary:
        return keras.layers.Activation(_sign_activation(p, widen), name=LATENT_LAYER)(x)
    return keras.layers.ReLU(name=LATENT_LAYER)(x)


def apply_head(p: Preset, latent, num_classes: int, prefix: str = "head"):
    """Apply a fresh non-linear ternarized classifier G to ``latent``; returns the logits tensor."""
    n_latent = int(latent.shape[-1])
    if p.binary:
        h = lq.layers.QuantDense(p.hidden, name=f"{prefix}_dense1", **_bin(p))(latent)
    else:
        h = keras.layers.Dense(p.hidden, kernel_initializer=_unit(), name=f"{prefix}_dense1")(latent)
    h = Gain(_gain(p, fan_in_gain(n_latent)), name=f"{prefix}_dense1_gain")(h)
    if p.binary:
        h = keras.layers.Activation(_sign_activation(p), name=f"{prefix}_sign")(h)
    else:
        h = keras.layers.ReLU(name=f"{prefix}_relu")(h)
    c = keras.layers.Concatenate(name=f"{prefix}_concat")([latent, h])
    d = keras.layers.Concatenate(name=f"{prefix}_duplicate")([c, c])
    fan_in = int(d.shape[-1])
    if p.binary:
        y = lq.layers.QuantDense(num_classes, name=f"{prefix}_dense2", **_bin(p))(d)
    else:
        y = keras.layers.Dense(num_classes, kernel_initializer=_unit(), name=f"{prefix}_dense2")(d)
    scale = p.logit_scale * classifier_gain(fan_in, num_classes)
    # under mixed precision (bnn_edge.precision) the logits, hence the loss, stay float32
    out_dtype = {"dtype": "float32"} if is_mixed() else {}
    return Gain(_gain(p, scale), name=LOGITS_LAYER if prefix == "head" else f"{prefix}_logits", **out_dtype)(y)


def build_model(p: Preset, num_classes: int, fold_gains: bool = False) -> keras.Model:
    """The whole network: pixels ``[N,H,W,C]`` (float32 holding integers 0..vmax) -> logits.

    ``fold_gains=True``: the training graph (module docstring); never saved or exported."""
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    inputs = keras.Input(p.input_shape, name="pixels")
    latent = build_extractor_layers(p, inputs, fold_gains)
    logits = apply_head(p, latent, num_classes)
    return keras.Model(inputs, logits, name=f"bnn_{p.name}".replace("-", "_"))


def extractor_of(model: keras.Model) -> keras.Model:
    """The feature extractor F of a built model: pixels -> latent."""
    return keras.Model(model.input, model.get_layer(LATENT_LAYER).output, name="extractor")


def build_head_model(p: Preset, latent_dim: int, num_classes: int) -> keras.Model:
    """A stand-alone classifier G on latent vectors (for latent replay)."""
    z = keras.Input((latent_dim,), name="latent_in")
    return keras.Model(z, apply_head(p, z, num_classes), name="head")


@dataclass
class WeightCounts:
    """What a model stores: ``binary_weight_bits`` (1 bit each), float weights, float I/O layers."""

    binary_weight_bits: int
    float_weight_count: int
    float_io_layers: int
    fully_binary: bool
    weight_layers: int
    memory_bits: int

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _is_binary(layer) -> bool:
    q = getattr(layer, "kernel_quantizer", None) or getattr(layer, "depthwise_quantizer", None)
    return q is not None


def weight_counts(model: keras.Model) -> WeightCounts:
    """Count weights per kind. A weight layer is binary when its kernel is quantized (larq)."""
    binary_bits = 0
    float_count = 0
    weight_layers = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            sub = weight_counts(layer)
            binary_bits += sub.binary_weight_bits
            float_count += sub.float_weight_count
            continue
        ws = layer.trainable_weights
        if not ws:
            continue
        weight_layers.append(layer)
        for w in ws:
            n = int(np.prod(w.shape))
            is_kernel = w.name.split("/")[-1].split(":")[0] in ("kernel", "depthwise_kernel")
            if _is_binary(layer) and is_kernel:
                binary_bits += n
            else:
                float_count += n
    io = [weight_layers[0], weight_layers[-1]] if weight_layers else []
    float_io = sum(1 for layer in io if not _is_binary(layer))
    fully = bool(weight_layers) and all(_is_binary(layer) and not layer.trainable_weights[1:] for layer in weight_layers)
    return WeightCounts(
        binary_weight_bits=binary_bits,
        float_weight_count=float_count,
        float_io_layers=float_io,
        fully_binary=fully,
        weight_layers=len(weight_layers),
        memory_bits=binary_bits + 32 * float_count,
    )
