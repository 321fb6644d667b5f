"""Training of a preset on a dataset (the pre-training phase of a CIL scenario when asked).

Loss: softmax cross-entropy on the logits, plus ``recon_weight`` times the mean squared error of a
training-only linear decoder from the latent back to the pixels
(:mod:`bnn_edge.models.reconstruction`: it keeps in the latent what classes not trained yet will
need); optimizer Adam on larq's latent (real-valued, clipped)
weights; the :class:`bnn_edge.lr_callback.AdaptiveLR` schedule decides when training has converged.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from bnn_edge.atomic import AtomicDir
from bnn_edge.data import Dataset, check_classes, check_seed, class_order, load_dataset, validation_split
from bnn_edge.errors import UserError
from bnn_edge.manifest import FILES_KEY, hash_files, read_run_info
from bnn_edge.models import build_model, get_preset, weight_counts, with_input_shape
from bnn_edge.models.presets import Preset
from bnn_edge.models.reconstruction import resolve_recon_weight, with_reconstruction
from bnn_edge.precision import float32_twin, resolve_precision, training_policy
from bnn_edge.epoch_bar import EpochBar
from bnn_edge.lr_callback import AdaptiveLR
from bnn_edge.schedule import LRSchedule, check_val_fraction
from bnn_edge.tblog import epoch_callbacks
from bnn_edge.tfcompat import keras

MODEL_FILE = "model.keras"
RUN_FILE = "run.json"
METRICS_FILE = "metrics.json"
#: what a run directory holds (an existing --out holding anything else is not replaced)
RUN_DIR_FILES = (MODEL_FILE, RUN_FILE, METRICS_FILE)


def prepare_out_dir(out: str | os.PathLike) -> Path:
    """Create ``out`` (parents too) and check that it is writable: a :class:`UserError` otherwise."""
    from bnn_edge.atomic import writable_dir

    return writable_dir(out, "--out")


def save_run(out_dir: Path, model: keras.Model, run: dict[str, Any], metrics: dict[str, Any]) -> None:
    """Write ``metrics.json``, ``model.keras``, then ``run.json`` recording their SHA-256 (``files``)."""
    (out_dir / METRICS_FILE).write_text(json.dumps(metrics, indent=2))
    model.save(out_dir / MODEL_FILE)
    run = {**run, FILES_KEY: hash_files(out_dir, (MODEL_FILE, METRICS_FILE))}
    (out_dir / RUN_FILE).write_text(json.dumps(run, indent=2))


def preset_for(dataset: Dataset, preset_name: str) -> Preset:
    """The preset adapted to the dataset's input shape and pixel range; a clear error if it can't be."""
    p = get_preset(preset_name)
    if tuple(dataset.input_shape) != tuple(p.input_shape) or dataset.vmax != p.vmax:
        p = with_input_shape(p, dataset.input_shape, vmax=dataset.vmax)
    return p


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow (op-level determinism is not forced: it is slow on CPU)."""
    keras.utils.set_random_seed(seed)


def to_positions(y: np.ndarray, order: list[int]) -> np.ndarray:
    """Map dataset labels to output rows: row ``i`` is class ``order[i]``."""
    lut = np.full(max(max(order), int(y.max(initial=0))) + 1, -1, np.int64)
    lut[order] = np.arange(len(order))
    return lut[y]


def compile_model(model: keras.Model, lr: float) -> None:
    model.compile(
        optimizer=keras.optimizers.Adam(lr),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )


def model_input(x: np.ndarray) -> np.ndarray:
    """What to hand Keras for ``x``: pixels as they are (``uint8``: the functional model casts each
    batch to its float32 ``Input``, exactly, so the training set is never held as float32, 4x its
    size), anything else (latent vectors) as float32."""
    return x if x.dtype == np.uint8 else x.astype(np.float32, copy=False)


def fit(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    schedule: LRSchedule,
    epochs: int,
    batch_size: int,
    desc: str = "train",
    verbose: bool = True,
) -> dict[str, Any]:
    """Train until the adaptive LR schedule falls below its floor (or ``epochs``); returns a summary."""
    bar = EpochBar(epochs, desc) if verbose else None
    lr_cb = AdaptiveLR(schedule, notice=bar.note if bar is not None else None)
    callbacks: list[keras.callbacks.Callback] = [lr_cb]
    if bar is not None:
        callbacks.append(bar)
    callbacks += epoch_callbacks(desc)  # TensorBoard scalars under `--tensorboard DIR` (bnn_edge.tblog)
    compile_model(model, schedule.start_lr)
    t0 = time.time()
    hist = model.fit(
        model_input(x),
        y,
        validation_data=(model_input(x_val), y_val) if len(x_val) else None,
        epochs=epochs,
        batch_size=batch_size,
        shuffle=True,
        callbacks=callbacks,
        verbose=0,
    )
    if bar is not None:
        bar.close()
    return {
        "epochs_run": len(hist.history.get("loss", [])),
        "stopped_by_lr_floor": lr_cb.stopped_by_floor,
        "stopped_by_time": lr_cb.stopped_by_time,
        "final_lr": lr_cb.lr,
        "seconds": time.time() - t0,
    }


def evaluate_accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray, batch_size: int = 256) -> float:
    """Top-1 accuracy of ``argmax(logits)`` against output rows ``y``."""
    if len(x) == 0:
        return float("nan")
    logits = model.predict(model_input(x), batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(logits, axis=-1) == y))


def train_run(
    dataset: str,
    preset: str,
    out: str | os.PathLike,
    epochs: int = 200,
    pretrain_classes: int | None = None,
    seed: int = 0,
    schedule: LRSchedule | None = None,
    batch_size: int = 64,
    data_dir: str | None = None,
    val_fraction: float = 0.1,
    verbose: bool = True,
    strategy: Any = None,
    recon_weight: float | None = None,
    image_size: tuple[int, int] | None = None,
    test_fraction: float | None = None,
    precision: str = "float32",
) -> dict[str, Any]:
    """``bnn-edge train``: train, save ``model.keras``, ``run.json`` and ``metrics.json`` in ``out``.

    Minimises ``CE + recon_weight * MSE(decoder(latent), pixels / vmax)``; the decoder is not saved.
    ``recon_weight=None``: 20 with ``pretrain_classes`` (a CIL pre-training), else 0.
    ``val_fraction``: the stratified hold-out watched by the schedule and the progress bar; 0 trains on the
    whole training set (cosine schedule only).
    ``precision``: the training arithmetic (:mod:`bnn_edge.precision`; ``auto`` resolves by the CPU);
    the saved model is float32 either way.
    """
    precision = resolve_precision(precision)
    check_seed(seed)
    schedule = schedule or LRSchedule()
    if epochs < 1:
        raise UserError(f"--epochs must be >= 1, got {epochs}")
    check_val_fraction(val_fraction, schedule)
    recon_weight = resolve_recon_weight(recon_weight, pretraining=pretrain_classes is not None)
    with AtomicDir(out, "a training run", RUN_DIR_FILES) as work:
        metrics = _train_into(work.path, dataset, preset, epochs, pretrain_classes, seed, schedule, batch_size,
                              data_dir, val_fraction, verbose, strategy, recon_weight, image_size, test_fraction,
                              precision)
    return metrics


def _train_into(out_dir: Path, dataset: str, preset: str, epochs: int, pretrain_classes: int | None, seed: int,
                schedule: LRSchedule, batch_size: int, data_dir: str | None, val_fraction: float, verbose: bool,
                strategy: Any, recon_weight: float, image_size: tuple[int, int] | None,
                test_fraction: float | None, precision: str = "float32") -> dict[str, Any]:
    """The body of :func:`train_run`, writing into ``out_dir`` (the temporary directory of the output)."""
    data = load_dataset(dataset, data_dir=data_dir, seed=seed, image_size=image_size, test_fraction=test_fraction)
    p = preset_for(data, preset)
    order = class_order(data.num_classes, seed)
    k = data.num_classes if pretrain_classes is None else pretrain_classes
    if not 1 <= k <= data.num_classes:
        raise UserError(f"--pretrain-classes {k}: must be between 1 and the dataset's {data.num_classes} classes")
    classes = order[:k]
    check_classes(data, classes, dataset)
    tr = np.isin(data.y_train, classes)
    te = np.isin(data.y_test, classes)
    x_tr, y_tr = data.x_train[tr], to_positions(data.y_train[tr], classes)
    x_te, y_te = data.x_test[te], to_positions(data.y_test[te], classes)
    x_fit, y_fit, x_val, y_val = validation_split(x_tr, y_tr, val_fraction, seed)

    set_seed(seed)
    def scope():  # a fresh context each time (a strategy's scope object cannot be entered twice)
        return strategy.scope() if strategy is not None else _nullcontext()

    with scope(), training_policy(precision):
        # the training graph: trunk gains folded into the signs' windows (bnn_edge.models.build)
        model = build_model(p, len(classes), fold_gains=True)
        trainer = with_reconstruction(model, p, recon_weight)
    with training_policy(precision):
        summary = fit(trainer, x_fit, y_fit, x_val, y_val, schedule, epochs, batch_size, desc=f"train {p.name}",
                      verbose=verbose)
    with scope():  # what is evaluated, saved and exported: float32 with the trained weights
        model = float32_twin(model, lambda: build_model(p, len(classes)), always=True)
    acc = evaluate_accuracy(model, x_te, y_te)
    counts = weight_counts(model)
    run = {
        "dataset": dataset,
        "data_dir": data_dir,
        "dataset_options": data.options,
        "class_names": data.class_names,
        "preset": asdict(p),
        "preset_name": preset,
        "seed": seed,
        "recon_weight": recon_weight,
        "class_order": order,
        "classes": classes,
        "pretrain_classes": k if pretrain_classes is not None else None,
        "num_classes_total": data.num_classes,
        "input_shape": list(data.input_shape),
        "vmax": data.vmax,
    }
    metrics = {
        "test_accuracy": acc,
        "test_samples": int(len(x_te)),
        **counts.as_dict(),
        "classes": classes,
        "class_order": order,
        "epochs_run": summary["epochs_run"],
        "stopped_by_lr_floor": summary["stopped_by_lr_floor"],
        "stopped_by_time": summary["stopped_by_time"],
        "seconds": round(summary["seconds"], 2),
        "val_fraction": val_fraction,
        "replicas": int(strategy.num_replicas_in_sync) if strategy is not None else 1,
        "schedule": asdict(schedule),
        "recon_weight": recon_weight,
        "precision": precision,
        "preset": p.name,
        "dataset": dataset,
    }
    save_run(out_dir, model, run, metrics)
    return metrics


def init_run(preset: str, out: str | os.PathLike, num_classes: int | None = None, seed: int = 0,
             dataset: str = "random") -> Path:
    """Save an *untrained* model of ``preset`` as a run directory (for export/firmware sizing).

    ``dataset`` is recorded as given; ``"random"`` makes the exporter check the pack on random
    pixels. Returns the run directory.
    """
    p = get_preset(preset)
    n = num_classes if num_classes is not None else (100 if p.name.startswith("paper") else 10)
    with AtomicDir(out, "a training run", RUN_DIR_FILES) as work:
        set_seed(seed)
        model = build_model(p, n)
        order = list(range(n))
        run = {
            "dataset": dataset, "data_dir": None, "preset": asdict(p), "preset_name": preset, "seed": seed,
            "class_order": order, "classes": order, "pretrain_classes": None, "num_classes_total": n,
            "input_shape": list(p.input_shape), "vmax": p.vmax, "untrained": True,
        }
        save_run(work.path, model, run, {**weight_counts(model).as_dict(), "classes": order, "class_order": order,
                                         "test_accuracy": None, "epochs_run": 0})
    return work.final


class _nullcontext:
    def __enter__(self):
        return None

    def __exit__(self, *a):
        return False


def load_run(run_dir: str | os.PathLike) -> tuple[keras.Model, dict[str, Any]]:
    """Load ``model.keras`` and ``run.json`` from a training run directory.

    Clear errors if absent, if a field of ``run.json`` has the wrong type, or if ``model.keras`` or
    ``metrics.json`` is not the file ``run.json`` recorded (:func:`bnn_edge.manifest.read_run_info`).
    """
    run_dir = Path(run_dir)
    model_path = run_dir / MODEL_FILE
    run = read_run_info(run_dir)
    from bnn_edge.models.loading import load_keras_model

    model = load_keras_model(model_path)
    return model, run
