"""Progress over the epochs of a Keras training (imports TensorFlow; :mod:`bnn_edge.progress` does not)."""

from __future__ import annotations

import sys
from typing import TextIO

from tqdm.auto import tqdm

from bnn_edge.progress import _short, is_terminal
from bnn_edge.tfcompat import keras


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
        loss = float(logs.get("loss", float("nan")))
        # without a validation hold-out (train --val-fraction 0) the bar shows the training accuracy
        key, name = ("val_accuracy", "val_acc") if "val_accuracy" in logs else ("accuracy", "acc")
        acc = float(logs.get(key, float("nan")))
        if self.bar is not None:
            self.bar.set_postfix({"loss": f"{loss:.3f}", name: f"{acc:.3f}", "lr": f"{self._lr:.1e}"})
            self.bar.update(1)
        else:
            print(f"{self.desc}: epoch {epoch + 1}/{self.total} loss={loss:.3f} {name}={acc:.3f} lr={self._lr:.1e}",
                  file=self.file, flush=True)

    def note(self, message: str) -> None:
        """One line under the bar (or between the per-epoch lines): ``<desc>: <message>``."""
        line = f"{self.desc}: {message}"
        if self.bar is not None:
            tqdm.write(line, file=self.file)
        else:
            print(line, file=self.file, flush=True)

    def on_train_end(self, logs=None):
        self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
