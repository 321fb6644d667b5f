"""One class-incremental run: pre-train (or reuse a pre-trained run), then the deployment tasks.

Protocol (see :mod:`bnn_edge.cil.scenario`, :mod:`~bnn_edge.cil.strategies`,
:mod:`~bnn_edge.cil.buffer`, :mod:`~bnn_edge.cil.metrics`):

1. Phase 0: train the preset on the ``P`` pre-training classes (``bnn-edge train
   --pretrain-classes P``: cross-entropy plus ``recon_weight`` times the training-only
   reconstruction term of :mod:`bnn_edge.models.reconstruction`; or load ``--pretrained RUN_DIR``)
   and test it (row 0 of the matrix).
2. Reset the classifier: a fresh head with ``N_max`` outputs masked to the seen classes
   (:mod:`~bnn_edge.cil.classifier`); with latent replay the extractor is frozen from here on.
3. Fill the buffer with the pre-training samples (class-balanced, seeded).
4. For each task ``t = 1..T``: hold out a stratified ``val_fraction`` of the new-task samples;
   train on the strategy's training set (new + replayed, class-balanced mixed batches), validating
   on the held-out new samples plus the buffer; the adaptive LR schedule restarts every task; test
   on every seen class (row ``t``); then offer the task's samples to the buffer.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from bnn_edge.cil.config import CilConfig, check_config
from bnn_edge.cil.buffer import BufferBudget, ClassBalancedBuffer
from bnn_edge.cil.codec import BinaryLatentCodec, FloatLatentCodec, PixelCodec
from bnn_edge.cil.learners import FullLearner, HeadLearner, Learner
from bnn_edge.cil.metrics import summarize
from bnn_edge.cil.plots import plot_accuracy_curves, plot_accuracy_matrix
from bnn_edge.cil.scenario import Scenario, make_scenario
from bnn_edge.cil.strategies import Strategy, replay_mix
from bnn_edge.atomic import AtomicDir
from bnn_edge.batches import keras_predict
from bnn_edge.data import Dataset, check_classes, class_order, load_dataset, validation_split
from bnn_edge import jsontext
from bnn_edge.errors import UserError
from bnn_edge.models.presets import Preset

CIL_FILE = "cil.json"
MATRIX_PNG = "accuracy_matrix.png"
CURVES_PNG = "accuracy_curves.png"
PRETRAIN_DIR = "pretrain"
#: what a cil --out holds (an existing --out holding anything else is not replaced)
CIL_DIR_NAMES = (CIL_FILE, MATRIX_PNG, CURVES_PNG, PRETRAIN_DIR)


def payload_bits(p: Preset, frozen_extractor: bool) -> int:
    """Payload bits of one replay sample: the latent (1 or 32 bits a feature) or the image."""
    if frozen_extractor:
        return (BinaryLatentCodec(p.latent) if p.binary else FloatLatentCodec(p.latent)).payload_bits
    return PixelCodec(p.input_shape, p.vmax).payload_bits


def budget_for(cfg: CilConfig, strategy: Strategy, p: Preset, num_classes: int) -> BufferBudget | None:
    """The buffer budget of a run (``None`` without a buffer); an error if it holds no sample."""
    if not strategy.uses_buffer:
        return None
    budget = BufferBudget(float(cfg.buffer_mb), payload_bits(p, strategy.frozen_extractor), num_classes)
    if budget.capacity < 1:
        raise UserError(
            f"--buffer-mb {cfg.buffer_mb}: {budget.capacity_bits} bits hold no {cfg.replay} sample "
            f"({budget.bits_per_sample} bits each); use at least {budget.bits_per_sample / 1e6:g}"
        )
    return budget


def prepare(cfg: CilConfig) -> tuple[Strategy, Dataset, Preset, Scenario, BufferBudget | None]:
    """Load the data and validate everything before any training."""
    from bnn_edge.train import preset_for

    strategy = check_config(cfg)
    data = load_dataset(cfg.dataset, data_dir=cfg.data_dir, seed=cfg.seed, image_size=cfg.image_size,
                        test_fraction=cfg.test_fraction)
    p = preset_for(data, cfg.preset)
    scenario = make_scenario(class_order(data.num_classes, cfg.seed), cfg.pretrain_classes, cfg.tasks)
    check_classes(data, list(range(data.num_classes)), cfg.dataset)
    budget = budget_for(cfg, strategy, p, data.num_classes)
    return strategy, data, p, scenario, budget


def check_pretrained(run: dict[str, Any], cfg: CilConfig, scenario: Scenario, where: str,
                     p: Preset | None = None, dataset_options: dict[str, Any] | None = None) -> None:
    """The reused run must have pre-trained this preset on exactly this scenario's phase 0.

    With ``p`` and ``dataset_options``, also the same network (every field of the preset as this
    run resolves it: input shape, levels, pixel range, blocks, latent size, ...: a network
    description file edited since, or a dataset of another image size, are refused) and the same
    image-folder options."""
    problems = []
    if p is not None:
        now = json.loads(json.dumps(asdict(p)))
        then = run.get("preset") if isinstance(run.get("preset"), dict) else {}
        diff = sorted(k for k in now if k in then and now[k] != then[k])  # a field an older run lacks: not compared
        if diff:
            problems.append("network " + ", ".join(f"{k} {json.dumps(then.get(k))} (this run: {json.dumps(now.get(k))})"
                                                    for k in diff[:4]) + (" ..." if len(diff) > 4 else ""))
    if dataset_options is not None and (run.get("dataset_options") or {}) != dataset_options:
        problems.append(f"dataset options {json.dumps(run.get('dataset_options') or {})} "
                        f"(this run: {json.dumps(dataset_options)})")
    if run.get("dataset") != cfg.dataset:
        problems.append(f"dataset '{run.get('dataset')}' (this run: '{cfg.dataset}')")
    if run.get("preset_name") != cfg.preset:
        problems.append(f"preset '{run.get('preset_name')}' (this run: '{cfg.preset}')")
    if list(run.get("class_order") or []) != list(scenario.order):
        problems.append(f"class order {run.get('class_order')} (this run, seed {cfg.seed}: {list(scenario.order)})")
    if list(run.get("classes") or []) != list(scenario.pretrain_classes):
        problems.append(f"pre-training classes {run.get('classes')} (this run: {list(scenario.pretrain_classes)})")
    if problems:
        raise UserError(f"--pretrained {where}: does not match this scenario: " + "; ".join(problems))


def check_has_latent(model: Any, where: str) -> None:
    """The pre-trained model must have the ``latent`` layer the CIL learners cut the extractor at."""
    from bnn_edge.models.build import LATENT_LAYER

    names = {layer.name for layer in model.layers}
    if LATENT_LAYER not in names:
        raise UserError(f"--pretrained {where}: the model has no '{LATENT_LAYER}' layer, so it has no feature "
                        f"extractor to reuse (not a bnn-edge preset?)")


def pretrain(cfg: CilConfig, out_dir: Path, verbose: bool, dist: Any = None) -> Path:
    """Phase 0 with ``bnn-edge train --pretrain-classes P`` into ``out_dir``; returns it."""
    from bnn_edge.train import train_run

    train_run(cfg.dataset, cfg.preset, out_dir, epochs=cfg.epochs, pretrain_classes=cfg.pretrain_classes,
              seed=cfg.seed, schedule=cfg.schedule, batch_size=cfg.batch_size, data_dir=cfg.data_dir,
              val_fraction=cfg.val_fraction, verbose=verbose, strategy=dist, recon_weight=cfg.recon_weight,
              image_size=cfg.image_size, test_fraction=cfg.test_fraction)
    return out_dir


def _phase_correct(pred: np.ndarray, y: np.ndarray, phase_of: np.ndarray, n_phases: int, upto: int) -> list[int | None]:
    """``correct[j]`` for phases ``j <= upto`` (None after): hits among test samples of phase j."""
    hits = pred == y
    return [int(hits[phase_of[y] == j].sum()) if j <= upto else None for j in range(n_phases)]


def run_cil(cfg: CilConfig, out: str | Path, verbose: bool = True) -> dict[str, Any]:
    """Run the scenario, write ``cil.json`` and the plots into ``out``; returns the cil.json dict.

    ``out`` is written atomically (:class:`bnn_edge.atomic.AtomicDir`): it appears complete once
    ``cil.json`` is written, or not at all; a second command writing there meanwhile is refused.
    """
    from bnn_edge.distribute import make_strategy

    t_start = time.time()
    strategy, data, p, scenario, budget = prepare(cfg)
    dist = make_strategy(cfg.distribute, cfg.devices)

    def scope():  # a fresh context manager each time: the strategy's, or none
        return dist.scope() if dist is not None else contextlib.nullcontext()

    with AtomicDir(out, "a cil output directory", CIL_DIR_NAMES, keep={"--pretrained": cfg.pretrained}) as work:
        result = _run_into(work.path, work.final, cfg, strategy, data, p, scenario, budget, dist, scope, verbose, t_start)
    return result


def _run_into(out_dir: Path, final_dir: Path, cfg: CilConfig, strategy: Strategy, data: Dataset, p: Preset,
              scenario: Scenario, budget: BufferBudget | None, dist: Any, scope: Any, verbose: bool,
              t_start: float) -> dict[str, Any]:
    """The body of :func:`run_cil`, writing into ``out_dir`` (the temporary directory of ``final_dir``)."""
    from bnn_edge.tfcompat import keras
    from bnn_edge.train import load_run, set_seed, to_positions

    n_classes = data.num_classes
    n_phases = len(scenario.phases)
    order = list(scenario.order)
    phase_of = scenario.phase_of_position()
    y_train = to_positions(data.y_train, order)
    y_test = to_positions(data.y_test, order)

    # Phase 0: pre-training (reused or trained here).
    t0 = time.time()
    if cfg.pretrained:
        run_dir = Path(cfg.pretrained)
        with scope():
            model, run = load_run(run_dir)
        check_pretrained(run, cfg, scenario, str(run_dir), p, data.options)
        check_has_latent(model, str(run_dir))
        pretrain_info = {"reused": str(run_dir)}
    else:
        run_dir = pretrain(cfg, out_dir / PRETRAIN_DIR, verbose, dist)
        with scope():
            model, run = load_run(run_dir)
        pretrain_info = {"reused": None, "run_dir": str(final_dir / PRETRAIN_DIR)}
    try:
        metrics = jsontext.read(run_dir / "metrics.json")
    except (OSError, jsontext.JSONTextError):
        metrics = None
    if isinstance(metrics, dict):
        pretrain_info.update({k: v for k, v in metrics.items()
                              if k in ("epochs_run", "seconds", "test_accuracy", "recon_weight")})
    seen0 = scenario.seen(0)
    test_seen = y_test < seen0
    logits0 = keras_predict(model, data.x_test, rows=np.flatnonzero(test_seen))  # bounded batches, no float32 copy
    correct = [_phase_correct(np.argmax(logits0, -1), y_test[test_seen], phase_of, n_phases, 0)]
    phase_epochs = [pretrain_info.get("epochs_run")]
    phase_seconds = [round(time.time() - t0, 2)]
    replay_repeats = [None]

    # Reset the classifier; choose what is trained from here on.
    set_seed(cfg.seed)
    with scope():  # variables of the new head (and of the trainable extractor) live on every replica
        learner: Learner = (HeadLearner if strategy.frozen_extractor else FullLearner)(p, model, n_classes)
    x_train = learner.represent(data.x_train, desc="latents train" if verbose else None)
    x_test = learner.represent(data.x_test, desc="latents test" if verbose else None)
    buffer = ClassBalancedBuffer(budget, learner.codec, cfg.seed) if budget is not None else None
    if buffer is not None:
        buffer.update(x_train[y_train < seen0], y_train[y_train < seen0])

    for phase in range(1, n_phases):
        t0 = time.time()
        lo, hi = scenario.seen(phase - 1), scenario.seen(phase)
        if strategy.joint:
            sel = y_train < hi
        else:
            sel = (y_train >= lo) & (y_train < hi)
        x_fit, y_fit, x_val, y_val = validation_split(x_train[sel], y_train[sel], cfg.val_fraction, cfg.seed + phase)
        k = None
        if buffer is not None and len(buffer):
            x_buf, y_buf = buffer.samples()
            x_buf = x_buf.astype(x_fit.dtype, copy=False)
            x_fit, y_fit, k = replay_mix(x_fit, y_fit, x_buf, y_buf)
            x_val, y_val = np.concatenate([x_val, x_buf]), np.concatenate([y_val, y_buf])
        summary = learner.fit_phase(x_fit, y_fit, x_val, y_val, hi, cfg.schedule, cfg.epochs, cfg.batch_size,
                                    desc=f"{strategy.name} task {phase}/{scenario.tasks}", verbose=verbose)
        test_seen = y_test < hi
        pred = learner.predict(x_test[test_seen])
        correct.append(_phase_correct(pred, y_test[test_seen], phase_of, n_phases, phase))
        if buffer is not None:
            new = (y_train >= lo) & (y_train < hi)
            buffer.update(x_train[new], y_train[new])
        phase_epochs.append(summary["epochs_run"])
        phase_seconds.append(round(time.time() - t0, 2))
        replay_repeats.append(k)

    counts = [int((phase_of[y_test] == j).sum()) for j in range(n_phases)]
    metrics = summarize(correct, counts)
    result: dict[str, Any] = {
        "config": cfg.as_dict(),
        "strategy": strategy.name,
        "dataset": cfg.dataset,
        "preset": cfg.preset,
        "preset_config": asdict(p),
        "num_classes": n_classes,
        **scenario.as_dict(),
        **metrics,
        "test_counts": counts,
        "correct": correct,
        "buffer_mb": cfg.buffer_mb if budget is not None else None,
        "buffer_bits_capacity": budget.capacity_bits if budget else 0,
        "buffer_bits_used": buffer.bits_used if buffer else 0,
        "buffer_samples": len(buffer) if buffer else 0,
        "buffer_capacity_samples": budget.capacity if budget else 0,
        "bits_per_sample": budget.bits_per_sample if budget else None,
        "payload_bits": budget.payload_bits if budget else None,
        "label_bits": budget.label_bits if budget else None,
        "buffer_class_counts": {str(order[c]): n for c, n in buffer.class_counts().items()} if buffer else {},
        "extractor_frozen": strategy.frozen_extractor,
        "replicas": int(dist.num_replicas_in_sync) if dist is not None else 1,
        "replay_repeats": replay_repeats,
        "pretraining": pretrain_info,
        "phase_epochs": phase_epochs,
        "phase_seconds": phase_seconds,
    }
    title = f"{cfg.dataset} {cfg.preset} {strategy.name}" + (f" {cfg.buffer_mb:g} Mb" if budget else "") + f" seed {cfg.seed}"
    plot_accuracy_matrix(metrics["accuracy_matrix"], out_dir / MATRIX_PNG, title)
    plot_accuracy_curves(metrics["accuracy_matrix"], metrics["seen_accuracy"], out_dir / CURVES_PNG, title)
    result["plots"] = [MATRIX_PNG, CURVES_PNG]
    result["seconds"] = round(time.time() - t_start, 2)
    (out_dir / CIL_FILE).write_text(json.dumps(result, indent=2))
    keras.backend.clear_session()
    return result
