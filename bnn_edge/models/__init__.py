"""Network definitions: presets, the thermometer input, the BN-free gain, the ternarized head."""

from bnn_edge.models.build import (
    LATENT_LAYER,
    LOGITS_LAYER,
    WeightCounts,
    apply_head,
    build_head_model,
    build_model,
    classifier_gain,
    extractor_of,
    weight_counts,
)
from bnn_edge.models.augment import RandomCropFlip
from bnn_edge.models.gain import Gain, fan_in_gain, unit_gains
from bnn_edge.models.presets import PRESETS, Block, Preset, get_preset, with_input_shape
from bnn_edge.models.thermometer import Thermometer, thermometer_encode, thermometer_thresholds

#: The project's own layers: the only non-Keras, non-larq classes a model file may name
#: (:mod:`bnn_edge.models.loading`).
CUSTOM_OBJECTS = {"Gain": Gain, "Thermometer": Thermometer, "RandomCropFlip": RandomCropFlip}

__all__ = [
    "LATENT_LAYER", "LOGITS_LAYER", "WeightCounts", "apply_head", "build_head_model", "build_model",
    "classifier_gain", "extractor_of", "weight_counts", "Gain", "fan_in_gain", "unit_gains", "PRESETS",
    "Block", "Preset", "get_preset", "with_input_shape", "Thermometer", "thermometer_encode",
    "thermometer_thresholds", "CUSTOM_OBJECTS",
]
