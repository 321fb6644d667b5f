"""Scale-out: tf.distribute strategies for training on several devices or workers.

``--devices N`` splits the host CPU into N logical devices (to exercise data parallelism on one
machine); ``mirrored`` replicates the model on every local device and all-reduces gradients;
``multiworker`` does the same across the hosts listed in ``TF_CONFIG`` (TensorFlow's standard
cluster description). Each replica sees ``batch_size / replicas`` samples of a global batch.
"""

from __future__ import annotations

import os
from typing import Any

from bnn_edge import jsontext
from bnn_edge.errors import UserError
from bnn_edge.tfcompat import tf

STRATEGIES = ("none", "mirrored", "multiworker")


def make_strategy(name: str | None, devices: int | None = None) -> Any:
    """Return a ``tf.distribute.Strategy`` (or ``None`` for plain single-device training)."""
    name = (name or "none").lower()
    if name not in STRATEGIES:
        raise UserError(f"--strategy {name}: expected one of {', '.join(STRATEGIES)}")
    if devices is not None:
        if devices < 1:
            raise UserError(f"--devices {devices}: must be >= 1")
        cpus = tf.config.list_physical_devices("CPU")
        try:
            tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * devices)
        except RuntimeError:
            pass  # already initialised (e.g. in a test process that configured it before)
    if name == "none":
        return None
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devs = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        if devices is not None:
            devs = devs[:devices]
        return tf.distribute.MirroredStrategy(devices=devs)
    cfg = os.environ.get("TF_CONFIG")
    if cfg:
        try:
            jsontext.parse(cfg)
        except jsontext.JSONTextError as exc:
            raise UserError(f"TF_CONFIG is not valid JSON ({exc})") from None
    return tf.distribute.MultiWorkerMirroredStrategy()
