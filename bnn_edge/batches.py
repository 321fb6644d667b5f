"""Bounded batches: every path that pushes many images through the bit-exact simulator
(:mod:`bnn_edge.sim`), a Keras model, LCE's interpreter or the firmware goes :data:`BATCH_IMAGES`
images at a time, so that peak memory does not grow with the dataset (CIFAR-10's 60,000 images
through the simulator in one batch kept every intermediate tensor: 24 GB).

Only the results are kept (logits, latents: a few hundred bytes per image), written into arrays
allocated once; inputs are read by row indices (``rows``) instead of copying a class group first,
and the float32 (or thermometer-encoded) form of the images exists one batch at a time. Every
sample is computed on its own by each of these engines, so the results are identical to one big
batch; Keras and LCE still see their own inner batches (256 and 64 images) at the same positions.

Work on more than :data:`PROGRESS_MIN_IMAGES` images shows a progress bar on stderr (a tqdm bar
on a terminal, a few lines otherwise).
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Optional

import numpy as np

from bnn_edge.progress import work_bar

#: images per batch through the simulator, Keras, LCE's interpreter and the firmware
BATCH_IMAGES = 512
#: inner batch of Keras ``predict`` (as before batching: the batches Keras sees are unchanged)
KERAS_BATCH = 256
#: inner batch of LCE's interpreter
LCE_BATCH = 64
#: a progress bar is shown for work on more images than this
PROGRESS_MIN_IMAGES = 5000


def _size(batch: Optional[int], inner: int = 1) -> int:
    """The batch size to use: ``batch`` (default :data:`BATCH_IMAGES`), a multiple of ``inner``
    (so that an engine's own inner batches fall where they fell on the whole array)."""
    b = BATCH_IMAGES if batch is None else int(batch)
    if b < 1:
        raise ValueError(f"batch size {b}: must be >= 1")
    return max(inner, b - b % inner)


def batch_slices(n: int, batch: Optional[int] = None, inner: int = 1) -> Iterator[slice]:
    """``slice(i, i + b)`` covering ``range(n)`` in order, ``b`` = :func:`_size` of ``batch``."""
    b = _size(batch, inner)
    for i in range(0, int(n), b):
        yield slice(i, min(i + b, int(n)))


class _NoBar:
    def update(self, k: int) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(total: int, desc: Optional[str], unit: str = "img") -> Any:
    """A bar for ``total`` images when ``desc`` is given and ``total`` > :data:`PROGRESS_MIN_IMAGES`."""
    if not desc or total <= PROGRESS_MIN_IMAGES:
        return _NoBar()
    return work_bar(total, desc, unit)


def map_batches(fn: Callable[[np.ndarray], Any], x: np.ndarray, *, rows: Optional[np.ndarray] = None,
                batch: Optional[int] = None, inner: int = 1, desc: Optional[str] = None, bar: Any = None) -> Any:
    """``fn`` applied to ``x[rows]`` (all of ``x`` without ``rows``) batch by batch; ``fn`` returns
    an array ``[b, ...]`` or a tuple/dict of them (None entries stay None). The results are
    written into arrays allocated at the first batch and returned in the same structure; with no
    row at all, ``fn`` is called once on an empty batch. ``bar``: a :func:`progress_bar` shared
    by several calls (updated, not closed), instead of one of ``desc``."""
    n = len(x) if rows is None else len(rows)
    out: Any = None
    own = bar is None
    bar = progress_bar(n, desc) if own else bar
    try:
        if n == 0:
            return fn(x[:0] if rows is None else x[np.asarray(rows[:0], np.int64)])
        for s in batch_slices(n, batch, inner):
            xb = x[s] if rows is None else x[np.asarray(rows[s], np.int64)]
            res = fn(xb)
            if out is None:
                out = _alloc(res, n)
            _store(out, res, s)
            bar.update(s.stop - s.start)
    finally:
        if own:
            bar.close()
    return out


def _alloc(res: Any, n: int) -> Any:
    if res is None:
        return None
    if isinstance(res, dict):
        return {k: _alloc(v, n) for k, v in res.items()}
    if isinstance(res, tuple):
        return tuple(_alloc(v, n) for v in res)
    res = np.asarray(res)
    return np.empty((n, *res.shape[1:]), res.dtype)


def _store(out: Any, res: Any, s: slice) -> None:
    if out is None:
        return
    if isinstance(out, dict):
        for k in out:
            _store(out[k], res[k], s)
    elif isinstance(out, tuple):
        for o, r in zip(out, res):
            _store(o, r, s)
    else:
        r = np.asarray(res)
        if r.shape[1:] != out.shape[1:] or r.shape[0] != s.stop - s.start:
            raise ValueError(f"batch result of shape {r.shape}, expected [{s.stop - s.start}, {', '.join(map(str, out.shape[1:]))}]")
        out[s] = r


def sim_batches(pack: Any, x: np.ndarray, *, rows: Optional[np.ndarray] = None, batch: Optional[int] = None,
                desc: Optional[str] = None, bar: Any = None) -> dict[str, Optional[np.ndarray]]:
    """:func:`bnn_edge.sim.interpreter.run_pack` on ``x[rows]`` (uint8 images ``[N, h, w, c]``)
    batch by batch: ``{"output": [N, *storage shape], "latent": [N, *storage shape] or None}``,
    bit-identical to one ``run_pack`` on all of them (the intermediate tensors are dropped after
    each batch). ``pack`` is validated once."""
    from bnn_edge.sim.interpreter import run_pack
    from converters.bnnpack import Pack, read_pack, validate_pack

    if not isinstance(pack, Pack):
        pack = read_pack(pack)
    else:
        validate_pack(pack)

    def one(xb: np.ndarray) -> dict[str, Optional[np.ndarray]]:
        r = run_pack(pack, xb, validate=False)
        return {"output": r["output"], "latent": r["latent"]}

    return map_batches(one, x, rows=rows, batch=batch, desc=desc, bar=bar)


def keras_predict(model: Any, x: np.ndarray, *, rows: Optional[np.ndarray] = None, batch: Optional[int] = None,
                  keras_batch: int = KERAS_BATCH, desc: Optional[str] = None) -> np.ndarray:
    """``model.predict(x[rows] as float32, batch_size=keras_batch)`` batch by batch (the float32
    copy exists one batch at a time; the batches Keras itself runs are unchanged: each of ours is
    a multiple of ``keras_batch``)."""
    def one(xb: np.ndarray) -> np.ndarray:
        return np.asarray(model.predict(np.asarray(xb, np.float32), batch_size=keras_batch, verbose=0))

    return map_batches(one, x, rows=rows, batch=batch, inner=keras_batch, desc=desc)


def lce_predict(interp: Any, x: np.ndarray, levels: int, vmax: int, *, batch: Optional[int] = None,
                desc: Optional[str] = None) -> np.ndarray:
    """LCE's interpreter on the thermometer encoding of ``x`` (float32 ±1), :data:`LCE_BATCH`
    images per call: logits ``[N, classes]`` (the encoding exists one batch at a time)."""
    from bnn_edge.models.thermometer import thermometer_encode

    def one(xb: np.ndarray) -> np.ndarray:
        enc = thermometer_encode(xb, levels, vmax).astype(np.float32)
        return np.concatenate([np.asarray(interp.predict(enc[i : i + LCE_BATCH])).reshape(len(enc[i : i + LCE_BATCH]), -1)
                               for i in range(0, len(enc), LCE_BATCH)])

    return map_batches(one, x, batch=batch, inner=LCE_BATCH, desc=desc)
