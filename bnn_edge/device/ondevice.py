"""On-device class-incremental learning on an export: ``bnn-edge simulate EXPORT`` (``--cil``).

The export (``bnn-edge export`` of a run trained with ``--pretrain-classes P``) is the frozen
feature extractor; the classes of the run's dataset that pre-training left out arrive after
deployment, in the run's class order, split into ``tasks`` tasks. For every train and test image
the extractor's latent comes from :func:`bnn_edge.sim.interpreter.run_pack` on the pack (bit-exact
with the firmware, so these are the latents the device would compute), run in bounded batches
(:func:`bnn_edge.batches.sim_batches`: memory does not grow with the dataset). The scenario
(:func:`bnn_edge.sim.cil_stream.protocol_stream`):

- task 0 = the P pre-training classes: the fresh head offers their train latents to its replay
  buffer (``buffer_add``; class-balanced reservoir sampling keeps what fits) and ``end_task``
  trains it on the buffer;
- tasks 1..T = the new classes: ``learn`` on each train sample (at most ``shots`` per class),
  then ``end_task``;
- after each task every test latent of the tasks seen so far is predicted (accuracy matrix), and
  the state is committed to a simulated flash and reloaded (power-safe store).

That one stream runs through the integer twin (:class:`~bnn_edge.sim.head.IntHead`), the float32
reference (:class:`~bnn_edge.sim.head.FloatHead`) and, unless skipped, the C head
(``firmware/app/cil_main.c``, :mod:`bnn_edge.device.cil_app`) built for the host and/or any
Cortex-M core of the target table on QEMU: ``bit_exact_vs_c`` is true when every C run ends in a
byte-identical state with identical predictions.

RAM (``ram_breakdown``): everything the device holds in RAM while it infers and learns -- the
head's arena without the buffer + its control block (``sizeof(bnn_head_t)`` on a 32-bit
Cortex-M), the replay buffer, the pack's inference arena (``round_up4(arena_bytes)``) and
scratch, the runtime's ``bnn_model_t`` + ``bnn_interpreter_t``, and a stack reserve. The latent
``z`` is read in place from the inference arena (no copy); W1 is the head's PRNG matrix in RAM
(``w1="random"``, the default) or the pack's trained hidden layer read in place from flash
(``w1="trained"``, ``--w1 trained``: 0 bytes of RAM).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from bnn_edge.device.memory import RUNTIME_CONTROL_BYTES, STACK_RESERVE_BYTES
from bnn_edge.device.targets import firmware_targets, resolve
from bnn_edge.errors import UserError

DEFAULT_TASKS = 5


def _ru4(x: int) -> int:
    return (int(x) + 3) & ~3


def _read_export(export_dir: Path) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """(pack, export.json, the run's run.json); the pack must have a latent, the run be trained."""
    from bnn_edge.export_dir import read_export_dir

    e = read_export_dir(export_dir)
    if e.run_dir is None:
        raise UserError(f"{e.path}: an export of a model file; on-device learning needs the export of a "
                        "`bnn-edge train` run (its dataset and pre-training classes)")
    if not e.pack.has_latent:
        raise UserError(f"{e.path / 'model.bnnpack'}: the pack has no latent tensor, so there is no feature extractor for the head")
    lat = e.pack.tensors[e.pack.latent_tensor]
    if (lat.h, lat.w) != (1, 1):
        raise UserError(f"{e.path / 'model.bnnpack'}: the latent tensor is {lat.h}x{lat.w}x{lat.c} (spatial); the "
                        f"on-device head reads a flat 1x1xC latent")
    if e.run.get("untrained"):
        raise UserError(f"{e.run_dir}: an untrained model; train one with `bnn-edge train --pretrain-classes P`")
    return e.pack, e.info, e.run


def split_tasks(order: Sequence[int], pretrain: int, tasks: Optional[int]) -> list[list[int]]:
    """Phases of the scenario: ``order[:pretrain]``, then the remaining classes split into ``tasks``
    tasks exactly as ``bnn-edge cil`` splits them (:func:`bnn_edge.cil.scenario.make_scenario`:
    ``numpy.array_split``). ``None``: 5 tasks, or one per class if fewer classes are left."""
    from bnn_edge.cil.scenario import make_scenario

    left = len(order) - pretrain
    if tasks is None:
        tasks = min(DEFAULT_TASKS, left)
    if tasks > left:
        raise UserError(f"--tasks {tasks}: only {left} class{'es' if left != 1 else ''} left after pre-training "
                        f"({len(order)} classes - {pretrain} pre-trained)")
    return [list(ph) for ph in make_scenario(list(order), pretrain, int(tasks)).phases]


def ram_breakdown(head_mem: dict[str, int], pack: Any) -> dict[str, int]:
    """Every byte of RAM the device needs to infer with ``pack`` and learn with the head."""
    head = head_mem["total"] - head_mem["buffer"]
    out = {
        "head": head,
        "buffer": head_mem["buffer"],
        "inference_arena": _ru4(pack.arena_bytes),
        "inference_scratch": int(pack.scratch_bytes),
        "runtime_control": RUNTIME_CONTROL_BYTES,
        "stack_reserve": STACK_RESERVE_BYTES,
    }
    out["total"] = sum(out.values())
    return out


def _jsonable_matrix(a: np.ndarray) -> list[list[Optional[float]]]:
    return [[None if math.isnan(v) else round(float(v), 4) for v in row] for row in np.asarray(a, dtype=float)]


#: head hyper-parameters that ``simulate`` may override (fields of :class:`bnn_edge.sim.head.HeadConfig`)
#: and their ranges (those of the C ``bnn_head_config_t``).
HEAD_OPTIONS = {"epochs": (0, 255), "lr_mul": (1, 32768), "lr_shift": (0, 30), "replay_k": (0, 255), "temp_shift": (0, 16)}


def simulate_export(
    export_dir: str | Path,
    *,
    tasks: Optional[int] = None,
    buffer_kb: float = 4.0,
    ram_kb: float = 64.0,
    shots: Optional[int] = None,
    seed: int = 0,
    c_targets: Sequence[str] = ("host",),
    build_dir: Optional[str | Path] = None,
    c_boards: Sequence[str] = (),
    w1: str = "random",
    batch_images: Optional[int] = None,
    head: Optional[dict[str, int]] = None,
) -> dict[str, Any]:
    """``bnn-edge simulate EXPORT``: the scenario of the module docstring; returns the report
    (JSON-able). ``c_targets`` (any spelling of firmware targets: ``host``, ``qemu-m4``, ``m33``)
    empty skips the C check (``bit_exact_vs_c = None``); the report names them as the table does.
    ``c_boards``: real boards QEMU models (``netduinoplus2``, ``microbit``) whose image runs the
    same stream too, with the two-slot store on the board's flash geometry (page, program unit;
    :func:`bnn_edge.device.board_image.run_cil_board`).

    ``w1``: ``"random"`` = the head's PRNG hidden layer (in RAM), ``"trained"`` = the pack's trained
    hidden layer (:func:`bnn_edge.sim.head.w1_from_pack`, read from flash: 0 bytes of RAM).

    ``batch_images``: images per batch through the simulator (default
    :data:`bnn_edge.batches.BATCH_IMAGES`; the latents do not depend on it).

    ``head``: overrides of the head's learning hyper-parameters (:data:`HEAD_OPTIONS`: ``epochs``,
    ``lr_mul``, ``lr_shift``, ``replay_k``, ``temp_shift``); the integer head, its float reference
    and the C build all run with them (the C stream carries the whole configuration)."""
    from bnn_edge.data import check_seed, load_run_dataset
    from bnn_edge.device.cil_app import run_c_stream
    from bnn_edge.device.firmware import check_toolchain
    from bnn_edge.sim.cil_stream import CONTROL_BYTES_CORTEX_M, protocol_stream, run_sim_stream
    from bnn_edge.sim.head import FloatHead, HeadConfig, IntHead, head_memory, w1_from_pack
    from bnn_edge.batches import progress_bar, sim_batches
    from bnn_edge.sim.replay import MAX_REPLAY_SAMPLES, replay_slots

    t_start = time.perf_counter()
    export_dir = Path(export_dir)
    from bnn_edge.export import MAX_BUDGET_KB

    for name, kb in (("--ram-kb", ram_kb), ("--buffer-kb", buffer_kb)):
        if not (0 < kb <= MAX_BUDGET_KB and math.isfinite(kb)):
            raise UserError(f"{name} {kb:g}: must be > 0 and at most {MAX_BUDGET_KB} (KiB)")
    if shots is not None and shots < 1:
        raise UserError(f"--shots {shots}: must be >= 1")
    check_seed(seed)
    c_targets = list(dict.fromkeys(resolve(t, firmware_targets(), "--c-target").name for t in c_targets))
    if w1 not in ("random", "trained"):
        raise UserError(f"--w1 {w1}: expected trained or random")
    if c_boards:  # an unknown board, or one QEMU does not model: one error line before any work
        from bnn_edge.device.board_image import qemu_board, run_cil_board

        c_boards = [qemu_board(b).name for b in dict.fromkeys(c_boards)]
    pack, _info, run = _read_export(export_dir)
    w1_words: Optional[np.ndarray] = None
    if w1 == "trained":
        try:
            w1_words = w1_from_pack(pack)
        except ValueError as exc:
            raise UserError(f"--w1 trained: {exc}") from None

    order = [int(c) for c in run["class_order"]]
    pre = [int(c) for c in run["classes"]]
    if order[: len(pre)] != pre:
        raise UserError(f"{run.get('dataset')}: the run's classes are not the start of its class order")
    if len(pre) >= len(order):
        raise UserError(
            f"the model was pre-trained on all {len(order)} classes of {run['dataset']}: no class is left to learn "
            f"on the device (train with `bnn-edge train --pretrain-classes K`, K < {len(order)})"
        )
    groups = split_tasks(order, len(pre), tasks)
    if len(order) > 255:
        raise UserError(f"{run['dataset']}: {len(order)} classes, the head handles at most 255")

    n_latent = int(pack.tensors[pack.latent_tensor].c)
    if n_latent % 32:
        raise UserError(f"the pack's latent has {n_latent} channels; the head needs a multiple of 32")
    buffer_bytes = int(round(buffer_kb * 1024))
    sample_bytes = n_latent // 8 + 1
    if replay_slots(n_latent, buffer_bytes) < 1:
        raise UserError(
            f"--buffer-kb {buffer_kb:g}: {buffer_bytes} B is smaller than one stored sample "
            f"({sample_bytes} B: a {n_latent}-bit latent + its label)"
        )
    if replay_slots(n_latent, buffer_bytes) > MAX_REPLAY_SAMPLES:  # the firmware counts samples in 16 bits
        raise UserError(
            f"--buffer-kb {buffer_kb:g}: holds more than {MAX_REPLAY_SAMPLES} samples of {sample_bytes} B; at most "
            f"{MAX_REPLAY_SAMPLES * sample_bytes / 1024:.0f} KB for this {n_latent}-bit latent"
        )
    ram_budget = int(round(ram_kb * 1024))
    head = {k: v for k, v in (head or {}).items() if v is not None}
    for k, v in head.items():
        if k not in HEAD_OPTIONS:
            raise UserError(f"head option {k!r}: expected one of {', '.join(HEAD_OPTIONS)}")
        lo, hi = HEAD_OPTIONS[k]
        if not (isinstance(v, int) and lo <= v <= hi):
            raise UserError(f"--head-{k.replace('_', '-')} {v}: must be an integer in {lo}..{hi}")
    try:
        cfg = HeadConfig(n_latent=n_latent, max_classes=len(order), buffer_bytes=buffer_bytes, seed=seed & 0xFFFFFFFF,
                         **({} if w1_words is None else {"n_hidden": len(w1_words)}),
                         **head)
    except ValueError as exc:
        raise UserError(f"head configuration: {exc}") from None

    # the frozen extractor's latents (bit-exact with the firmware)
    t0 = time.perf_counter()
    data = load_run_dataset(run)
    pos = {c: i for i, c in enumerate(order)}  # head label = position in the class order

    in_group = [(np.flatnonzero(np.isin(data.y_train, g)), np.flatnonzero(np.isin(data.y_test, g))) for g in groups]
    bar = progress_bar(sum(len(a) + len(b) for a, b in in_group), "latents (simulator)")

    def latents(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Latent words of ``x[rows]``, :data:`~bnn_edge.batches.BATCH_IMAGES` images at a time."""
        if len(rows) == 0:
            return np.zeros((0, n_latent // 32), np.uint32)
        lat = sim_batches(pack, x, rows=rows, batch=batch_images, bar=bar)["latent"]
        return np.asarray(lat).reshape(len(rows), -1).astype(np.uint32, copy=False)

    tr_x, tr_y, te_x, te_y = [], [], [], []
    try:
        for rtr, rte in in_group:
            tr_x.append(latents(data.x_train, rtr))
            te_x.append(latents(data.x_test, rte))
            tr_y.append(np.array([pos[int(c)] for c in data.y_train[rtr]], np.int64))
            te_y.append(np.array([pos[int(c)] for c in data.y_test[rte]], np.int64))
    finally:
        bar.close()
    for g, y in zip(groups, tr_y):
        missing = sorted(set(pos[c] for c in g) - set(int(v) for v in y))
        if missing:
            raise UserError(f"{run['dataset']}: no training images of class {order[missing[0]]}")
    t_lat = time.perf_counter() - t0

    # one stream for all three heads
    t0 = time.perf_counter()
    ps = protocol_stream(cfg, tr_x, tr_y, te_x, te_y, shots=shots, seed=seed, commit_after_task=True)
    ps.stream.w1 = w1_words
    py = run_sim_stream(ps.stream, IntHead(cfg, w1_words))
    fl = run_sim_stream(ps.stream, FloatHead(cfg, w1_words))
    t_sim = time.perf_counter() - t0

    c_report: dict[str, Any] = {}
    bit_exact: Optional[bool] = None
    target_mem: Optional[dict[str, int]] = None
    if c_targets or c_boards:
        bdir = Path(build_dir) if build_dir else export_dir / "build-cil"
        bit_exact = True
        for target in [*c_targets, *c_boards]:
            t0 = time.perf_counter()
            try:
                if target in c_boards:
                    c = run_cil_board(ps.stream, target, bdir / target)
                else:
                    check_toolchain(target)
                    c = run_c_stream(ps.stream, target, bdir / target)
            except (RuntimeError, OSError) as exc:
                raise UserError(f"C head on {target}: {str(exc).strip().splitlines()[0]}") from None
            same = (
                c.state == py.state and np.array_equal(c.predictions, py.predictions)
                and not c.errors and not py.errors and len(c.commits) == len(py.commits)
                and all(cm["roundtrip"] == 1 and cm["status"] == 0 for cm in c.commits)
            )  # fmt: skip
            bit_exact = bit_exact and bool(same)
            c_report[target] = {
                "bit_exact": bool(same),
                "state_bytes": len(c.state),
                "state_crc32": f"{c.state_crc:08x}",
                "commits_roundtrip": sum(int(cm["roundtrip"] == 1) for cm in c.commits),
                "errors": len(c.errors),
                "seconds": round(time.perf_counter() - t0, 2),
            }
            if target != "host":
                c_report[target]["ticks"] = c.ticks
                target_mem = c.mem

    head_mem = head_memory(cfg, w1_in_ram=w1_words is None, control_bytes=CONTROL_BYTES_CORTEX_M)
    if target_mem is not None and target_mem.get("total") != head_mem["total"]:
        head_mem = dict(target_mem)  # what the Cortex-M build itself reported
    ram = ram_breakdown(head_mem, pack)
    acc_int, acc_float = ps.accuracy_matrix(py.predictions), ps.accuracy_matrix(fl.predictions)
    fin_int, fin_float = ps.final_accuracy(py.predictions), ps.final_accuracy(fl.predictions)
    return {
        "export": str(export_dir),
        "dataset": run["dataset"],
        "pretrain_classes": pre,
        "tasks": groups,
        "samples_per_task": ps.trained_per_task,
        "test_samples": int(len(ps.query_label)),
        "shots": shots,
        "seed": seed,
        "latent_bits": n_latent,
        "head": {k: getattr(cfg, k) for k in ("n_latent", "n_hidden", "max_classes", "buffer_bytes", "replay_k",
                                              "epochs", "lr_mul", "lr_shift", "temp_shift", "latent_clip",
                                              "init_range", "seed")},  # fmt: skip
        "buffer_samples": cfg.n_slots,
        "w1": w1,
        "int_final_accuracy": round(fin_int, 4),
        "float_final_accuracy": round(fin_float, 4),
        "gap": round(fin_float - fin_int, 4),
        "int_accuracy_matrix": _jsonable_matrix(acc_int),
        "float_accuracy_matrix": _jsonable_matrix(acc_float),
        "ram_bytes": ram["total"],
        "ram_breakdown": {k: v for k, v in ram.items() if k != "total"},
        "head_memory": head_mem,
        "ram_budget_bytes": ram_budget,
        "fits": ram["total"] <= ram_budget,
        "bit_exact_vs_c": bit_exact,
        "c": c_report,
        "state_bytes": len(py.state),
        "seconds": {
            "latents": round(t_lat, 2),
            "simulate": round(t_sim, 2),
            "c": round(sum(v["seconds"] for v in c_report.values()), 2),
            "total": round(time.perf_counter() - t_start, 2),
        },
    }
