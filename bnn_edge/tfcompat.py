"""One place that imports TensorFlow, after ``TF_USE_LEGACY_KERAS=1`` is set by :mod:`bnn_edge`."""

from __future__ import annotations

import os

import bnn_edge  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)

assert os.environ.get("TF_USE_LEGACY_KERAS") == "1"

import tensorflow as tf  # noqa: E402
import larq as lq  # noqa: E402

keras = tf.keras
tf.get_logger().setLevel("ERROR")
tf.autograph.set_verbosity(0)

__all__ = ["tf", "lq", "keras"]
