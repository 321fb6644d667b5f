"""Datasets as integer pixel arrays: scikit-learn digits (offline default), tfds, Keras-style .npz,
image folders (:mod:`bnn_edge.datasets.folder`).

Every loader returns a :class:`Dataset` with ``x_*`` of shape ``[N, H, W, C]`` holding integers in
``[0, vmax]`` (uint8) and ``y_*`` integer labels ``0 .. num_classes-1``. The binary network's
thermometer encodes those integers; nothing is normalised to floats.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from bnn_edge.errors import UserError
from bnn_edge.npzfile import read_npz

DIGITS = "digits"
#: At most this many classes (labels 0..MAX_CLASSES-1): the head stores labels in 16 bits, and a
#: stray label must not silently build a network with millions of outputs.
MAX_CLASSES = 65535
#: The four arrays of a ``.npz`` may declare at most this many bytes in total (checked in the zip
#: directory before anything is decompressed).
MAX_NPZ_BYTES = 8 << 30
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


@dataclass
class Dataset:
    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    vmax: int
    class_names: list[str] | None = None  # folder names of an image folder (label i = class_names[i])
    options: dict = field(default_factory=dict)  # loader options to record in run.json (image folders)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(int(d) for d in self.x_train.shape[1:])  # type: ignore[return-value]


#: the largest seed: what NumPy's and Python's generators, Keras' ``set_random_seed`` and the
#: firmware head's 32-bit PRNG all take
MAX_SEED = 2**32 - 1


def check_seed(seed: int, what: str = "--seed") -> int:
    """``seed`` if it is an integer in ``0..MAX_SEED``; a :class:`UserError` naming ``what`` otherwise."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise UserError(f"{what} {seed}: must be an integer in 0..{MAX_SEED}")
    return int(seed)


def class_order(num_classes: int, seed: int) -> list[int]:
    """The seeded class order of a CIL scenario: a permutation of ``0..num_classes-1``.

    Seed 0 keeps the natural order (so "the first 5 digits" are 0..4, as in the paper's
    protocol on CIFAR-100); any other seed permutes with ``numpy.random.default_rng(seed)``.
    """
    if seed == 0:
        return list(range(num_classes))
    return [int(c) for c in np.random.default_rng(seed).permutation(num_classes)]


def load_digits(seed: int = 0, test_fraction: float = 0.2) -> Dataset:
    """scikit-learn's bundled 8x8 digits (1797 images, values 0..16): a stratified split fixed by ``seed``."""
    from sklearn.datasets import load_digits as _load
    from sklearn.model_selection import train_test_split

    d = _load()
    x = d.images.astype(np.uint8)[..., None]
    y = d.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=y)
    return Dataset(DIGITS, x_tr, y_tr, x_te, y_te, 10, 16)


def _unit_floats(arr: np.ndarray) -> bool:
    """Float pixels all in ``0..1`` (NaN aside): the scale that is multiplied by 255."""
    import warnings

    if not (np.issubdtype(arr.dtype, np.floating) and arr.size):
        return False
    with warnings.catch_warnings():  # all NaN: nanmin warns; the caller refuses NaN in one line
        warnings.simplefilter("ignore", RuntimeWarning)
        return bool(np.nanmin(arr) >= 0 and np.nanmax(arr) <= 1.0)


def _check_images(path: str, key: str, arr: np.ndarray) -> np.ndarray:
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.ndim != 4:
        raise UserError(f"{path}: '{key}' has shape {arr.shape}, expected [N, H, W] or [N, H, W, C] images")
    if arr.shape[0] == 0:
        raise UserError(f"{path}: '{key}' is empty")
    if min(arr.shape[1:]) == 0:
        raise UserError(f"{path}: '{key}' has shape {arr.shape}: images need height, width and channels >= 1")
    if np.issubdtype(arr.dtype, np.floating):
        if _unit_floats(arr):
            arr = np.round(arr * 255.0)
        if np.isnan(arr).any() or arr.min() < 0 or arr.max() > 255:
            raise UserError(f"{path}: '{key}' must hold pixel values in 0..255 (or floats in 0..1)")
    elif not np.issubdtype(arr.dtype, np.integer):
        raise UserError(f"{path}: '{key}' has dtype {arr.dtype}, expected integer or float pixels")
    elif arr.min() < 0 or arr.max() > 255:
        raise UserError(f"{path}: '{key}' must hold pixel values in 0..255, found {arr.min()}..{arr.max()}")
    return arr.astype(np.uint8)


def _check_labels(path: str, key: str, arr: np.ndarray, n: int) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1 or arr.dtype.kind not in "iu":  # not issubdtype(np.integer): timedelta64 counts as one
        raise UserError(f"{path}: '{key}' must be a 1-D integer label array, got shape {arr.shape} dtype {arr.dtype}")
    if arr.shape[0] != n:
        raise UserError(f"{path}: '{key}' has {arr.shape[0]} labels but the images have {n}")
    if arr.min() < 0:
        raise UserError(f"{path}: '{key}' has negative labels")
    if int(arr.max()) > MAX_CLASSES - 1:  # compared before the int64 cast: uint64 labels must not wrap
        raise UserError(f"{path}: '{key}' has label {int(arr.max())}: at most {MAX_CLASSES} classes "
                        f"(labels 0..{MAX_CLASSES - 1}) are supported")
    return arr.astype(np.int64)


def _counts(n: int, y: np.ndarray) -> np.ndarray:
    return np.bincount(y, minlength=n)[:n] if len(y) else np.zeros(n, np.int64)


def _few(items: Sequence[int]) -> str:
    shown = ", ".join(str(i) for i in items[:5])
    return shown + (f" ... ({len(items)} in all)" if len(items) > 5 else "")


def check_classes(data: Dataset, classes: Sequence[int], where: str | None = None) -> None:
    """The classes ``0..num_classes-1`` (numbered by their labels) are fit to train ``classes``.

    Errors: a class without training samples (labels are not consecutive from 0: stray or sparse
    labels would make classes nothing can learn); a class of ``classes`` with one training sample
    (the validation split holds one sample of every class out). A class of ``classes`` without
    test samples is only a warning line on stderr: its accuracy is not measured.
    """
    where = where or data.name
    n = data.num_classes
    tr, te = _counts(n, data.y_train), _counts(n, data.y_test)
    empty = [c for c in range(n) if tr[c] == 0]
    if empty:
        raise UserError(f"{where}: labels must number the classes 0..K-1, but of 0..{n - 1} class(es) "
                        f"{_few(empty)} have no training sample (stray or sparse labels?)")
    single = [int(c) for c in classes if tr[c] < 2]
    if single:
        raise UserError(f"{where}: class(es) {_few(single)} have only 1 training sample; every class needs at least "
                        f"2 (one is held out for validation)")
    untested = [int(c) for c in classes if te[c] == 0]
    if untested:
        print(f"warning: {where}: class(es) {_few(untested)} have no test sample; their accuracy is not measured",
              file=sys.stderr)


def load_npz(path: str | os.PathLike) -> Dataset:
    """A Keras-style ``.npz`` with ``x_train, y_train, x_test, y_test`` (images uint8 NHW[C])."""
    path = str(path)
    if not os.path.isfile(path):
        raise UserError(f"{path}: no such file")
    arrays = read_npz(path, NPZ_KEYS, MAX_NPZ_BYTES)
    if min(a.size for a in (arrays["x_train"], arrays["x_test"])) and \
            _unit_floats(arrays["x_train"]) != _unit_floats(arrays["x_test"]):  # one scale for both splits
        unit, other = ("x_train", "x_test") if _unit_floats(arrays["x_train"]) else ("x_test", "x_train")
        raise UserError(f"{path}: '{unit}' holds floats in 0..1 (read as 0..255 after x255) but '{other}' does not: "
                        f"store both splits on the same scale")
    x_tr = _check_images(path, "x_train", arrays["x_train"])
    x_te = _check_images(path, "x_test", arrays["x_test"])
    if x_tr.shape[1:] != x_te.shape[1:]:
        raise UserError(f"{path}: x_train images are {x_tr.shape[1:]} but x_test images are {x_te.shape[1:]}")
    y_tr = _check_labels(path, "y_train", arrays["y_train"], len(x_tr))
    y_te = _check_labels(path, "y_test", arrays["y_test"], len(x_te))
    num_classes = int(max(y_tr.max(), y_te.max())) + 1
    if num_classes < 2:
        raise UserError(f"{path}: every label is 0: a classifier needs at least 2 classes")
    vmax = 255 if max(x_tr.max(), x_te.max()) > 16 else 16
    return Dataset(Path(path).stem, x_tr, y_tr, x_te, y_te, num_classes, vmax)


def load_tfds(name: str, data_dir: str | None = None) -> Dataset:
    """A tensorflow-datasets image classification set that is already prepared in ``data_dir``.

    Nothing is downloaded here: without network access an unprepared set is a :class:`UserError`
    that says how to supply the data.
    """
    import absl.logging
    import tensorflow_datasets as tfds

    absl.logging.set_verbosity(absl.logging.ERROR)
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except Exception as exc:  # DatasetNotFoundError and friends
        raise UserError(
            f"unknown dataset '{name}': not 'digits', not an existing .npz file, and not a tensorflow-datasets name ({exc.__class__.__name__})"
        ) from None
    if not builder.is_prepared() if hasattr(builder, "is_prepared") else not os.path.isdir(builder.data_dir):
        where = data_dir or "~/tensorflow_datasets"
        raise UserError(
            f"dataset '{name}' is not prepared in {where} and this machine cannot download it: "
            f"run `tfds build {name} --data_dir DIR` where there is network and pass --data-dir DIR, "
            f"or pass a Keras-style .npz (x_train, y_train, x_test, y_test) as --dataset"
        )
    info = builder.info
    keys = set(info.features.keys())
    if "image" not in keys or "label" not in keys:
        raise UserError(f"dataset '{name}' is not an image classification set (features: {sorted(keys)})")
    splits = set(info.splits.keys())
    if "train" not in splits or "test" not in splits:
        raise UserError(f"dataset '{name}' needs 'train' and 'test' splits (has: {sorted(splits)})")
    arrays = {}
    for split in ("train", "test"):
        ds = builder.as_dataset(split=split, batch_size=-1, as_supervised=True)
        x, y = tfds.as_numpy(ds)
        arrays[split] = (_check_images(name, f"{split} images", x), _check_labels(name, f"{split} labels", y, len(x)))
    num_classes = int(info.features["label"].num_classes)
    if num_classes > MAX_CLASSES:
        raise UserError(f"dataset '{name}' has {num_classes} classes: at most {MAX_CLASSES} are supported")
    return Dataset(name, *arrays["train"], *arrays["test"], num_classes, 255)


def load_folder(path: str | os.PathLike, image_size: tuple[int, int] | list[int] | None = None,
                test_fraction: float | None = None) -> Dataset:
    """An image folder (``train/<class>/*`` + ``test/<class>/*``, or ``<class>/*`` split by ``test_fraction``).

    ``vmax`` is 255 (8-bit pixels); labels index the sorted class folder names.
    """
    from bnn_edge.datasets.folder import load_image_folder

    size = tuple(int(v) for v in image_size) if image_size is not None else None
    f = load_image_folder(path, image_size=size, test_fraction=test_fraction)  # type: ignore[arg-type]
    options = {"image_size": list(size) if size else None, "test_fraction": f.info["test_fraction"]}
    return Dataset(Path(path).name or str(path), f.x_train, f.y_train, f.x_test, f.y_test, len(f.class_names), 255,
                   class_names=list(f.class_names), options=options)


def load_dataset(name: str, data_dir: str | None = None, seed: int = 0,
                 image_size: tuple[int, int] | list[int] | None = None, test_fraction: float | None = None) -> Dataset:
    """``digits`` (the bundled set, even if a folder of that name exists) | image folder | path to
    ``.npz`` | tensorflow-datasets name.

    ``image_size`` and ``test_fraction`` apply to image folders only (an error for other sources).
    """
    check_dataset_source(name, image_size, test_fraction)
    if name != DIGITS and os.path.isdir(name):
        return load_folder(name, image_size=image_size, test_fraction=test_fraction)
    if name == DIGITS:
        return load_digits(seed=0)
    if name.endswith(".npz") or os.path.sep in name:
        return load_npz(name)
    return load_tfds(name, data_dir)


def check_dataset_source(name: str, image_size=None, test_fraction=None) -> None:
    """The checks of :func:`load_dataset` (which starts with them) that need neither TensorFlow nor
    decoding, so that a command can refuse a missing file or a misplaced folder option at once."""
    if name != DIGITS and os.path.isdir(name):
        return
    if image_size is not None or test_fraction is not None:
        raise UserError(f"--image-size and --test-fraction apply to image folders only, and '{name}' is not a folder")
    if name != DIGITS and (name.endswith(".npz") or os.path.sep in name) and not os.path.isfile(name):
        raise UserError(f"{name}: no such file")


def load_run_dataset(run: dict) -> Dataset:
    """The dataset a run was trained on, loaded as it was (``run.json``'s ``dataset``, ``data_dir`` and
    ``dataset_options``)."""
    opts = run.get("dataset_options") or {}
    if not isinstance(opts, dict):
        raise UserError(f"run.json: 'dataset_options' must be an object, got {type(opts).__name__}")
    return load_dataset(run["dataset"], data_dir=run.get("data_dir"), seed=int(run.get("seed", 0) or 0),
                        image_size=opts.get("image_size"), test_fraction=opts.get("test_fraction"))


def select_classes(x: np.ndarray, y: np.ndarray, classes: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Samples whose label is in ``classes``, labels unchanged."""
    mask = np.isin(y, classes)
    return x[mask], y[mask]


def validation_split(x: np.ndarray, y: np.ndarray, fraction: float, seed: int):
    """A seeded stratified hold-out of ``fraction`` of the training set (for the LR schedule).

    ``fraction == 0``: no hold-out (everything trains; the validation arrays are empty).
    """
    if fraction == 0:
        return x, y, x[:0], y[:0]
    rng = np.random.default_rng(seed + 1)
    val_idx = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        val_idx.extend(idx[: max(1, int(round(len(idx) * fraction)))])
    val = np.zeros(len(y), bool)
    val[val_idx] = True
    return x[~val], y[~val], x[val], y[val]
