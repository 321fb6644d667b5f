"""bnn-edge: fully-binary neural networks from training to Cortex-M, with on-device class-incremental learning.

Importing the package sets ``TF_USE_LEGACY_KERAS=1`` before TensorFlow can be imported, so the
Keras 2 API that larq 0.14 needs (``tf_keras``) is the one ``tf.keras`` resolves to.
"""

import os as _os

_os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"
