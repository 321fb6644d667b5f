"""``bnn-edge sweep``: a grid of CIL runs, resumable, optionally parallel; CSV + buffer-size figure.

Grid: presets x strategies x buffer sizes x seeds. Buffer-free strategies (``none``, ``joint``,
``joint-latent``) run once per (preset, seed). Layout of the sweep directory::

    sweep.json                              the settings shared by every cell and the networks (checked on resume)
    pretrain/<preset>_seed<s>/              phase 0, shared by all cells of (preset, seed)
    cells/<preset>_<strategy>[_<mb>Mb]_seed<s>/cil.json (+ plots)
    sweep.csv, final_accuracy_vs_buffer.png

Every cell and pre-training directory is written atomically (:mod:`bnn_edge.atomic`): it is
finished when its ``cil.json`` (a JSON object) or its verified ``run.json`` is there, so an
interrupted sweep resumes where it stopped, and a damaged cell (an empty ``cil.json`` left by an
older version) is simply run again. The sweep directory is locked while a sweep runs in it.
A SIGINT (Ctrl-C) stops the sweep (exit 130): the cell it interrupted is not recorded as failed,
and no ``sweep.csv`` is written for the unfinished grid.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import signal
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable

from bnn_edge.atomic import OutputLock, write_file_atomic
from bnn_edge.cil.engine import CIL_FILE, CilConfig, budget_for, check_config
from bnn_edge.cil.plots import plot_final_accuracy_vs_buffer
from bnn_edge.cil.scenario import make_scenario
from bnn_edge import jsontext
from bnn_edge.errors import UserError
from bnn_edge.workers import sigint_ignored
from bnn_edge.models.preset_file import preset_label
from bnn_edge.models.reconstruction import DEFAULT_RECON_WEIGHT
from bnn_edge.schedule import LRSchedule

SWEEP_FILE = "sweep.json"
CSV_FILE = "sweep.csv"
FIGURE_FILE = "final_accuracy_vs_buffer.png"
BUFFERED = ("latent", "native")
#: sweep strategy name -> (--replay, --joint)
STRATEGIES: dict[str, tuple[str, bool]] = {
    "latent": ("latent", False),
    "native": ("native", False),
    "none": ("none", False),
    "joint": ("native", True),
    "joint-latent": ("latent", True),
}
CSV_COLUMNS = [
    "preset", "replay", "buffer_mb", "seed", "status", "final_accuracy", "final_accuracy_deployment",
    "average_incremental_accuracy", "forgetting", "bwt", "buffer_samples", "bits_per_sample",
    "buffer_bits_capacity", "buffer_bits_used", "seconds", "dir",
]


@dataclass
class SweepConfig:
    """The grid axes (``presets, replays, buffers_mb, seeds``) and the settings every cell shares."""

    dataset: str = "digits"
    presets: list[str] = field(default_factory=lambda: ["tiny"])
    replays: list[str] = field(default_factory=lambda: ["latent", "native"])
    buffers_mb: list[float] = field(default_factory=lambda: [0.005, 0.01, 0.02])
    seeds: list[int] = field(default_factory=lambda: [0, 1])
    pretrain_classes: int = 5
    tasks: int = 5
    epochs: int = 200
    batch_size: int = 64
    schedule: LRSchedule = field(default_factory=LRSchedule)
    data_dir: str | None = None
    recon_weight: float = DEFAULT_RECON_WEIGHT
    image_size: tuple[int, int] | None = None
    test_fraction: float | None = None

    def shared(self) -> dict[str, Any]:
        """Settings that must not change when a sweep directory is resumed."""
        return {
            "dataset": self.dataset, "data_dir": self.data_dir, "pretrain_classes": self.pretrain_classes,
            "tasks": self.tasks, "epochs": self.epochs, "batch_size": self.batch_size,
            "schedule": asdict(self.schedule), "recon_weight": self.recon_weight,
            **({"image_size": list(self.image_size) if self.image_size else None, "test_fraction": self.test_fraction}
               if self.image_size is not None or self.test_fraction is not None else {}),
        }


@dataclass(frozen=True)
class Cell:
    preset: str
    replay: str  # a key of STRATEGIES
    buffer_mb: float | None
    seed: int

    @property
    def name(self) -> str:
        mb = ""
        if self.buffer_mb is not None:  # %g unless it rounds (0.0100001 vs 0.01000011): then the exact repr
            g = f"{self.buffer_mb:g}"
            mb = f"_{g if float(g) == self.buffer_mb else repr(float(self.buffer_mb))}Mb"
        return f"{preset_label(self.preset)}_{self.replay}{mb}_seed{self.seed}"

    def config(self, sweep: SweepConfig, pretrained: Path) -> CilConfig:
        replay, joint = STRATEGIES[self.replay]
        return CilConfig(
            dataset=sweep.dataset, preset=self.preset, pretrain_classes=sweep.pretrain_classes, tasks=sweep.tasks,
            replay=replay, joint=joint, buffer_mb=self.buffer_mb, seed=self.seed, epochs=sweep.epochs,
            batch_size=sweep.batch_size, schedule=sweep.schedule, pretrained=str(pretrained), data_dir=sweep.data_dir,
            recon_weight=sweep.recon_weight, image_size=sweep.image_size, test_fraction=sweep.test_fraction,
        )


def grid(cfg: SweepConfig) -> list[Cell]:
    """All cells, in a stable order: preset, strategy, buffer size, seed."""
    cells = []
    for preset in cfg.presets:
        for replay in cfg.replays:
            sizes = cfg.buffers_mb if replay in BUFFERED else [None]
            for mb in sizes:
                for seed in cfg.seeds:
                    cells.append(Cell(preset, replay, mb, seed))
    return cells


def pretrain_dir(out: Path, preset: str, seed: int) -> Path:
    return out / "pretrain" / f"{preset_label(preset)}_seed{seed}"


def cell_dir(out: Path, cell: Cell) -> Path:
    return out / "cells" / cell.name


def validate(cfg: SweepConfig) -> dict[Cell, str]:
    """Check the whole grid before training anything; returns cells that cannot run, with why.

    Errors (:class:`UserError`): unknown strategies, empty axes, buffer sizes ``<= 0`` (when a
    buffered strategy is asked for), duplicates, a bad scenario, a preset that does not fit.
    A buffer too small for one sample of a strategy is not an error: that cell is skipped.
    """
    from bnn_edge.data import check_classes, check_seed, class_order, load_dataset
    from bnn_edge.train import preset_for

    unknown = [r for r in cfg.replays if r not in STRATEGIES]
    if unknown:
        raise UserError(f"--replay {','.join(unknown)}: unknown strategy (known: {', '.join(STRATEGIES)})")
    for name, axis in (("--replay", cfg.replays), ("--seeds", cfg.seeds), ("--buffer-mb", cfg.buffers_mb)):
        if len(set(axis)) != len(axis):
            raise UserError(f"{name}: duplicate values in {','.join(map(str, axis))}")
    if any(r in BUFFERED for r in cfg.replays):
        bad = [mb for mb in cfg.buffers_mb if not (mb > 0 and math.isfinite(mb))]
        if bad:
            raise UserError(f"--buffer-mb {','.join(f'{b:g}' for b in bad)}: buffer sizes must be positive megabits")
    for seed in cfg.seeds:
        check_seed(seed, "--seeds")
    if cfg.epochs < 1:
        raise UserError(f"--epochs {cfg.epochs}: must be >= 1")
    data = load_dataset(cfg.dataset, data_dir=cfg.data_dir, image_size=cfg.image_size, test_fraction=cfg.test_fraction)
    make_scenario(class_order(data.num_classes, 0), cfg.pretrain_classes, cfg.tasks)
    check_classes(data, list(range(data.num_classes)), cfg.dataset)
    too_small: dict[Cell, str] = {}
    for cell in grid(cfg):
        p = preset_for(data, cell.preset)
        c = cell.config(cfg, Path("."))
        strategy = check_config(c)
        try:
            budget_for(c, strategy, p, data.num_classes)
        except UserError as exc:
            too_small[cell] = f"skipped: {exc}"
    return too_small


def networks(cfg: SweepConfig) -> dict[str, Any]:
    """Every preset of the grid as resolved now (a network description file's contents, not its name)."""
    from bnn_edge.models import get_preset

    return {name: json.loads(json.dumps(asdict(get_preset(name)))) for name in cfg.presets}


def _check_resume(out: Path, cfg: SweepConfig) -> None:
    """A sweep directory is resumed only with the same shared settings and networks: finished cells
    and pre-trainings made with a network description file that was edited since are not reused.
    ``sweep.json`` holds the settings and, under ``networks``, every preset the directory has seen."""
    path = out / SWEEP_FILE
    shared, now = cfg.shared(), networks(cfg)
    if not path.is_file():
        write_file_atomic(path, json.dumps({**shared, "networks": now}, indent=2))
        return
    try:
        old = jsontext.read(path)
    except (OSError, jsontext.JSONTextError):
        old = None
    old = dict(old) if isinstance(old, dict) else None
    seen = old.pop("networks", {}) if old is not None else {}
    seen = seen if isinstance(seen, dict) else {}  # a sweep.json written before networks were recorded: {}
    if old != shared:
        diff = sorted(k for k in shared if old is None or old.get(k) != shared[k])
        raise UserError(f"--out {out}: holds a sweep with other settings ({', '.join(diff)} differ); use another --out")
    for name, net in now.items():
        old_net = seen.get(name) if isinstance(seen.get(name), dict) else {}
        fields = sorted(k for k in net if k in old_net and net[k] != old_net[k])  # fields a newer bnn-edge added: skipped
        if fields:
            raise UserError(f"--out {out}: its results for preset {name} were made with another network "
                            f"({', '.join(fields)} differ: the description file was edited?); use another --out")
    if any(name not in seen for name in now):
        write_file_atomic(path, json.dumps({**shared, "networks": {**seen, **now}}, indent=2))


def _cell_result(cell_path: Path) -> dict[str, Any] | None:
    """A finished cell's ``cil.json``; ``None`` if absent or damaged (the cell is then run again)."""
    try:
        r = jsontext.read(cell_path / CIL_FILE)
    except (OSError, jsontext.JSONTextError):
        return None
    return r if isinstance(r, dict) and "final_accuracy" in r else None


def _pretrained(path: Path) -> bool:
    """A complete pre-training run (its ``run.json`` verifies): reusable by the cells."""
    from bnn_edge.manifest import read_run_info

    try:
        read_run_info(path)
    except UserError:
        return False
    return True


# --- work items (top-level functions: they run in spawned worker processes) -------------------

def _stop_job(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # with-blocks unwind: the job's temporary directory is removed


def _init_worker(threads: int) -> None:
    """A sweep worker (started deaf to Ctrl-C: :mod:`bnn_edge.workers`): SIGTERM, which the parent
    sends to stop running jobs, ends the job the way an error does, so its output directory is
    never left half-written."""
    signal.signal(signal.SIGTERM, _stop_job)
    from bnn_edge.tfcompat import tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))
    except RuntimeError:
        pass


def _pretrain_job(cfg: SweepConfig, preset: str, seed: int, out: str) -> tuple[str, str | None]:
    from bnn_edge.train import train_run

    try:  # train_run writes `out` atomically
        train_run(cfg.dataset, preset, out, epochs=cfg.epochs, pretrain_classes=cfg.pretrain_classes, seed=seed,
                  schedule=cfg.schedule, batch_size=cfg.batch_size, data_dir=cfg.data_dir, verbose=False,
                  recon_weight=cfg.recon_weight, image_size=cfg.image_size, test_fraction=cfg.test_fraction)
        return f"pretrain {preset} seed {seed}", None
    except Exception as exc:  # reported in the summary; the sweep goes on with other seeds
        return f"pretrain {preset} seed {seed}", f"{exc.__class__.__name__}: {exc}"
    finally:
        from bnn_edge.tfcompat import keras

        keras.backend.clear_session()


def _cell_job(cfg: SweepConfig, cell: Cell, out: str, pretrained: str) -> tuple[str, str | None]:
    from bnn_edge.cil.engine import run_cil

    try:
        run_cil(cell.config(cfg, Path(pretrained)), out, verbose=False)
        return cell.name, None
    except Exception as exc:
        return cell.name, f"{exc.__class__.__name__}: {exc}"


def _run_jobs(jobs: list[tuple[Callable, tuple]], n_proc: int, on_done: Callable[[str, str | None], None]) -> None:
    if not jobs:
        return
    if n_proc <= 1:
        for fn, args in jobs:
            on_done(*fn(*args))
        return
    threads = max(1, (os.cpu_count() or 1) // n_proc)
    pool = ProcessPoolExecutor(max_workers=n_proc, mp_context=get_context("spawn"), initializer=_init_worker,
                               initargs=(threads,))
    try:
        with sigint_ignored():  # the workers start now, deaf to Ctrl-C from their first instruction
            futures = [pool.submit(fn, *args) for fn, args in jobs]
        for fut in as_completed(futures):
            on_done(*fut.result())
    except BaseException:  # an interrupt: stop the running jobs now (SIGTERM: they clean up), start no queued one
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            if proc.is_alive():
                proc.terminate()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _row(cell: Cell, out: Path, status: str) -> dict[str, Any]:
    row: dict[str, Any] = {k: "" for k in CSV_COLUMNS}
    row.update(preset=cell.preset, replay=cell.replay, buffer_mb="" if cell.buffer_mb is None else cell.buffer_mb,
               seed=cell.seed, status=status, dir=str(cell_dir(out, cell).relative_to(out)))
    r = _cell_result(cell_dir(out, cell)) if status == "ok" else None
    if r is not None:
        for k in CSV_COLUMNS:
            if k in r and k not in ("preset", "replay", "buffer_mb", "seed"):
                row[k] = r[k]
    return row


class _Interrupted:
    """SIGINT handler for the sweep: remembers the interrupt, then raises KeyboardInterrupt as usual.

    Libraries can turn that KeyboardInterrupt into another exception (TensorFlow's ``tf_stack``
    raises ``AssertionError: Concurrent access?``); the flag lets the sweep stop anyway instead
    of recording the interrupted cell as failed.
    """

    def __init__(self) -> None:
        self.seen = False

    def __call__(self, signum: int, frame: Any) -> None:
        self.seen = True
        raise KeyboardInterrupt


def run_sweep(cfg: SweepConfig, out: str | Path, jobs: int = 1, progress: bool = True) -> dict[str, Any]:
    """Run every unfinished cell; write ``sweep.csv`` and the figure; returns a summary dict.

    A SIGINT stops it with :class:`KeyboardInterrupt` (nothing recorded for the interrupted cell).
    """
    from bnn_edge.train import prepare_out_dir

    if jobs < 1:
        raise UserError(f"--jobs {jobs}: must be >= 1")
    too_small = validate(cfg)
    out = prepare_out_dir(out)
    interrupted = _Interrupted()
    try:
        old_handler = signal.signal(signal.SIGINT, interrupted)
    except ValueError:  # not the main thread: keep Python's default handling
        old_handler = None
    try:
        with OutputLock(out.resolve(), "--out", out):
            return _sweep_locked(cfg, out, jobs, progress, too_small, interrupted)
    finally:
        if old_handler is not None:
            signal.signal(signal.SIGINT, old_handler)


def _sweep_locked(cfg: SweepConfig, out: Path, jobs: int, progress: bool, too_small: dict[Cell, str],
                  interrupted: _Interrupted) -> dict[str, Any]:
    from bnn_edge.progress import job_bar

    _check_resume(out, cfg)
    cells = grid(cfg)
    runnable = [c for c in cells if c not in too_small]
    done = {c for c in runnable if _cell_result(cell_dir(out, c)) is not None}
    todo = [c for c in runnable if c not in done]
    pairs = sorted({(c.preset, c.seed) for c in todo})
    pre_jobs = [(p, s) for p, s in pairs if not _pretrained(pretrain_dir(out, p, s))]
    failures: dict[str, str] = {}
    t0 = time.time()
    bar = job_bar(total=len(pre_jobs) + len(runnable), initial=len(done), desc="sweep", unit="job", disable=not progress)

    def finished(name: str, error: str | None) -> None:
        if interrupted.seen:  # whatever the job reported, it was interrupted: stop, record nothing
            raise KeyboardInterrupt
        if error:
            failures[name] = error
            bar.write(f"failed: {name}: {error}")
        bar.set_postfix_str(name[-40:])
        bar.update(1)

    try:
        (out / "pretrain").mkdir(exist_ok=True)
        _run_jobs([(_pretrain_job, (cfg, p, s, str(pretrain_dir(out, p, s)))) for p, s in pre_jobs], jobs, finished)
        cell_jobs = []
        for c in todo:
            pre = pretrain_dir(out, c.preset, c.seed)
            if f"pretrain {c.preset} seed {c.seed}" in failures or not _pretrained(pre):
                failures[c.name] = f"no pre-training for {c.preset} seed {c.seed}"
                bar.update(1)
                continue
            cell_jobs.append((_cell_job, (cfg, c, str(cell_dir(out, c)), str(pre))))
        _run_jobs(cell_jobs, jobs, finished)
        if interrupted.seen:
            raise KeyboardInterrupt
    finally:
        bar.close()

    rows = []
    for c in cells:
        if c in too_small:
            status = too_small[c]
        elif c.name in failures:
            status = "failed: " + failures[c.name]
        else:
            status = "ok"
        rows.append(_row(c, out, status))
    text = io.StringIO(newline="")
    w = csv.DictWriter(text, fieldnames=CSV_COLUMNS)
    w.writeheader()
    w.writerows(rows)
    write_file_atomic(out / CSV_FILE, text.getvalue())
    title = (f"{cfg.dataset}: {', '.join(cfg.presets)}; pre-train {cfg.pretrain_classes} classes, "
             f"{cfg.tasks} tasks; seeds {','.join(map(str, cfg.seeds))}")
    tmp_figure = out / f".{FIGURE_FILE}.tmp-{os.getpid()}.png"
    try:
        plot_final_accuracy_vs_buffer([r for r in rows if r["status"] == "ok"], tmp_figure, title)
        if tmp_figure.exists():
            os.replace(tmp_figure, out / FIGURE_FILE)
    finally:
        if tmp_figure.exists():
            tmp_figure.unlink()
    return {
        "cells": len(cells),
        "ran": len(todo) - sum(1 for c in todo if c.name in failures),
        "skipped": len(done),
        "too_small": len(too_small),
        "failed": len(failures),
        "failures": failures,
        "csv": str(out / CSV_FILE),
        "figure": str(out / FIGURE_FILE),
        "seconds": round(time.time() - t0, 2),
    }
