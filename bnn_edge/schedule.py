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
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from bnn_edge.tfcompat import keras


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


class AdaptiveLR(keras.callbacks.Callback):
    """Step the optimizer's LR down on a plateau of ``monitor``; stop when it falls below ``min_lr``."""

    def __init__(self, schedule: LRSchedule, monitor: str = "val_loss"):
        super().__init__()
        self.schedule = schedule
        self.monitor = monitor
        self.history: list[float] = []  # LR used in each epoch
        self.stopped_by_floor = False
        self.stopped_by_time = False

    def on_train_begin(self, logs=None):
        self.best = math.inf
        self.wait = 0
        self.lr = self.schedule.start_lr
        self.stopped_by_floor = False
        self.stopped_by_time = False
        self._t0 = time.monotonic()
        self._epoch_t0 = self._t0
        self._longest_epoch = 0.0
        self._set(self.lr)

    def cosine_lr(self, progress: float) -> float:
        """The cosine schedule's LR at ``progress`` in [0, 1] of the phase."""
        s = self.schedule
        p = min(1.0, max(0.0, progress))
        return s.min_lr + (s.start_lr - s.min_lr) * 0.5 * (1.0 + math.cos(math.pi * p))

    def progress(self, epoch: int, epochs: int, elapsed: float) -> float:
        """``max(epoch / epochs, elapsed / max_seconds)`` (the second term only with a time budget)."""
        p = epoch / max(1, epochs)
        if self.schedule.max_seconds:
            p = max(p, elapsed / self.schedule.max_seconds)
        return p

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_t0 = time.monotonic()
        if self.schedule.kind == "cosine":
            epochs = int((self.params or {}).get("epochs") or 1)
            self.lr = self.cosine_lr(self.progress(epoch, epochs, self._epoch_t0 - self._t0))
            self._set(self.lr)

    def _set(self, lr: float) -> None:
        opt = self.model.optimizer
        opt.learning_rate.assign(lr) if hasattr(opt.learning_rate, "assign") else setattr(opt, "learning_rate", lr)

    def step(self, value: float) -> bool:
        """Feed one epoch's monitored value; returns True when training must stop."""
        self.history.append(self.lr)
        if value < self.best - self.schedule.min_delta:
            self.best = value
            self.wait = 0
            return False
        self.wait += 1
        if self.wait >= self.schedule.patience:
            self.wait = 0
            self.lr *= self.schedule.factor
            if self.lr < self.schedule.min_lr * (1 - 1e-9):
                self.stopped_by_floor = True
                return True
        return False

    def on_epoch_end(self, epoch, logs=None):
        if self.schedule.kind == "cosine":
            self.history.append(self.lr)
            now = time.monotonic()
            self._longest_epoch = max(self._longest_epoch, now - self._epoch_t0)
            if self.schedule.max_seconds and now - self._t0 + self._longest_epoch > self.schedule.max_seconds:
                self.stopped_by_time = True
                self.model.stop_training = True
            return
        value = (logs or {}).get(self.monitor)
        if value is None:
            value = (logs or {}).get("loss", math.inf)
        if self.step(float(value)):
            self.model.stop_training = True
        else:
            self._set(self.lr)
