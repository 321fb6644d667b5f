"""Network definitions: presets, the thermometer input, the BN-free gain, the ternarized head.

The names below are loaded on first use (PEP 562 ``__getattr__``): importing
:mod:`bnn_edge.models.presets` (plain dataclasses) does not import TensorFlow; asking for
``build_model`` or ``CUSTOM_OBJECTS`` does.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    **dict.fromkeys(["LATENT_LAYER", "LOGITS_LAYER", "WeightCounts", "apply_head", "build_head_model", "build_model",
                     "classifier_gain", "extractor_of", "weight_counts"], "bnn_edge.models.build"),
    **dict.fromkeys(["Gain", "fan_in_gain", "unit_gains"], "bnn_edge.models.gain"),
    "RandomCropFlip": "bnn_edge.models.augment",
    **dict.fromkeys(["PRESETS", "Block", "Preset", "get_preset", "with_input_shape"], "bnn_edge.models.presets"),
    **dict.fromkeys(["Thermometer", "thermometer_encode", "thermometer_thresholds"], "bnn_edge.models.thermometer"),
}

__all__ = [
    "LATENT_LAYER", "LOGITS_LAYER", "WeightCounts", "apply_head", "build_head_model", "build_model",
    "classifier_gain", "extractor_of", "weight_counts", "Gain", "fan_in_gain", "unit_gains", "PRESETS",
    "Block", "Preset", "get_preset", "with_input_shape", "Thermometer", "thermometer_encode",
    "thermometer_thresholds", "RandomCropFlip", "CUSTOM_OBJECTS",
]


def __getattr__(name: str) -> Any:
    if name == "CUSTOM_OBJECTS":
        # the project's own layers: the only non-Keras, non-larq classes a model file may name
        # (bnn_edge.models.loading)
        value: Any = {k: __getattr__(k) for k in ("Gain", "Thermometer", "RandomCropFlip")}
    elif name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # cached: the next lookup is a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
