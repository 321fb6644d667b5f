"""TensorBoard logs (``--tensorboard DIR``) for ``bnn-edge train`` and ``bnn-edge cil``.

Layout under ``DIR`` (one TensorBoard "run" per sub-directory, ``tensorboard --logdir DIR``)::

    train_<preset>/          one per training (the pre-training of a CIL scenario too)
    <strategy>_task_<i>/     one per CIL task: the training of that task
    cil_<strategy>/          the scenario, one step per phase (0 = pre-training)

Per epoch (step = epoch, from 0): ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy`` (whatever
Keras reports) and ``learning_rate``, the rate the epoch trained with. Per CIL phase ``i``:
``seen_accuracy`` (accuracy over every class seen so far), ``new_task_accuracy`` (``a[i][i]``),
``old_tasks_accuracy`` (mean of ``a[i][j]``, ``j < i``), ``forgetting`` (``mean_{j<i} a[j][j] -
a[i][j]``, :mod:`bnn_edge.cil.metrics`' forgetting as if phase ``i`` were the last), ``epochs``,
``seconds``; and once, at the last
phase, ``final_accuracy``, ``average_incremental_accuracy`` and ``final_accuracy_deployment``.

Training code asks :func:`epoch_callbacks` for its callbacks; they are empty unless a command runs
inside :func:`logging_to`, so nothing changes for callers that never ask for TensorBoard.
"""

from __future__ import annotations

import contextlib
import re
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Iterator, Mapping

from bnn_edge.errors import UserError

_LOG_DIR: ContextVar[Path | None] = ContextVar("bnn_edge_tensorboard_dir", default=None)


def run_name(desc: str) -> str:
    """A TensorBoard run (sub-directory) name from a progress description: ``latent task 2/5`` -> ``latent_task_2``."""
    desc = re.sub(r"/\d+\s*$", "", desc.strip())  # "task 2/5" -> "task 2"
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", desc).strip("_.")
    return name or "run"


def _prepare(log_dir: str | Path) -> Path:
    from bnn_edge.atomic import writable_dir

    return writable_dir(log_dir, "--tensorboard")


@contextlib.contextmanager
def logging_to(log_dir: str | Path | None) -> Iterator[Path | None]:
    """Within the block, every training run logs its epochs under ``log_dir`` (``None``: no logs)."""
    path = _prepare(log_dir) if log_dir is not None else None
    token = _LOG_DIR.set(path)
    try:
        yield path
    finally:
        _LOG_DIR.reset(token)


def active_dir() -> Path | None:
    """The directory of the enclosing :func:`logging_to`, if any."""
    return _LOG_DIR.get()


def epoch_callbacks(desc: str) -> list[Any]:
    """Keras callbacks logging each epoch under ``<DIR>/<run_name(desc)>``; ``[]`` outside :func:`logging_to`."""
    path = active_dir()
    if path is None:
        return []
    return [_epoch_logger_class()(path / run_name(desc))]


def _epoch_logger_class() -> type:
    from bnn_edge.tfcompat import keras, tf

    class EpochScalars(keras.callbacks.Callback):
        """Writes the epoch's logs and learning rate as TensorBoard scalars (step = epoch)."""

        def __init__(self, log_dir: Path):
            super().__init__()
            self.log_dir = log_dir
            self.writer = None
            self.lr = float("nan")

        def on_train_begin(self, logs=None):
            self.writer = tf.summary.create_file_writer(str(self.log_dir))

        def on_epoch_begin(self, epoch, logs=None):
            try:  # the rate this epoch trains with; the LR schedule may change it at the epoch's end
                self.lr = float(keras.backend.get_value(self.model.optimizer.learning_rate))
            except (AttributeError, TypeError, ValueError):
                self.lr = float("nan")

        def on_epoch_end(self, epoch, logs=None):
            values = {k: float(v) for k, v in (logs or {}).items() if _is_number(v)}
            values["learning_rate"] = self.lr
            with self.writer.as_default():
                for tag, value in values.items():
                    tf.summary.scalar(tag, value, step=epoch)
            self.writer.flush()

        def on_train_end(self, logs=None):
            if self.writer is not None:
                self.writer.close()
                self.writer = None

    return EpochScalars


def _is_number(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def cil_phase_scalars(result: Mapping[str, Any]) -> dict[int, dict[str, float]]:
    """The per-phase scalars of a ``cil.json`` result (see the module docstring), keyed by phase."""
    a = result["accuracy_matrix"]
    seen = result["seen_accuracy"]
    epochs, seconds = result.get("phase_epochs") or [], result.get("phase_seconds") or []
    out: dict[int, dict[str, float]] = {}
    for i, row in enumerate(a):
        s: dict[str, float] = {"seen_accuracy": float(seen[i]), "new_task_accuracy": float(row[i])}
        if i > 0:
            old = [float(row[j]) for j in range(i)]
            s["old_tasks_accuracy"] = sum(old) / len(old)
            s["forgetting"] = sum(float(a[j][j]) - o for j, o in enumerate(old)) / len(old)
        if i < len(epochs) and epochs[i] is not None:
            s["epochs"] = float(epochs[i])
        if i < len(seconds) and seconds[i] is not None:
            s["seconds"] = float(seconds[i])
        out[i] = s
    last = len(a) - 1
    for key in ("final_accuracy", "average_incremental_accuracy", "final_accuracy_deployment"):
        if key in result and _is_number(result[key]):
            out[last][key] = float(result[key])
    return out


def write_cil(log_dir: str | Path, result: Mapping[str, Any]) -> Path:
    """Write :func:`cil_phase_scalars` of ``result`` under ``<log_dir>/cil_<strategy>``; returns that directory."""
    from bnn_edge.tfcompat import tf

    path = _prepare(log_dir) / run_name(f"cil {result.get('strategy', '')}")
    writer = tf.summary.create_file_writer(str(path))
    with writer.as_default():
        for phase, scalars in cil_phase_scalars(result).items():
            for tag, value in scalars.items():
                tf.summary.scalar(tag, value, step=phase)
    writer.close()
    return path
