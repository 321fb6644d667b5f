"""``bnn-edge train`` and ``bnn-edge summary``."""

from __future__ import annotations

import json

import click

from bnn_edge.cli import user_errors
from bnn_edge.cli.data_options import DATASET_HELP, image_folder_options, parse_folder_options
from bnn_edge.cli.options import (check_preset, preset_option, schedule_from, schedule_options, tensorboard_option,
                                  train_recon_option)


@click.command()
@click.option("--dataset", default="digits", show_default=True, help=DATASET_HELP)
@image_folder_options
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="tensorflow-datasets data directory (already prepared).")
@preset_option
@click.option("--epochs", type=int, default=200, show_default=True, help="Safety cap; the adaptive LR schedule normally stops first.")
@click.option("--pretrain-classes", type=int, default=None,
              help="Train only on the first K classes of the seeded class order (the pre-training phase of a CIL scenario).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds the class order, the validation split and the weights.")
@click.option("--batch-size", type=int, default=64, show_default=True)
@click.option("--val-fraction", type=float, default=0.1, show_default=True,
              help="Share of each training class held out as validation (the plateau schedule watches its loss; "
                   "the progress bar shows its accuracy). 0 = train on every training image (needs --lr-schedule "
                   "cosine; the bar then shows the training accuracy).")
@schedule_options
@train_recon_option
@click.option("--strategy", type=click.Choice(["none", "mirrored", "multiworker"]), default="none", show_default=True,
              help="tf.distribute strategy (multiworker reads TF_CONFIG).")
@click.option("--devices", type=int, default=None, help="Split the CPU into N logical devices (to test data parallelism on one host).")
@click.option("--precision", type=click.Choice(["auto", "float32", "bfloat16"]), default="auto", show_default=True,
              help="Training arithmetic: bfloat16 = Keras mixed precision (float32 weights, bfloat16 layers; about 2x "
                   "faster on CPUs with AMX or AVX512-BF16, slower elsewhere); auto = bfloat16 where the CPU has those "
                   "instructions, else float32. The saved model is float32 either way.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Run directory: model.keras, run.json, metrics.json.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@tensorboard_option("loss, accuracy, val_loss, val_accuracy and learning_rate per epoch")
@user_errors
def train(dataset, image_size, test_fraction, data_dir, preset, epochs, pretrain_classes, seed, batch_size, val_fraction, lr,
          lr_factor, lr_patience, lr_min, lr_schedule, max_minutes, recon_weight, strategy, devices, precision, out,
          quiet, tensorboard):
    """Train a fully-binary network (no float input/output layer, no batch norm) with larq.

    Writes the model in Keras format plus metrics.json (test_accuracy, binary_weight_bits,
    fully_binary, class_order, epochs_run, seconds, ...) to --out.

    A built-in preset may carry a training recipe (bnn_edge/models/recipes.py): m4-32's is the
    measured CIFAR-10 hour on a 2-core CPU (--lr-schedule cosine --lr 0.005 --max-minutes 57
    --batch-size 128 --val-fraction 0). Options given on the command line override it.
    """
    from bnn_edge.errors import UserError
    from bnn_edge.models.recipes import as_flags, measured, recipe_for

    ctx = click.get_current_context()
    recipe = {k: v for k, v in recipe_for(preset).items()
              if ctx.get_parameter_source(k) == click.core.ParameterSource.DEFAULT}
    if recipe:
        click.echo(f"{preset}'s training recipe: {as_flags(recipe)} (options given on the command line win)",
                   err=True)
        if measured(preset):
            click.echo(f"  measured: {measured(preset)}", err=True)
        opts = dict(lr_schedule=lr_schedule, lr=lr, epochs=epochs, max_minutes=max_minutes, batch_size=batch_size,
                    val_fraction=val_fraction)
        unknown = set(recipe) - set(opts)
        assert not unknown, f"recipe keys train does not apply: {unknown}"
        opts.update(recipe)
        lr_schedule, lr, epochs, max_minutes, batch_size, val_fraction = (
            opts["lr_schedule"], opts["lr"], opts["epochs"], opts["max_minutes"], opts["batch_size"],
            opts["val_fraction"])
    if batch_size < 1:
        raise UserError(f"--batch-size {batch_size}: must be >= 1")
    if epochs < 1:
        raise UserError(f"--epochs must be >= 1, got {epochs}")
    check_preset(preset)
    size, fraction = parse_folder_options(image_size, test_fraction)
    from bnn_edge.data import check_dataset_source, check_seed
    from bnn_edge.schedule import check_val_fraction

    check_seed(seed)
    check_dataset_source(dataset, size, fraction)
    schedule = schedule_from(lr, lr_factor, lr_patience, lr_min, lr_schedule, max_minutes)
    check_val_fraction(val_fraction, schedule)
    from bnn_edge.atomic import refuse_within

    refuse_within(out, "--out", {"--tensorboard": tensorboard})
    # TensorFlow only now: the checks above answer a mistake in well under a second
    from bnn_edge.distribute import make_strategy
    from bnn_edge.precision import cpu_has_bf16
    from bnn_edge.tblog import logging_to
    from bnn_edge.train import train_run

    if precision == "bfloat16" and not cpu_has_bf16():
        click.echo("warning: --precision bfloat16 on a CPU without AMX or AVX512-BF16: emulated, slower than float32",
                   err=True)
    strat = make_strategy(strategy, devices)
    with logging_to(tensorboard):
        metrics = train_run(dataset, preset, out, image_size=size, test_fraction=fraction, epochs=epochs,
                            pretrain_classes=pretrain_classes, seed=seed,
                            schedule=schedule, batch_size=batch_size, val_fraction=val_fraction, data_dir=data_dir,
                            verbose=not quiet, strategy=strat,
                            recon_weight=recon_weight, precision=precision)
    click.echo(f"test_accuracy={metrics['test_accuracy']:.4f} fully_binary={str(metrics['fully_binary']).lower()} "
               f"binary_weight_bits={metrics['binary_weight_bits']} epochs={metrics['epochs_run']} "
               f"seconds={metrics['seconds']:.1f} precision={metrics['precision']} -> {out}")


@click.command()
@preset_option
@click.option("--input-shape", default=None, help="H,W,C (default: the preset's).")
@click.option("--classes", type=int, default=None, help="Number of output classes (default 10; 100 for paper).")
@click.option("--json", "as_json", is_flag=True, help="Print the weight counts as JSON (same keys as metrics.json).")
@user_errors
def summary(preset, input_shape, classes, as_json):
    """Print the larq model summary of a preset or a network description file (no training)."""
    from bnn_edge.errors import UserError

    p = check_preset(preset)
    from bnn_edge.models import build_model, weight_counts, with_input_shape

    if input_shape:
        try:
            shape = tuple(int(v) for v in input_shape.split(","))
            assert len(shape) == 3 and min(shape) > 0
        except (ValueError, AssertionError):
            raise UserError(f"--input-shape {input_shape!r}: expected H,W,C with three positive integers") from None
        p = with_input_shape(p, shape)
    n = classes if classes is not None else (100 if p.name.startswith("paper") else 10)
    from bnn_edge.data import MAX_CLASSES

    if not 1 <= n <= MAX_CLASSES:
        raise UserError(f"--classes {n}: must be in 1..{MAX_CLASSES}")
    model = build_model(p, n)
    counts = weight_counts(model).as_dict()
    if as_json:
        click.echo(json.dumps({"preset": p.name, "input_shape": list(p.input_shape), "classes": n, **counts}, indent=2))
        return
    import larq as lq

    lq.models.summary(model, print_fn=click.echo)
    click.echo(json.dumps(counts))
