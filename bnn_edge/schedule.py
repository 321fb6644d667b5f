"""Adaptive learning-rate schedule "for autonomous and terminal convergence" (the paper's).

Per task the LR starts at ``start_lr``. After every epoch the monitored validation loss is compared
with the best so far: an improvement larger than ``min_delta`` resets the wait counter; otherwise,
after ``patience`` epochs without improvement, ``lr <- lr * factor``. When the LR would drop below
``min_lr`` training of the task stops: the schedule, not an epoch count, decides when it converged
(``--epochs`` stays as a safety cap).

``kind="cosine"`` is the alternative for a fixed time budget: epoch ``e`` of ``E`` (``--epochs``)
uses ``lr_e = min_lr + (start_lr - min_lr) * (1 + cos(pi * e / E)) / 2``, and training runs all
``E`` epochs (``factor`` and ``patience`` are not used). With ``max_seconds`` it also fits a wall-clock
budget: the schedule's progress is ``p = max(e / E, elapsed / max_seconds)`` (so the LR still
reaches the floor when the machine is slower than planned), ``lr = min_lr + (start_lr - min_lr) *
(1 + cos(pi * p)) / 2``, and training stops before an epoch that would end past the budget
(estimated from the longest epoch so far).

This module is TensorFlow-free (the command line checks a schedule before importing TensorFlow);
the Keras callback that applies it is :class:`bnn_edge.lr_callback.AdaptiveLR`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass



@dataclass(frozen=True)
class LRSchedule:
    """Parameters of :class:`AdaptiveLR` (all exposed on the command line)."""

    start_lr: float = 1e-3
    factor: float = 0.3
    patience: int = 6
    min_lr: float = 1e-5
    min_delta: float = 1e-4
    kind: str = "plateau"  # "plateau" (adaptive, the paper's) | "cosine" (fixed length: --epochs)
    max_seconds: float = 0.0  # cosine only: wall-clock budget of one training phase (0 = none)

    def __post_init__(self) -> None:
        if not all(math.isfinite(v) for v in (self.start_lr, self.min_lr, self.factor, self.min_delta)):
            raise ValueError(f"learning rates, factor and min_delta must be finite numbers, got lr {self.start_lr}, "
                             f"lr-min {self.min_lr}, factor {self.factor}, min_delta {self.min_delta}")
        if self.kind not in ("plateau", "cosine"):
            raise ValueError(f"schedule kind must be 'plateau' or 'cosine', got {self.kind!r}")
        if not (self.start_lr > 0 and self.min_lr > 0):
            raise ValueError("learning rates must be positive")
        if self.min_lr > self.start_lr:
            raise ValueError(f"--lr {self.start_lr:g} is below the floor --lr-min {self.min_lr:g} (the schedule runs "
                             f"from --lr down to --lr-min): lower --lr-min or raise --lr")
        if not 0 < self.factor < 1:
            raise ValueError(f"factor must be in (0, 1), got {self.factor}")
        if not (math.isfinite(self.max_seconds) and self.max_seconds >= 0):
            raise ValueError(f"time budget must be >= 0 seconds, got {self.max_seconds}")
        if self.max_seconds and self.kind != "cosine":
            raise ValueError("a time budget needs the cosine schedule")
        if self.patience < 1:
            raise ValueError(f"patience must be >= 1, got {self.patience}")

    def max_steps_down(self) -> int:
        """How many times the LR can be stepped down before it falls below ``min_lr``."""
        return max(0, math.floor(math.log(self.min_lr / self.start_lr) / math.log(self.factor) + 1e-9)) + 1


def check_val_fraction(val_fraction: float, schedule: LRSchedule) -> None:
    """The validation hold-out must be in [0, 1); 0 (no hold-out) only with the cosine schedule, which
    watches no validation loss. Raises :class:`UserError` naming ``--val-fraction``."""
    from bnn_edge.errors import UserError

    if not 0 <= val_fraction < 1:
        raise UserError(f"--val-fraction {val_fraction}: must be in [0, 1)")
    if val_fraction == 0 and schedule.kind != "cosine":
        raise UserError("--val-fraction 0 needs --lr-schedule cosine (the plateau schedule watches the validation loss)")


def __getattr__(name: str):
    """``bnn_edge.schedule.AdaptiveLR`` still resolves (imported lazily: it needs TensorFlow)."""
    if name == "AdaptiveLR":
        from bnn_edge.lr_callback import AdaptiveLR

        return AdaptiveLR
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
