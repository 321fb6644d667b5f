"""A class-incremental scenario: pre-training classes, then deployment tasks over the rest.

Over the seeded class order ``order`` (:func:`bnn_edge.data.class_order`) of ``N`` classes:

* phase 0 (pre-training) holds ``order[:P]``;
* the ``D = N - P`` deployment classes ``order[P:]`` are split into ``T`` tasks, phases ``1..T``,
  as evenly as possible: task ``t`` gets ``floor(D/T)`` classes, plus one for the first
  ``D mod T`` tasks (``numpy.array_split``). With ``D`` divisible by ``T`` every task has
  ``D/T`` classes (the paper's 50 + 5x10 or 50 + 25x2 on CIFAR-100).

Output row ``r`` of every classifier is class ``order[r]`` (:func:`bnn_edge.train.to_positions`),
so after phase ``i`` the seen classes are exactly rows ``0 .. seen(i)-1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bnn_edge.errors import UserError


@dataclass(frozen=True)
class Scenario:
    """Phases of a CIL run: ``phases[0]`` is pre-training, ``phases[1:]`` the deployment tasks."""

    order: tuple[int, ...]
    phases: tuple[tuple[int, ...], ...]

    @property
    def num_classes(self) -> int:
        return len(self.order)

    @property
    def tasks(self) -> int:
        """Number of deployment tasks ``T`` (phases after pre-training)."""
        return len(self.phases) - 1

    @property
    def pretrain_classes(self) -> tuple[int, ...]:
        return self.phases[0]

    @property
    def deployment_classes(self) -> tuple[int, ...]:
        return tuple(c for ph in self.phases[1:] for c in ph)

    def seen(self, phase: int) -> int:
        """Number of classes seen after ``phase``: ``sum_{k<=phase} |phases[k]|``."""
        return sum(len(ph) for ph in self.phases[: phase + 1])

    def seen_classes(self, phase: int) -> list[int]:
        """Dataset labels of the classes seen after ``phase`` (in output-row order)."""
        return list(self.order[: self.seen(phase)])

    def phase_of_position(self) -> np.ndarray:
        """``lut[r]`` = the phase whose classes include output row ``r``."""
        return np.concatenate([np.full(len(ph), i, np.int64) for i, ph in enumerate(self.phases)])

    def as_dict(self) -> dict:
        return {
            "class_order": list(self.order),
            "pretrain_classes": list(self.phases[0]),
            "tasks": [list(ph) for ph in self.phases[1:]],
        }


def make_scenario(order: list[int], pretrain_classes: int, tasks: int) -> Scenario:
    """Split ``order`` into ``P = pretrain_classes`` pre-training classes and ``T = tasks`` tasks.

    Raises :class:`UserError` unless ``1 <= P < N`` and ``1 <= T <= N - P`` (every task needs at
    least one new class).
    """
    n = len(order)
    if len(set(order)) != n:
        raise ValueError("class order has duplicates")
    if not 1 <= pretrain_classes < n:
        raise UserError(
            f"--pretrain-classes {pretrain_classes}: must be between 1 and {n - 1} "
            f"(the dataset has {n} classes and at least one must be left for deployment)"
        )
    deploy = n - pretrain_classes
    if tasks < 1:
        raise UserError(f"--tasks {tasks}: must be >= 1")
    if tasks > deploy:
        raise UserError(
            f"--tasks {tasks}: more tasks than deployment classes ({n} classes - {pretrain_classes} pre-training = {deploy})"
        )
    phases = [tuple(order[:pretrain_classes])]
    for chunk in np.array_split(np.asarray(order[pretrain_classes:]), tasks):
        phases.append(tuple(int(c) for c in chunk))
    return Scenario(order=tuple(int(c) for c in order), phases=tuple(phases))
