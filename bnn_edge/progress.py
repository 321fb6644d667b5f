"""Progress reports for long work: epochs of a training, jobs of a sweep.

On a terminal they are tqdm bars redrawn in place. When the stream is not a terminal (CI, output
redirected to a file or a pipe) a redrawn bar would pile every update onto one endless line, so
each finished epoch (or job) is written as one short line of its own instead.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from tqdm.auto import tqdm

from bnn_edge.tfcompat import keras

MAX_DESC = 60  # characters of a description kept in a line (lines stay far below 300 characters)


def is_terminal(stream: Any) -> bool:
    """Whether ``stream`` is an interactive terminal (False for files, pipes and closed streams)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _short(text: str, limit: int = MAX_DESC) -> str:
    text = " ".join(str(text).split())  # no newlines or carriage returns inside a line
    return text if len(text) <= limit else "..." + text[-(limit - 3):]


class LineBar:
    """The subset of tqdm's interface used here, writing one line per :meth:`update`."""

    def __init__(self, total: int, desc: str, unit: str = "it", initial: int = 0, file: TextIO | None = None,
                 disable: bool = False):
        self.total, self.desc, self.unit, self.n = total, _short(desc), unit, initial
        self.file = file if file is not None else sys.stderr
        self.disable = disable
        self.postfix = ""

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        self.postfix = _short(s)

    def set_postfix(self, **kwargs: Any) -> None:
        self.postfix = _short(", ".join(f"{k}={v}" for k, v in kwargs.items()), 120)

    def write(self, s: str) -> None:
        if not self.disable:
            print(s, file=self.file, flush=True)

    def update(self, n: int = 1) -> None:
        self.n += n
        if not self.disable:
            tail = f" {self.postfix}" if self.postfix else ""
            print(f"{self.desc}: {self.n}/{self.total} {self.unit}{tail}", file=self.file, flush=True)

    def close(self) -> None:
        pass


def job_bar(total: int, desc: str, unit: str = "job", initial: int = 0, disable: bool = False,
            file: TextIO | None = None) -> Any:
    """A tqdm bar on a terminal, else a :class:`LineBar` (one line per finished job)."""
    file = file if file is not None else sys.stderr
    if is_terminal(file):
        return tqdm(total=total, initial=initial, desc=desc, unit=unit, disable=disable, file=file, dynamic_ncols=True)
    return LineBar(total, desc, unit=unit, initial=initial, file=file, disable=disable)


class EpochBar(keras.callbacks.Callback):
    """Progress over epochs showing loss, validation accuracy and the learning rate of the epoch.

    A tqdm bar on a terminal; otherwise one line per epoch
    (``train tiny: epoch 3/200 loss=0.412 val_acc=0.871 lr=1.0e-03``).
    """

    def __init__(self, total: int, desc: str, file: TextIO | None = None):
        super().__init__()
        self.file = file if file is not None else sys.stderr
        self.total, self.desc = total, _short(desc)
        self.bar = (tqdm(total=total, desc=self.desc, unit="ep", file=self.file, leave=False, dynamic_ncols=True)
                    if is_terminal(self.file) else None)
        self._lr = float("nan")

    def _current_lr(self) -> float:
        try:
            return float(keras.backend.get_value(self.model.optimizer.learning_rate))
        except (AttributeError, TypeError, ValueError):
            return float("nan")

    def on_epoch_begin(self, epoch, logs=None):
        self._lr = self._current_lr()  # the rate this epoch trains with (the schedule may change it at its end)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        loss, val_acc = float(logs.get("loss", float("nan"))), float(logs.get("val_accuracy", float("nan")))
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{loss:.3f}", val_acc=f"{val_acc:.3f}", lr=f"{self._lr:.1e}")
            self.bar.update(1)
        else:
            print(f"{self.desc}: epoch {epoch + 1}/{self.total} loss={loss:.3f} val_acc={val_acc:.3f} lr={self._lr:.1e}",
                  file=self.file, flush=True)

    def on_train_end(self, logs=None):
        self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
