"""The fully-binary contract: which Keras/larq networks export to the Cortex-M firmware.

A network keeps the contract when every value after its input encoding is either a bit (±1) or
an integer pre-activation that only its sign leaves, so that the firmware computes it with XNOR,
popcount and integer compares only:

1. **One input, one output.** Before the encoding only training-time augmentation may touch the
   pixels (bnn-edge's ``RandomCropFlip``, Keras ``RandomFlip``/``RandomTranslation``/
   ``RandomRotation``/``RandomZoom``: identities at inference).
2. **Thermometer input.** The pixels go through exactly one :class:`bnn_edge.models.Thermometer`
   (``levels``, ``vmax``): channel ``c*L + l`` is ``+1`` iff ``pixel_c >= t_l``. The firmware
   encodes integer pixels with the same thresholds.
3. **Binary weight layers.** larq ``QuantConv2D``, ``QuantDepthwiseConv2D`` and ``QuantDense``
   with a sign input quantizer and a sign kernel quantizer (``ste_sign``; ``approx_sign`` and
   ``swish_sign`` compute the same forward sign, sign(0) = +1) and no activation. A SAME-padded
   ``QuantConv2D`` pads with +1 (``pad_values=1.0``); depthwise layers are VALID with depth
   multiplier 1. Their output ``y = K - 2 popcount(x XOR w)`` (times ``|w|``) is an integer.
4. **Sign-preserving layers on pre-activations.** ``Gain`` (a positive constant, set to 1 by the
   exporter) directly after a binary layer; ``MaxPooling2D`` (VALID), where
   ``max`` commutes with ``sign``: pooled pre-activations must go straight into a sign (a binary
   layer or a sign ``Activation``); ``Flatten``/``Dropout`` (layout only, identity at inference).
5. **Batch norm that folds into integer thresholds.** ``BatchNormalization`` directly after a
   binary layer (or its gain) and followed — through max-pooling, ``Flatten`` or ``Dropout`` at
   most — only by signs: ``sign(gamma (y - mu) / sigma + beta)`` is a compare of the integer
   ``y`` with a threshold, which LCE fuses into the binary convolution's output threshold
   (after max-pooling, the pooled value must go straight into a sign, as in 4.).
   Batch norm before anything else (a float activation, a gain, a concatenation, the output) is
   refused. Where LCE keeps the convolution's output float (before ``Flatten``), the lowering
   needs ``gamma > 0``: use ``scale=False`` there.
6. **Binary activations only.** ``Activation`` with a sign quantizer (e.g.
   ``Activation(larq.quantizers.SteSign())``); ``Concatenate`` of bits (last axis). Float
   activations (ReLU, tanh, softmax, ...) and float weight layers (``Conv2D``, ``Dense``, ...)
   are refused.
7. **Integer output.** The output is a ``QuantDense`` without bias, optionally scaled by
   ``Gain`` layers: the ternarized head of bnn-edge's presets or a plain binary dense layer.
   The device returns its integer logits ``y`` (logit = ``scale * y``).

:func:`check_contract` walks the layers in graph order and raises :class:`ContractError`
naming the FIRST offending layer and why. What the contract cannot see (a layout the firmware
lacks, e.g. flattening a channel count that is not a multiple of 32) is refused later by the
lowering (:mod:`converters.lower`), also with the layer's name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bnn_edge.errors import UserError

#: larq quantizers whose forward pass is ``sign(x)`` with sign(0) = +1 (names lower-cased, no ``_``).
SIGN_QUANTIZERS = frozenset({"stesign", "approxsign", "swishsign"})
#: Training-time augmentation allowed on the pixels (identity at inference).
AUGMENT_LAYERS = frozenset({"RandomCropFlip", "RandomFlip", "RandomTranslation", "RandomRotation", "RandomZoom"})
#: Float weight layers (Keras classes) and what to use instead.
_FLOAT_WEIGHT_LAYERS = {
    "Conv1D": "a float convolution", "Conv2D": "a float convolution", "Conv3D": "a float convolution",
    "Conv2DTranspose": "a float convolution", "SeparableConv2D": "a float convolution",
    "DepthwiseConv2D": "a float depthwise convolution", "Dense": "a float dense layer",
    "EinsumDense": "a float dense layer", "Embedding": "a float embedding",
}
_FLOAT_ACTIVATIONS = frozenset({"ReLU", "LeakyReLU", "PReLU", "ELU", "ThresholdedReLU", "Softmax"})
_BINARY_LAYERS = ("QuantConv2D", "QuantDepthwiseConv2D", "QuantDense")
_LAYOUT_LAYERS = frozenset({"Flatten", "Dropout"})
_FIX_BINARY = "use larq's QuantConv2D/QuantDepthwiseConv2D/QuantDense with input_quantizer and kernel_quantizer 'ste_sign'"


class ContractError(UserError):
    """The network breaks the fully-binary contract (the message names the layer)."""


@dataclass(frozen=True)
class _Val:
    """What a tensor holds. ``kind``: ``pixels`` | ``bits`` (±1) | ``pre`` (integer pre-activation,
    positively scaled) | ``pending`` (a value that only a sign may consume: pooled pre-activations,
    batch-normalized ones)."""

    kind: str
    dense: Any = None  # the QuantDense whose (scaled) output this is, for the output rule
    bn: Any = None  # the BatchNormalization a ``pending`` value went through (None: a pooled pre-activation)


@dataclass
class ContractReport:
    """What the checker found: the thermometer layer, the output layer, the layers by kind."""

    thermometer: Any
    output_layer: Any
    binary_layers: list[str] = field(default_factory=list)
    batch_norms: list[str] = field(default_factory=list)
    gains: list[str] = field(default_factory=list)


def _quantizer_name(q: Any) -> str | None:
    if q is None:
        return None
    if isinstance(q, str):
        name = q
    elif isinstance(q, dict):
        name = str(q.get("class_name", ""))
    else:
        name = getattr(q, "__name__", None) or type(q).__name__
    return name.replace("_", "").lower()


def _is_sign(q: Any) -> bool:
    return _quantizer_name(q) in SIGN_QUANTIZERS


def _activation_name(layer: Any) -> str:
    act = getattr(layer, "activation", None)
    if act is None:
        return "linear"
    return getattr(act, "__name__", None) or type(act).__name__


def _inputs(layer: Any) -> list[Any]:
    try:
        ins = layer.input
    except (AttributeError, ValueError):
        raise ContractError(_where(layer) + ": is used more than once (a shared layer); "
                            "build the network with each layer applied once") from None
    return list(ins) if isinstance(ins, (list, tuple)) else [ins]


def _outputs(layer: Any) -> list[Any]:
    out = layer.output
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _where(layer: Any) -> str:
    return f"layer '{layer.name}' ({type(layer).__name__})"


def check_contract(model: Any) -> ContractReport:
    """Check ``model`` (a Keras functional or Sequential model) against the contract above.

    Returns what was found; raises :class:`ContractError` with one line
    ``layer '<name>' (<Class>): <why>; <what to do>`` for the first layer that breaks it.
    """
    from bnn_edge.models import Gain, Thermometer
    from bnn_edge.tfcompat import keras

    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ContractError(f"the model has {len(model.inputs)} inputs and {len(model.outputs)} outputs "
                            "(the firmware runs one image in, one logits vector out)")
    vals: dict[int, _Val] = {id(model.inputs[0]): _Val("pixels")}
    consumers: dict[int, list[Any]] = {}
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    for layer in layers:
        for t in _inputs(layer):
            consumers.setdefault(id(t), []).append(layer)
    out_id = id(model.outputs[0])
    report = ContractReport(thermometer=None, output_layer=None)

    def sign_consumer(layer: Any) -> bool:
        cls = type(layer).__name__
        if cls in _BINARY_LAYERS:
            return _is_sign(getattr(layer, "input_quantizer", None))
        return cls == "Activation" and _quantizer_name(getattr(layer, "activation", None)) in SIGN_QUANTIZERS

    def check_pending(layer: Any, tensor_id: int, through: frozenset[str], what: str,
                      accept: frozenset[str] = frozenset()) -> None:
        """Every path from ``tensor_id`` must reach a sign (or an ``accept`` layer, which checks its
        own consumers), passing only ``through`` layer classes."""
        if tensor_id == out_id:
            raise ContractError(f"{_where(layer)}: {what} is the model's output; it folds into integer "
                                "thresholds only when a sign-quantized binary layer follows it "
                                "(remove it, or end with a QuantDense)")
        for c in consumers.get(tensor_id, []):
            if sign_consumer(c) or type(c).__name__ in accept:
                continue
            if type(c).__name__ in through:
                for t in _outputs(c):
                    check_pending(layer, id(t), through, what, accept)
                continue
            raise ContractError(f"{_where(layer)}: {what} is followed by {_where(c)}, not by a sign-quantized "
                                "binary layer (QuantConv2D/QuantDense with input_quantizer 'ste_sign' or an "
                                "ste_sign Activation), so it cannot fold into integer thresholds")

    for layer in layers:
        cls = type(layer).__name__
        ins = [vals.get(id(t)) for t in _inputs(layer)]
        if any(v is None for v in ins):
            raise ContractError(f"{_where(layer)}: its input does not come from the model's input")
        kinds = {v.kind for v in ins}
        where = _where(layer)
        if isinstance(layer, keras.Model):
            raise ContractError(f"{where}: a nested model; build one flat functional or Sequential model")
        if cls in _FLOAT_WEIGHT_LAYERS:
            raise ContractError(f"{where}: {_FLOAT_WEIGHT_LAYERS[cls]} (float weights); {_FIX_BINARY}")
        if cls in _FLOAT_ACTIVATIONS:
            raise ContractError(f"{where}: a float activation; binary networks binarize in the next layer's "
                                "input quantizer ('ste_sign'), or use Activation(larq.quantizers.SteSign())")
        if kinds == {"pixels"}:
            if isinstance(layer, Thermometer):
                if report.thermometer is not None:
                    raise ContractError(f"{where}: a second Thermometer")
                report.thermometer = layer
                val = _Val("bits")
            elif cls in AUGMENT_LAYERS:
                val = _Val("pixels")
            else:
                raise ContractError(f"{where}: reads the pixels before any Thermometer; the input must be "
                                    "thermometer-encoded first (bnn_edge.models.Thermometer(levels, vmax) right "
                                    "after the Input; only augmentation may come before it)")
        elif "pixels" in kinds:
            raise ContractError(f"{where}: mixes raw pixels with encoded values")
        elif isinstance(layer, Thermometer):
            raise ContractError(f"{where}: a Thermometer must read the model's input pixels")
        elif cls in _BINARY_LAYERS:
            val = _binary_layer(layer, cls, ins[0], where)
            report.binary_layers.append(layer.name)
        elif isinstance(layer, Gain):
            if ins[0].kind != "pre":
                raise ContractError(f"{where}: a gain must directly follow a binary conv/dense layer "
                                    f"(or another gain); here it follows a {_describe(ins[0])}")
            report.gains.append(layer.name)
            val = ins[0]
        elif cls == "BatchNormalization":
            if ins[0].kind != "pre":
                raise ContractError(f"{where}: batch norm after a {_describe(ins[0])}; it folds into integer "
                                    "thresholds only directly after a binary conv/dense layer (or its gain)")
            axis = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
            if [a % len(layer.input.shape) for a in axis] != [len(layer.input.shape) - 1]:
                raise ContractError(f"{where}: batch norm over axis {layer.axis}, not the channels (last axis)")
            report.batch_norms.append(layer.name)
            check_pending(layer, id(layer.output), _LAYOUT_LAYERS, "batch norm", accept=frozenset({"MaxPooling2D"}))
            val = _Val("pending", bn=layer)
        elif cls == "MaxPooling2D":
            if str(layer.padding).lower() != "valid":
                raise ContractError(f"{where}: SAME padding in max-pooling; use padding='valid'")
            if ins[0].kind in ("pre", "pending"):
                if ins[0].kind == "pending" and ins[0].bn is None:
                    raise ContractError(f"{where}: max-pooling of a max-pooled pre-activation; pool once "
                                        "(with a larger window) or binarize in between")
                check_pending(layer, id(layer.output), frozenset(), "max-pooling of a pre-activation")
                val = _Val("pending")
            else:
                val = ins[0]
        elif cls in _LAYOUT_LAYERS:
            if ins[0].kind == "pending" and ins[0].bn is None:
                raise ContractError(f"{where}: follows max-pooling of a pre-activation, which must go "
                                    "straight into a sign-quantized binary layer")
            val = ins[0]
        elif cls == "Activation":
            if not _is_sign(getattr(layer, "activation", None)):
                raise ContractError(f"{where}: a float activation ('{_activation_name(layer)}'); only sign "
                                    "activations (larq.quantizers.SteSign()) keep the network binary")
            val = _Val("bits")
        elif cls == "Concatenate":
            bad = [v for v in ins if v.kind != "bits"]
            if bad:
                raise ContractError(f"{where}: concatenates a {_describe(bad[0])}; concatenate only bits "
                                    "(put an Activation(larq.quantizers.SteSign()) before)")
            rank = len(layer.output.shape)
            if layer.axis not in (-1, rank - 1):
                raise ContractError(f"{where}: concatenation on axis {layer.axis}; concatenate channels (last axis)")
            val = _Val("bits")
        else:
            raise ContractError(f"{where}: unsupported layer type; a fully-binary network uses Thermometer, "
                                "QuantConv2D/QuantDepthwiseConv2D/QuantDense, Gain, BatchNormalization, "
                                "MaxPooling2D, Flatten, Dropout, Concatenate and sign Activations")
        for t in _outputs(layer):
            vals[id(t)] = val

    if report.thermometer is None:
        raise ContractError("the model has no Thermometer layer: the input must be thermometer-encoded "
                            "(bnn_edge.models.Thermometer(levels, vmax) right after the Input)")
    out = vals[out_id]
    last = next((l for l in reversed(layers) if any(id(t) == out_id for t in _outputs(l))), layers[-1])
    if out.kind != "pre" or out.dense is None:
        raise ContractError(f"{_where(last)}: the output is a {_describe(out)}; end the network with a binary "
                            "dense layer (QuantDense, optionally followed by a Gain) whose integer outputs are the logits")
    if out.dense.use_bias:
        raise ContractError(f"{_where(out.dense)}: the output layer has a bias, which integer logits cannot carry; "
                            "use use_bias=False")
    report.output_layer = out.dense
    return report


def _binary_layer(layer: Any, cls: str, inp: _Val, where: str) -> _Val:
    quant = {"QuantDepthwiseConv2D": "depthwise_quantizer"}.get(cls, "kernel_quantizer")
    if not _is_sign(getattr(layer, "input_quantizer", None)):
        q = _quantizer_name(getattr(layer, "input_quantizer", None))
        raise ContractError(f"{where}: input_quantizer is {q or 'None'}, not a sign: its input stays float; "
                            "set input_quantizer='ste_sign'")
    if not _is_sign(getattr(layer, quant, None)):
        q = _quantizer_name(getattr(layer, quant, None))
        raise ContractError(f"{where}: {quant} is {q or 'None'}, not a sign: its weights stay float; "
                            f"set {quant}='ste_sign'")
    if _activation_name(layer) != "linear":
        raise ContractError(f"{where}: activation '{_activation_name(layer)}' on a binary layer; leave "
                            "activation=None (the next layer's ste_sign binarizes)")
    if cls == "QuantConv2D" and str(layer.padding).lower() == "same" and float(getattr(layer, "pad_values", 0.0)) != 1.0:
        raise ContractError(f"{where}: SAME padding with zeros (not a binary value); use pad_values=1.0 or padding='valid'")
    if cls == "QuantDepthwiseConv2D":
        if str(layer.padding).lower() != "valid":
            raise ContractError(f"{where}: SAME (zero) padding in a depthwise convolution; use padding='valid'")
        if int(layer.depth_multiplier) != 1:
            raise ContractError(f"{where}: depth_multiplier {layer.depth_multiplier}; only 1 is supported")
    del inp  # any non-pixel value: bits, a pre-activation or a pending one, all binarized by the sign
    return _Val("pre", dense=layer if cls == "QuantDense" else None)


def _describe(v: _Val) -> str:
    return {
        "bits": "binary (sign) value",
        "pre": "binary layer's integer pre-activation",
        "pending": "batch-normalized value" if v.bn is not None else "max-pooled pre-activation",
        "pixels": "raw pixel value",
    }[v.kind]
