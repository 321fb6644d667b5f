"""PNG figures of a CIL run and of a sweep (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def phase_labels(n_phases: int) -> list[str]:
    return ["pre-train"] + [f"task {i}" for i in range(1, n_phases)]


def plot_accuracy_matrix(a: Sequence[Sequence[float | None]], path: str | Path, title: str = "") -> Path:
    """Heat map of ``a[i][j]`` (row: after phase i; column: classes of phase j), values written in."""
    n = len(a)
    m = np.array([[np.nan if v is None else v for v in row] for row in a], dtype=float)
    fig, ax = plt.subplots(figsize=(1.0 + 0.8 * n, 0.8 + 0.7 * n))
    im = ax.imshow(np.ma.masked_invalid(m), vmin=0.0, vmax=1.0, cmap="viridis")
    labels = phase_labels(n)
    ax.set_xticks(range(n), labels, rotation=45, ha="right")
    ax.set_yticks(range(n), [f"after {s}" for s in labels])
    ax.set_xlabel("classes of phase j")
    ax.set_ylabel("model after phase i")
    for i in range(n):
        for j in range(n):
            if not np.isnan(m[i, j]):
                ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", color="w" if m[i, j] < 0.6 else "k", fontsize=8)
    fig.colorbar(im, ax=ax, label="accuracy")
    ax.set_title(title or "accuracy matrix")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_accuracy_curves(
    a: Sequence[Sequence[float | None]], seen: Sequence[float], path: str | Path, title: str = ""
) -> Path:
    """One curve per phase's classes (accuracy after each later phase) plus the seen-class accuracy."""
    n = len(a)
    labels = phase_labels(n)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for j in range(n):
        xs = list(range(j, n))
        ys = [a[i][j] for i in xs]
        ax.plot(xs, ys, marker="o", lw=1.2, label=f"classes of {labels[j]}")
    ax.plot(range(n), seen, "k--", lw=2, marker="s", label="all seen classes")
    ax.set_xticks(range(n), [f"after {s}" for s in labels], rotation=30, ha="right")
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("test accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    ax.set_title(title or "accuracy per phase")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_final_accuracy_vs_buffer(rows: Sequence[dict[str, Any]], path: str | Path, title: str = "") -> Path:
    """Final accuracy vs buffer size (Mb, log x): one line per (preset, strategy), seed min-max band.

    ``rows`` are sweep rows with ``preset, replay, buffer_mb, seed, final_accuracy,
    final_accuracy_deployment`` (``status == "ok"`` only). Left panel: all classes; right panel:
    deployment classes only. Buffer-free strategies (``none``, ``joint-*``) are drawn as horizontal
    dashed lines at their seed mean.
    """
    metrics = [("final_accuracy", "all classes"), ("final_accuracy_deployment", "deployment classes")]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    groups: dict[tuple[str, str], dict[float, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r.get("status", "ok") != "ok":
            continue
        mb = float(r["buffer_mb"]) if r["buffer_mb"] not in (None, "") else float("nan")
        groups[(r["preset"], r["replay"])][mb].append((float(r["final_accuracy"]), float(r["final_accuracy_deployment"])))
    all_mb = sorted({mb for g in groups.values() for mb in g if not np.isnan(mb)})
    for k, (ax, (key, label)) in enumerate(zip(axes, metrics)):
        for idx, ((preset, replay), by_mb) in enumerate(sorted(groups.items())):
            color = f"C{idx}"
            name = f"{preset} {replay}"
            if all(np.isnan(mb) for mb in by_mb):
                vals = [v[k] for lst in by_mb.values() for v in lst]
                if all_mb:
                    ax.hlines(np.mean(vals), all_mb[0], all_mb[-1], colors=color, linestyles="--", label=f"{name} (no buffer)")
                continue
            xs = sorted(mb for mb in by_mb if not np.isnan(mb))
            vals = [[v[k] for v in by_mb[mb]] for mb in xs]
            mean = [np.mean(v) for v in vals]
            lo = [np.min(v) for v in vals]
            hi = [np.max(v) for v in vals]
            seeds = max(len(v) for v in vals)
            ax.plot(xs, mean, marker="o", color=color, label=f"{name} (mean of {seeds} seed{'s' if seeds > 1 else ''})")
            ax.fill_between(xs, lo, hi, color=color, alpha=0.2, lw=0)
        ax.set_xscale("log")
        ax.set_xlabel("replay buffer (Mb = 10^6 bits)")
        ax.set_title(f"final accuracy, {label}")
        ax.grid(alpha=0.3, which="both")
        ax.set_ylim(0, 1.02)
    axes[0].set_ylabel("final test accuracy (band: seed min-max)")
    axes[0].legend(fontsize=7, loc="lower right")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
