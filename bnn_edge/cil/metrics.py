"""Class-incremental metrics, defined as Avalanche defines them.

Phases ``i = 0..T`` (0 = pre-training). After phase ``i`` the model is tested on the test samples
of every class seen so far, predicting among the seen classes only. With ``correct[i][j]`` the
number of correctly classified test samples of phase ``j``'s classes after phase ``i`` and
``n[j]`` their number:

* accuracy matrix ``a[i][j] = correct[i][j] / n[j]`` for ``j <= i`` (``None`` for ``j > i``:
  classes not seen yet). Avalanche: ``Top1_Acc_Exp/eval_phase/test_stream/Exp{j}`` after training
  experience ``i``.
* seen-class accuracy ``A_i = sum_{j<=i} correct[i][j] / sum_{j<=i} n[j]``: sample-weighted over
  all seen test samples (Avalanche's stream accuracy on the seen part of the test stream).
* ``final_accuracy = A_T`` (all classes have been seen after the last phase).
* ``final_accuracy_deployment = sum_{j>=1} correct[T][j] / sum_{j>=1} n[j]``: the deployment
  classes only (what the paper's "final accuracy" appears to measure).
* ``final_average_accuracy = (1/(T+1)) sum_j a[T][j]``: unweighted mean of the last row.
* ``average_incremental_accuracy = (1/(T+1)) sum_{i=0..T} A_i`` (Rebuffi et al., iCaRL).
* ``forgetting = (1/T) sum_{j<T} (a[j][j] - a[T][j])``: Avalanche's ``StreamForgetting``, the
  accuracy on phase ``j`` right after training on it minus its last accuracy, averaged over the
  phases trained before the last one (the last one's forgetting is not defined).
* ``bwt = (1/T) sum_{j<T} (a[T][j] - a[j][j]) = -forgetting``: Avalanche's ``StreamBWT``.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np


def accuracy_matrix(correct: Sequence[Sequence[int | None]], counts: Sequence[int]) -> list[list[float | None]]:
    """``a[i][j] = correct[i][j] / n[j]`` (``None`` where ``correct[i][j]`` is ``None``)."""
    return [[None if c is None else (c / counts[j] if counts[j] else float("nan")) for j, c in enumerate(row)] for row in correct]


def seen_accuracy(correct: Sequence[Sequence[int | None]], counts: Sequence[int]) -> list[float]:
    """``A_i = sum_{j<=i} correct[i][j] / sum_{j<=i} n[j]`` for each row ``i``."""
    out = []
    for i, row in enumerate(correct):
        c = sum(row[j] for j in range(i + 1))
        n = sum(counts[: i + 1])
        out.append(c / n if n else float("nan"))
    return out


def forgetting_per_phase(a: Sequence[Sequence[float | None]]) -> list[float]:
    """``f_j = a[j][j] - a[T][j]`` for ``j = 0..T-1``."""
    t = len(a) - 1
    return [float(a[j][j]) - float(a[t][j]) for j in range(t)]


def summarize(correct: Sequence[Sequence[int | None]], counts: Sequence[int]) -> dict[str, Any]:
    """Every metric of the module docstring from the correct counts and the test sizes."""
    correct = [list(r) for r in correct]
    if len(correct) < 2:
        raise ValueError("need pre-training and at least one task")
    t = len(correct) - 1
    for i, row in enumerate(correct):
        if len(row) != t + 1 or any(row[j] is None for j in range(i + 1)):
            raise ValueError(f"row {i} must have entries for phases 0..{i}")
    a = accuracy_matrix(correct, counts)
    seen = seen_accuracy(correct, counts)
    f = forgetting_per_phase(a)
    deploy_n = sum(counts[1:])
    deploy_c = sum(correct[t][1:])
    forgetting = float(np.mean(f))
    return {
        "accuracy_matrix": a,
        "seen_accuracy": seen,
        "final_accuracy": seen[t],
        "final_accuracy_deployment": deploy_c / deploy_n if deploy_n else float("nan"),
        "final_average_accuracy": float(np.mean([a[t][j] for j in range(t + 1)])),
        "average_incremental_accuracy": float(np.mean(seen)),
        "forgetting": forgetting,
        "forgetting_per_phase": f,
        "bwt": 0.0 - forgetting,
    }
