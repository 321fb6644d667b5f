"""Training recipes: the ``bnn-edge train`` options a built-in preset was measured with.

A recipe maps option names (as the ``train`` command spells its parameters) to values. ``bnn-edge
train --preset NAME`` takes each one the user did not give on the command line from ``RECIPES[NAME]``,
so that ``bnn-edge train --dataset DIR --preset m4-32`` is the measured hour on a 2-core CPU; any
option given explicitly wins. Presets without a recipe (and network description files) use the
command's own defaults.

Only training hyper-parameters live here, never the network: the preset alone fixes what is deployed.
"""

from __future__ import annotations

from typing import Any

# m4-32 on CIFAR-10 (docs/vision.md): cosine from 5e-3 over a 57-minute budget of a 2-core CPU
# (the epoch cap is never reached there), batches of 128, every training image trained on (no
# validation hold-out: the cosine schedule does not watch one).
M4_32_RECIPE: dict[str, Any] = {
    "lr_schedule": "cosine",
    "lr": 5e-3,
    "epochs": 400,
    "max_minutes": 57.0,
    "batch_size": 128,
    "val_fraction": 0.0,
}

RECIPES: dict[str, dict[str, Any]] = {"m4-32": M4_32_RECIPE}

#: what a recipe was measured to give (docs/vision.md), printed with it: the epochs a time budget
#: holds depend on the CPU (``train`` says how many after its second epoch), and so does the figure
MEASURED: dict[str, str] = {
    "m4-32": "CIFAR-10 test accuracy 0.729-0.736 with 133-148 epochs in the 57 min, on a 2-core Xeon with "
             "AMX (bfloat16, about 24 s per epoch); a CPU without bfloat16 arithmetic trains in float32 and runs "
             "fewer epochs (an AVX2-only 2-vCPU EPYC: 117 s per epoch, 29 epochs in the budget)",
}


def measured(preset: str) -> str | None:
    """What the recipe of ``preset`` was measured to give, or None."""
    return MEASURED.get(preset)


def recipe_for(preset: str) -> dict[str, Any]:
    """The recipe of the built-in preset ``preset`` (empty for the others and for description files)."""
    return dict(RECIPES.get(preset, {}))


def as_flags(recipe: dict[str, Any]) -> str:
    """``{'lr_schedule': 'cosine', 'lr': 0.005}`` -> ``'--lr-schedule cosine --lr 0.005'``."""
    return " ".join(f"--{k.replace('_', '-')} {v:g}" if isinstance(v, float) else f"--{k.replace('_', '-')} {v}"
                    for k, v in recipe.items())
