"""Reading an export directory (the ``--out`` of ``bnn-edge export``), without TensorFlow.

Every command that consumes an export goes through :func:`read_export_dir` (``run``, ``simulate``)
or, when it needs only the pack and not the training run, :func:`read_export_pack` (``flash``): both
check ``export.json``'s SHA-256 of every file it lists, so a missing, damaged or modified piece gives
the same one-line error everywhere, and no firmware is built from a pack that is not the exported one.

``bnn-edge export`` also records the Keras model's predictions on the run's test images
(:func:`write_reference_predictions`, ``keras_test_predictions.npz``), so that ``bnn-edge run`` reports
the Keras reference accuracy without loading the Keras model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from bnn_edge.errors import UserError
from bnn_edge.userfile import read_capped
from bnn_edge.manifest import (EXPORT_FILES, EXPORT_HINT, FILES_KEY, check_hash_table, check_run_unchanged, read_json_object,
                               read_run_info, verify_files)
from converters import bnnpack as bp

PACK_FILE = "model.bnnpack"
EXPORT_JSON = "export.json"
REFERENCE_FILE = "keras_test_predictions.npz"
#: the Keras predictions recorded at export time cover at most this many test images
REFERENCE_MAX_IMAGES = 10_000


@dataclass
class ExportDir:
    path: Path
    pack_bytes: bytes
    pack: bp.Pack
    info: dict[str, Any]  # export.json
    run_dir: Path | None  # None for an export of a model file
    run: dict[str, Any]  # the training run's run.json (for a model file: export.json's "run")


def _open_export(export_dir: Path) -> tuple[Path, Path, dict[str, Any]]:
    """``model.bnnpack``'s and ``export.json``'s paths (both must exist) and export.json's object."""
    if not export_dir.is_dir():
        raise UserError(f"{export_dir}: not a directory (expected the --out of `bnn-edge export`)")
    pack_path, meta_path = export_dir / PACK_FILE, export_dir / EXPORT_JSON
    for p in (pack_path, meta_path):
        if not p.is_file():
            raise UserError(f"{export_dir}: no {p.name} (expected the --out of `bnn-edge export`)")
    return pack_path, meta_path, read_json_object(meta_path, "an export.json of `bnn-edge export`")


def _verified_pack(export_dir: Path, pack_path: Path, meta_path: Path, info: dict[str, Any],
                   required: tuple[str, ...]) -> tuple[bytes, bp.Pack]:
    """The pack's bytes (read once) and the parsed pack, after every file export.json lists (at least
    ``required``) matched its SHA-256."""
    table = check_hash_table(info.get(FILES_KEY), meta_path, FILES_KEY, required, EXPORT_HINT)
    pack_bytes = read_capped(pack_path)
    verify_files(export_dir, EXPORT_JSON, table, EXPORT_HINT, contents={PACK_FILE: pack_bytes})
    try:
        return pack_bytes, bp.read_pack(pack_bytes)
    except bp.PackError as exc:
        raise UserError(f"{pack_path}: {exc}") from None


def read_export_pack(export_dir: str | Path) -> tuple[bytes, bp.Pack, dict[str, Any]]:
    """The pack of an export (validated) and its ``export.json``, for commands that need only the pack
    (``flash``): every file ``export.json`` lists must have its recorded SHA-256 (the pack's is
    required), so a truncated or modified pack is refused before a firmware image is built from it.
    The training run is not needed (an export copied to the machine with the probe is enough)."""
    export_dir = Path(export_dir)
    pack_path, meta_path, info = _open_export(export_dir)
    pack_bytes, pack = _verified_pack(export_dir, pack_path, meta_path, info, (PACK_FILE,))
    return pack_bytes, pack, info


def read_export_dir(export_dir: str | Path) -> ExportDir:
    """The pack (validated), ``export.json`` and the training run's ``run.json`` it points to.

    Every file ``export.json`` lists must have its recorded SHA-256, and the run must still be the
    one exported (its ``run.json`` and ``model.keras`` hashes, ``run_sha256``): a half-written or
    modified export, or one whose run was re-trained since, is one clear error. An export of a
    model file (``"source": "model-file"``, :mod:`bnn_edge.export_model`) has no run: its ``run``
    description in export.json stands for ``run.json``, and its reference images are hashed too.
    """
    from bnn_edge.export_model import IMAGES_FILE, SOURCE

    export_dir = Path(export_dir)
    pack_path, meta_path, info = _open_export(export_dir)
    model_file = info.get("source") == SOURCE
    run_dir = info.get("run_dir")
    if not model_file and not run_dir:
        raise UserError(f"{meta_path}: no run_dir, not an export.json of `bnn-edge export` (re-export the run)")
    if not model_file and not isinstance(run_dir, str):
        raise UserError(f"{meta_path}: 'run_dir' must be a string (the training run's directory); {EXPORT_HINT}")
    required = (*EXPORT_FILES, IMAGES_FILE) if model_file else EXPORT_FILES
    pack_bytes, pack = _verified_pack(export_dir, pack_path, meta_path, info, required)
    if model_file:
        run = info.get("run")
        if not isinstance(run, dict) or not isinstance(run.get("classes"), list):
            raise UserError(f"{meta_path}: no 'run' description of the model file; {EXPORT_HINT}")
        return ExportDir(export_dir, pack_bytes, pack, info, None, run)
    rd = Path(run_dir) if Path(run_dir).is_absolute() else export_dir / run_dir  # relative: to the export, not the cwd
    if not (rd / "run.json").is_file():
        raise UserError(f"{meta_path}: its run {run_dir} has no run.json (the training run was moved or deleted?)")
    check_run_unchanged(info.get("run_sha256"), rd, meta_path)
    run = read_run_info(rd)
    return ExportDir(export_dir, pack_bytes, pack, info, rd, run)


def to_positions(y: np.ndarray, order: list[int]) -> np.ndarray:
    """Map dataset labels to output rows: row ``i`` is class ``order[i]`` (-1 for other labels)."""
    y = np.asarray(y, np.int64)
    lut = np.full(max(max(order), int(y.max(initial=0))) + 1, -1, np.int64)
    lut[order] = np.arange(len(order))
    return lut[y]


def run_test_images(run: dict[str, Any], limit: Optional[int] = None) -> tuple[np.ndarray, np.ndarray]:
    """The test images of the run's dataset whose class the run trained on, in dataset order (the
    first ``limit``), and their labels as output rows (:func:`to_positions`)."""
    from bnn_edge.data import load_run_dataset

    data = load_run_dataset(run)
    keep = np.isin(data.y_test, run["classes"])
    idx = np.flatnonzero(keep)[:limit]  # no copy of the whole kept split first
    x, y = data.x_test[idx], data.y_test[idx]
    return x, to_positions(y, run["classes"])


def write_reference_predictions(out_dir: str | Path, run: dict[str, Any],
                                predict: Callable[[np.ndarray], np.ndarray]) -> Optional[Path]:
    """Record ``argmax(predict(x))`` (the Keras logits) and the labels of the first
    :data:`REFERENCE_MAX_IMAGES` images of :func:`run_test_images` in ``REFERENCE_FILE``.
    Nothing is written (None) when the run's dataset cannot be loaded or its images are not the
    model's input shape (an untrained run on ``random`` pixels)."""
    try:
        x, y = run_test_images(run, REFERENCE_MAX_IMAGES)
    except UserError:
        return None
    if tuple(x.shape[1:]) != tuple(run.get("input_shape") or x.shape[1:]):
        return None
    pred = np.argmax(np.asarray(predict(x)), axis=-1) if len(x) else np.zeros(0, np.int64)
    path = Path(out_dir) / REFERENCE_FILE
    with open(path, "wb") as f:
        np.savez(f, predictions=pred.astype(np.int32), labels=y.astype(np.int32))
    return path


#: an export's reference arrays hold at most a dataset's test set of labels (or images, for a model file)
MAX_REFERENCE_BYTES = 1 << 30


def read_reference_predictions(export_dir: str | Path) -> Optional[tuple[np.ndarray, np.ndarray]]:
    """``(predictions, labels)`` recorded by :func:`write_reference_predictions`, or None if the
    export has none (written before they were recorded, or without its dataset)."""
    path = Path(export_dir) / REFERENCE_FILE
    if not path.is_file():
        return None
    from bnn_edge.npzfile import read_npz

    z = read_npz(path, ("predictions", "labels"), MAX_REFERENCE_BYTES)
    pred, labels = z["predictions"], z["labels"]
    if pred.ndim != 1 or pred.shape != labels.shape or pred.dtype.kind not in "iu" or labels.dtype.kind not in "iu":
        raise UserError(f"{path}: predictions {pred.dtype}{list(pred.shape)} and labels {labels.dtype}"
                        f"{list(labels.shape)}: expected two integer vectors of one length (what `bnn-edge export` writes)")
    return pred.astype(np.int64), labels.astype(np.int64)
