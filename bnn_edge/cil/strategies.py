"""Replay strategies: what each deployment phase trains on.

=========  =================  ===============================================================
strategy   learner            training set of phase ``i``
=========  =================  ===============================================================
latent     frozen F, head G   new-task latents + the buffer's latents (1 bit per feature)
native     F and G            new-task images + the buffer's images (stored precision, augmented)
none       F and G            new-task images only: fine-tuning, the forgetting lower bound
joint      F+G (or G only     every training sample of every class seen so far: the upper
           with ``latent``)   bound (no buffer)
=========  =================  ===============================================================

Mixed batches, class-balanced (:func:`replay_mix`): the buffer holds few samples of each old
class while a new class brings its whole training set, so the replayed samples are repeated ``k``
times per epoch with::

    k = max(1, round( (n_new / c_new) / (n_buf / c_buf) ))

(``n`` samples over ``c`` classes), which makes every seen class about equally frequent in an
epoch; the concatenation is shuffled by ``fit`` every epoch, so each batch mixes new and replayed
samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bnn_edge.errors import UserError

REPLAYS = ("latent", "native", "none")


@dataclass(frozen=True)
class Strategy:
    """``replay`` kind plus ``joint``; derived: which learner, whether a buffer is used."""

    replay: str
    joint: bool = False

    def __post_init__(self) -> None:
        if self.replay not in REPLAYS:
            raise UserError(f"--replay {self.replay}: expected one of {', '.join(REPLAYS)}")

    @property
    def name(self) -> str:
        return f"joint-{self.replay}" if self.joint else self.replay

    @property
    def frozen_extractor(self) -> bool:
        """Latent replay (and joint training on latents) keeps F frozen after pre-training."""
        return self.replay == "latent"

    @property
    def uses_buffer(self) -> bool:
        return not self.joint and self.replay != "none"


def replay_repeats(n_new: int, c_new: int, n_buf: int, c_buf: int) -> int:
    """``k = max(1, round((n_new/c_new) / (n_buf/c_buf)))`` (1 if either side is empty)."""
    if min(n_new, c_new, n_buf, c_buf) <= 0:
        return 1
    return max(1, int(round((n_new / c_new) / (n_buf / c_buf))))


def replay_mix(
    x_new: np.ndarray, y_new: np.ndarray, x_buf: np.ndarray, y_buf: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """New samples plus the buffer repeated ``k`` times (:func:`replay_repeats`); returns ``(x, y, k)``."""
    if len(y_buf) == 0:
        return x_new, y_new, 0
    k = replay_repeats(len(y_new), len(np.unique(y_new)), len(y_buf), len(np.unique(y_buf)))
    x = np.concatenate([x_new] + [x_buf.astype(x_new.dtype, copy=False)] * k)
    y = np.concatenate([y_new] + [y_buf] * k)
    return x, y, k
