"""The Keras callback that applies an :class:`bnn_edge.schedule.LRSchedule` (plateau or cosine) to a fit."""

from __future__ import annotations

import math
import time
from typing import Callable

from bnn_edge.schedule import LRSchedule
from bnn_edge.tfcompat import keras


class AdaptiveLR(keras.callbacks.Callback):
    """Step the optimizer's LR down on a plateau of ``monitor``; stop when it falls below ``min_lr``."""

    def __init__(self, schedule: LRSchedule, monitor: str = "val_loss", notice: Callable[[str], None] | None = None):
        """``notice``: called once, after the second epoch of a time-budgeted phase, with a line saying
        how many epochs the budget holds at the speed measured (the first epoch also builds the graph)."""
        super().__init__()
        self.schedule = schedule
        self.monitor = monitor
        self.notice = notice
        self.budget_epochs: int | None = None  # that estimate (None until made)
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

    def budget_estimate(self, elapsed: float, epoch_seconds: float, epochs_done: int, epochs_cap: int) -> int:
        """Epochs the phase will run: ``epochs_done + floor((max_seconds - elapsed) / epoch_seconds)``,
        at most ``epochs_cap`` (the stop rule above ends before an epoch that would end past the budget)."""
        left = max(0.0, self.schedule.max_seconds - elapsed)
        return min(epochs_cap, epochs_done + int(left // max(epoch_seconds, 1e-9)))

    def _estimate(self, now: float) -> None:
        epochs = int((self.params or {}).get("epochs") or 1)
        dt = now - self._epoch_t0
        self.budget_epochs = self.budget_estimate(now - self._t0, dt, 2, epochs)
        if self.notice is not None:
            self.notice(f"time budget {self.schedule.max_seconds / 60:g} min at {dt:.0f} s per epoch: about "
                        f"{self.budget_epochs} of the {epochs} epochs")

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
            if self.schedule.max_seconds and epoch == 1:
                self._estimate(now)
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
