"""Command-line options shared by several commands."""

from __future__ import annotations

import click

from bnn_edge.errors import UserError


def schedule_options(fn):
    """The adaptive LR schedule's parameters as options."""
    for opt in reversed([
        click.option("--lr", type=float, default=1e-3, show_default=True, help="Start learning rate of each training phase."),
        click.option("--lr-factor", type=float, default=0.3, show_default=True, help="LR multiplier on a validation-loss plateau."),
        click.option("--lr-patience", type=int, default=6, show_default=True, help="Epochs without improvement before stepping down."),
        click.option("--lr-min", type=float, default=1e-5, show_default=True, help="Training stops when the LR falls below this floor."),
        click.option("--lr-schedule", type=click.Choice(["plateau", "cosine"]), default="plateau", show_default=True,
                     help="plateau: step down on a validation-loss plateau, stop at --lr-min (the paper's); "
                          "cosine: from --lr to --lr-min over exactly --epochs epochs (a fixed time budget)."),
        click.option("--max-minutes", type=float, default=0.0, show_default=True,
                     help="With --lr-schedule cosine: wall-clock budget of each training phase; the cosine follows "
                          "the clock when that is ahead of the epoch count, and training stops before an epoch "
                          "that would end past the budget (0 = no budget)."),
    ]):
        fn = opt(fn)
    return fn


_RECON_HELP = ("Weight of the training-only reconstruction loss (a linear decoder from the latent back to the "
               "pixels) added to cross-entropy during pre-training; it keeps in the latent what classes not trained "
               "yet need. 0 = plain cross-entropy. Nothing of it is deployed.")


def recon_option(fn):
    """``--recon-weight`` for commands whose training is a CIL pre-training (default 20)."""
    from bnn_edge.models.reconstruction import DEFAULT_RECON_WEIGHT

    return click.option("--recon-weight", type=float, default=DEFAULT_RECON_WEIGHT, show_default=True,
                        help=_RECON_HELP)(fn)


def train_recon_option(fn):
    """``--recon-weight`` for ``bnn-edge train``: default 20 with --pretrain-classes, else 0."""
    from bnn_edge.models.reconstruction import DEFAULT_RECON_WEIGHT

    return click.option("--recon-weight", type=float, default=None,
                        help=_RECON_HELP + f" [default: {DEFAULT_RECON_WEIGHT:g} with --pretrain-classes, else 0]")(fn)


def preset_option(fn):
    """``--preset NAME|FILE``: a built-in preset or a network description file (TOML/JSON)."""
    from bnn_edge.models.presets import PRESETS

    return click.option("--preset", default="tiny", show_default=True, metavar="NAME|FILE",
                        help=f"Network: a built-in preset ({', '.join(PRESETS)}) or a network description file "
                             "(.toml or .json with the fields of a preset, e.g. examples/digits-small.toml).")(fn)


def check_preset(name: str):
    """The preset ``name`` (built-in or description file), read now so a bad file fails before any work."""
    from bnn_edge.models.presets import get_preset

    return get_preset(name)


def tensorboard_option(what: str):
    """``--tensorboard DIR`` (TensorBoard event files; :mod:`bnn_edge.tblog` lists the scalars)."""
    return click.option("--tensorboard", type=click.Path(file_okay=False), default=None, metavar="DIR",
                        help=f"Write TensorBoard logs to DIR: {what} (`tensorboard --logdir DIR`).")


def schedule_from(lr: float, factor: float, patience: int, min_lr: float, kind: str = "plateau",
                  max_minutes: float = 0.0):
    from bnn_edge.schedule import LRSchedule

    try:
        return LRSchedule(start_lr=lr, factor=factor, patience=patience, min_lr=min_lr, kind=kind,
                          max_seconds=60.0 * max_minutes)
    except ValueError as exc:
        raise UserError(f"learning-rate schedule: {exc}") from None
