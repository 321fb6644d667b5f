"""``bnn-edge cil`` (one class-incremental scenario) and ``bnn-edge sweep`` (a grid of them)."""

from __future__ import annotations

from typing import Callable, TypeVar

import click

from bnn_edge.cli import user_errors
from bnn_edge.cli.data_options import DATASET_HELP, image_folder_options, parse_folder_options
from bnn_edge.cli.options import (check_preset, preset_option, recon_option, schedule_from, schedule_options,
                                  tensorboard_option)
from bnn_edge.errors import UserError

T = TypeVar("T")


def _common(fn):
    for opt in reversed([
        click.option("--dataset", default="digits", show_default=True, help=DATASET_HELP),
        image_folder_options,
        click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="tensorflow-datasets data directory."),
        preset_option,
        click.option("--pretrain-classes", type=int, default=5, show_default=True,
                     help="P: pre-train on the first P classes of the seeded class order."),
        click.option("--tasks", type=int, default=5, show_default=True,
                     help="T: deployment tasks splitting the remaining classes evenly."),
        click.option("--epochs", type=int, default=200, show_default=True,
                     help="Safety cap on epochs per phase; the adaptive LR schedule normally stops first."),
        click.option("--batch-size", type=int, default=64, show_default=True),
        recon_option,
    ]):
        fn = opt(fn)
    return fn


@click.command()
@_common
@click.option("--replay", type=click.Choice(["latent", "native", "none"]), default="latent", show_default=True,
              help="latent: frozen extractor, buffer of 1-bit latents; native: trainable extractor, buffer of images; "
                   "none: fine-tuning (lower bound).")
@click.option("--buffer-mb", type=float, default=None,
              help="Replay memory in megabits (1 Mb = 10^6 bits), labels included; needed by latent and native.")
@click.option("--joint", is_flag=True,
              help="Upper bound: train on every sample of every class seen so far (no buffer).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds the class order, the buffer and the weights.")
@click.option("--pretrained", type=click.Path(), default=None,
              help="Reuse a `bnn-edge train --pretrain-classes P` run directory instead of pre-training.")
@schedule_options
@click.option("--strategy", "distribute", type=click.Choice(["none", "mirrored", "multiworker"]), default="none",
              show_default=True, help="tf.distribute strategy (multiworker reads TF_CONFIG).")
@click.option("--devices", type=int, default=None, help="Split the CPU into N logical devices (to test data parallelism).")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output directory: cil.json and PNG plots.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@tensorboard_option("per epoch of each phase (loss, accuracy, learning_rate, ...) and per task (seen_accuracy, "
                    "new_task_accuracy, old_tasks_accuracy, forgetting)")
@user_errors
def cil(dataset, image_size, test_fraction, data_dir, preset, pretrain_classes, tasks, epochs, batch_size, recon_weight,
        replay, buffer_mb, joint, seed, pretrained, lr, lr_factor, lr_patience, lr_min, lr_schedule, max_minutes,
        distribute, devices, out, quiet, tensorboard):
    """Run one class-incremental scenario: pre-train on P classes, then T tasks with replay.

    Writes cil.json (accuracy_matrix, final_accuracy, final_accuracy_deployment,
    average_incremental_accuracy, forgetting, bwt, buffer_bits_capacity, buffer_bits_used,
    buffer_samples, bits_per_sample, config, class order, per-phase epochs and seconds) and
    accuracy_matrix.png, accuracy_curves.png to --out.
    """
    check_preset(preset)
    from bnn_edge.cil.config import CilConfig, check_config
    from bnn_edge.data import check_dataset_source

    size, fraction = parse_folder_options(image_size, test_fraction)
    cfg = CilConfig(dataset=dataset, image_size=size, test_fraction=fraction, preset=preset, pretrain_classes=pretrain_classes, tasks=tasks, replay=replay,
                    buffer_mb=buffer_mb, seed=seed, joint=joint, epochs=epochs, batch_size=batch_size,
                    schedule=schedule_from(lr, lr_factor, lr_patience, lr_min, lr_schedule, max_minutes), pretrained=pretrained,
                    data_dir=data_dir, distribute=distribute, devices=devices, recon_weight=recon_weight)
    check_config(cfg)
    check_dataset_source(dataset, size, fraction)
    from bnn_edge.atomic import refuse_within

    refuse_within(out, "--out", {"--tensorboard": tensorboard, "--pretrained": pretrained})
    # TensorFlow only now: the checks above answer a mistake in well under a second
    from bnn_edge.cil.engine import run_cil
    from bnn_edge.tblog import logging_to, write_cil

    with logging_to(tensorboard):
        r = run_cil(cfg, out, verbose=not quiet)
    if tensorboard is not None:
        write_cil(tensorboard, r)
    buf = (f"buffer={r['buffer_bits_used']}/{r['buffer_bits_capacity']} bits ({r['buffer_samples']} samples x "
           f"{r['bits_per_sample']} bits) " if r["bits_per_sample"] else "")
    click.echo(f"{r['strategy']}: final_accuracy={r['final_accuracy']:.4f} "
               f"final_accuracy_deployment={r['final_accuracy_deployment']:.4f} "
               f"average_incremental_accuracy={r['average_incremental_accuracy']:.4f} "
               f"forgetting={r['forgetting']:.4f} {buf}seconds={r['seconds']:.1f} -> {out}")


def _split(text: str, conv: Callable[[str], T], what: str) -> list[T]:
    try:
        items = [conv(s.strip()) for s in text.split(",") if s.strip()]
    except ValueError:
        kind = {int: "integers", float: "numbers"}.get(conv, "values")  # type: ignore[call-overload]
        raise UserError(f"{what} {text!r}: expected a comma-separated list of {kind}") from None
    if not items:
        raise UserError(f"{what} {text!r}: empty list")
    return items


@click.command()
@_common
@click.option("--fp-baseline", is_flag=True, help="Also run the preset's float twin of equal memory (<preset>-fp).")
@click.option("--replay", "replays", default="latent,native", show_default=True,
              help="Comma-separated strategies: latent, native (one line each in the figure); none, joint "
                   "(buffer-free references, drawn as dashed lines).")
@click.option("--buffer-mb", "buffers", default="0.005,0.01,0.02,0.05", show_default=True,
              help="Comma-separated buffer sizes in megabits (each > 0).")
@click.option("--seeds", default="0,1", show_default=True, help="Comma-separated seeds.")
@schedule_options
@click.option("--jobs", type=int, default=1, show_default=True, help="Run N cells in parallel processes.")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Sweep directory (resumable: cells whose cil.json exists are skipped).")
@user_errors
def sweep(dataset, image_size, test_fraction, data_dir, preset, pretrain_classes, tasks, epochs, batch_size, recon_weight, fp_baseline, replays, buffers, seeds,
          lr, lr_factor, lr_patience, lr_min, lr_schedule, max_minutes, jobs, out):
    """Run a grid of CIL scenarios; write sweep.csv and final_accuracy_vs_buffer.png.

    Grid: presets (the preset, plus its -fp twin with --fp-baseline) x strategies x buffer sizes x
    seeds. Pre-training is shared by the cells of one (preset, seed) and cached in the sweep dir.
    """
    check_preset(preset)
    from bnn_edge.cil.sweep import SweepConfig, run_sweep

    size, fraction = parse_folder_options(image_size, test_fraction)
    cfg = SweepConfig(
        dataset=dataset, data_dir=data_dir, image_size=size, test_fraction=fraction,
        presets=[preset] + ([preset + "-fp"] if fp_baseline and not preset.endswith("-fp") else []),
        replays=_split(replays, str, "--replay"), buffers_mb=_split(buffers, float, "--buffer-mb"),
        seeds=_split(seeds, int, "--seeds"), pretrain_classes=pretrain_classes, tasks=tasks, epochs=epochs,
        batch_size=batch_size, schedule=schedule_from(lr, lr_factor, lr_patience, lr_min, lr_schedule, max_minutes), recon_weight=recon_weight,
    )
    summary = run_sweep(cfg, out, jobs=jobs)
    click.echo(f"cells={summary['cells']} ran={summary['ran']} skipped={summary['skipped']} "
               f"failed={summary['failed']} too_small={summary['too_small']} seconds={summary['seconds']:.0f} "
               f"-> {summary['csv']} {summary['figure']}")
    if summary["failed"]:
        click.echo(f"error: {summary['failed']} job(s) failed (status column of sweep.csv); rerun to retry them", err=True)
        raise SystemExit(1)
