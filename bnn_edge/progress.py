"""Progress bars (tqdm) for long work: epochs of a training, cells of a sweep."""

from __future__ import annotations

import sys

from tqdm.auto import tqdm

from bnn_edge.tfcompat import keras


class EpochBar(keras.callbacks.Callback):
    """One tqdm bar over epochs showing loss, validation accuracy and the current learning rate."""

    def __init__(self, total: int, desc: str):
        super().__init__()
        self.bar = tqdm(total=total, desc=desc, unit="ep", file=sys.stderr, leave=False, dynamic_ncols=True)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        lr = float(keras.backend.get_value(self.model.optimizer.learning_rate))
        self.bar.set_postfix(loss=f"{logs.get('loss', 0):.3f}", val_acc=f"{logs.get('val_accuracy', 0):.3f}", lr=f"{lr:.1e}")
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()
