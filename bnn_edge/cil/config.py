"""What defines one CIL run (:class:`CilConfig`, written to ``cil.json`` under ``config``) and the
checks that need neither the data nor TensorFlow, so that ``bnn-edge cil`` refuses a mistake at once."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from bnn_edge.cil.strategies import Strategy
from bnn_edge.data import check_seed
from bnn_edge.errors import UserError
from bnn_edge.models.reconstruction import DEFAULT_RECON_WEIGHT, check_recon_weight
from bnn_edge.schedule import LRSchedule


@dataclass
class CilConfig:
    """Everything that defines a CIL run (written to ``cil.json`` under ``config``)."""

    dataset: str = "digits"
    preset: str = "tiny"
    pretrain_classes: int = 5
    tasks: int = 5
    replay: str = "latent"
    buffer_mb: float | None = None
    seed: int = 0
    joint: bool = False
    epochs: int = 200
    batch_size: int = 64
    schedule: LRSchedule = field(default_factory=LRSchedule)
    pretrained: str | None = None
    data_dir: str | None = None
    val_fraction: float = 0.1
    distribute: str = "none"  # tf.distribute strategy: none | mirrored | multiworker
    devices: int | None = None  # split the CPU into N logical devices
    recon_weight: float = DEFAULT_RECON_WEIGHT  # pre-training: CE + weight * reconstruction MSE
    image_size: tuple[int, int] | None = None  # image folders: resize every image to HxW
    test_fraction: float | None = None  # image folders without train/test: the test share

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["schedule"] = asdict(self.schedule)
        return d


def check_config(cfg: CilConfig) -> Strategy:
    """Validate what does not need the data; returns the strategy. :class:`UserError` otherwise."""
    strategy = Strategy(cfg.replay, cfg.joint)
    if strategy.uses_buffer:
        if cfg.buffer_mb is None:
            raise UserError(f"--replay {cfg.replay} needs --buffer-mb (the replay memory in megabits, > 0)")
        if not (isinstance(cfg.buffer_mb, (int, float)) and math.isfinite(cfg.buffer_mb) and cfg.buffer_mb > 0):
            raise UserError(f"--buffer-mb {cfg.buffer_mb}: must be a positive number of megabits (1 Mb = 10^6 bits)")
    check_seed(cfg.seed)
    if cfg.tasks < 1:
        raise UserError(f"--tasks {cfg.tasks}: must be >= 1")
    if cfg.pretrain_classes < 1:
        raise UserError(f"--pretrain-classes {cfg.pretrain_classes}: must be >= 1")
    if cfg.epochs < 1:
        raise UserError(f"--epochs {cfg.epochs}: must be >= 1")
    if cfg.batch_size < 1:
        raise UserError(f"--batch-size {cfg.batch_size}: must be >= 1")
    check_recon_weight(cfg.recon_weight)
    if not 0 < cfg.val_fraction < 1:
        raise UserError(f"validation fraction {cfg.val_fraction}: must be in (0, 1)")
    return strategy
