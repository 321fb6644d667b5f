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
    ]):
        fn = opt(fn)
    return fn


def schedule_from(lr: float, factor: float, patience: int, min_lr: float):
    from bnn_edge.schedule import LRSchedule

    try:
        return LRSchedule(start_lr=lr, factor=factor, patience=patience, min_lr=min_lr)
    except ValueError as exc:
        raise UserError(f"learning-rate schedule: {exc}") from None
