"""Image-folder datasets: ``DIR/train/<class>/*`` + ``DIR/test/<class>/*``, or ``DIR/<class>/*``.

Layouts
    *split*: ``DIR`` holds ``train/`` and ``test/``, each with one folder per class (the same class
    names in both). *flat*: ``DIR`` holds the class folders themselves; a seeded, stratified split
    keeps ``round(test_fraction * n_c)`` images of every class ``c`` (at least 1, at most
    ``n_c - 1``) for the test set, chosen with ``numpy.random.default_rng(0)`` (a fixed seed, so
    runs with different ``--seed`` share one test set, as for the bundled digits).

Labels
    Class index ``i`` is the ``i``-th folder name in sorted (code point) order; the names are
    returned as :attr:`FolderDataset.class_names` and written to ``run.json``.

Pixels
    Files are decoded with Pillow. Grayscale files (modes ``1, L, LA, I;16``) become one channel,
    every other mode (``RGB, RGBA, P, CMYK, YCbCr``, ...) three; alpha is dropped. When a folder
    mixes both, **the majority wins** (ties go to RGB) and the minority is converted with Pillow
    (``L -> RGB`` replicates the grey value; ``RGB -> L`` is ITU-R 601-2 luma), with a warning.
    16-bit greyscale keeps its 8 most significant bits. A camera file's EXIF orientation tag is
    applied (``ImageOps.exif_transpose``: the pixels as a viewer shows them). Every image must have
    the size of the first one (sorted order) unless ``image_size=(H, W)`` asks for resizing
    (Pillow's bilinear filter, antialiased when shrinking; a JPEG is first decoded at the smallest
    DCT scale 1/2, 1/4 or 1/8 whose sides stay >= ``max(H, W)``, as ``Image.thumbnail`` does); a size
    mismatch is an error naming one such file, found from the file headers (EXIF orientation
    applied) before their pixels are decoded. Images over :data:`MAX_PIXELS` are refused from
    their header, before decoding (a decompression bomb costs nothing). The first bad file (in
    sorted order) stops the decode: the chunks not yet started are cancelled.

Cache
    The decoded arrays are cached as an uncompressed ``.npz`` in :func:`cache_dir` under a key
    that hashes the loader version, ``image_size`` and every file's relative path, size and
    modification time (ns), so that touching, adding or removing a file invalidates it. The file
    is written to a temporary name and renamed (atomic), and read with ``allow_pickle=False``; it is
    used only if its arrays have the listing's image counts, one shape and the SHA-256 stored with
    them, so a damaged, truncated or edited cache is decoded again, never trained on; an
    unwritable cache is a warning.

Errors (:class:`~bnn_edge.errors.UserError`, one line naming the path): a missing split, fewer
than 2 classes, an empty class folder, a nested folder or non-image file inside a class folder,
a file Pillow cannot decode, an image of another size or over :data:`MAX_PIXELS`. Hidden
entries (names starting with ``.``) are skipped.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import stat
import sys
import tempfile
import time
import warnings
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bnn_edge.errors import UserError
from bnn_edge.workers import sigint_ignored

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm")
DEFAULT_TEST_FRACTION = 0.2
SPLIT_SEED = 0
CACHE_VERSION = 3  # 2: EXIF orientation applied, JPEG draft decoding when resizing; 3: a digest of the pixels
MAX_PIXELS = 64 * 1024 * 1024  # per image, from the file header (a 64-megapixel camera frame still loads)
GRAY_MODES = ("1", "L", "LA", "La", "I;16", "I;16L", "I;16B", "I;16N")
_CHUNK = 512  # files per decode task


@dataclass
class FolderDataset:
    """Decoded images ``x_*`` ``[N, H, W, C]`` uint8 and labels ``y_*`` (indices into ``class_names``)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    layout: str  # "split" | "flat"
    from_cache: bool = False
    info: dict = field(default_factory=dict)


def cache_dir() -> Path:
    """``$BNN_EDGE_CACHE_DIR``, else ``$XDG_CACHE_HOME/bnn-edge``, else ``~/.cache/bnn-edge``."""
    explicit = os.environ.get("BNN_EDGE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "bnn-edge"


def parse_image_size(text: str | None) -> tuple[int, int] | None:
    """``"HxW"`` (or ``"H,W"``, or ``"N"`` for a square) -> ``(H, W)``; ``None`` stays ``None``."""
    if text is None or text == "":
        return None
    parts = text.lower().replace(",", "x").split("x")
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        dims = ()
    if len(dims) == 1:
        dims = (dims[0], dims[0])
    if len(dims) != 2 or min(dims) < 1 or max(dims) > 4096:
        raise UserError(f"--image-size {text!r}: expected HxW with two integers in 1..4096, e.g. 32x32")
    return dims  # type: ignore[return-value]


# --- listing ---------------------------------------------------------------------------------

def _visible(entries) -> list[os.DirEntry]:
    return sorted((e for e in entries if not e.name.startswith(".")), key=lambda e: e.name)


def _is_dir(e: os.DirEntry) -> bool:
    """``e.is_dir()`` (following links), a link loop or unreadable entry as one error naming it."""
    try:
        return e.is_dir()
    except OSError as exc:
        raise UserError(f"{e.path}: cannot follow it ({exc.strerror or exc})") from None


def _class_dirs(root: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(root) as it:
            entries = _visible(it)
    except OSError as exc:
        raise UserError(f"{root}: cannot list the folder ({exc.strerror or exc})") from None
    files = [e for e in entries if not _is_dir(e)]
    if files:
        raise UserError(f"{files[0].path}: a file where class folders are expected ({root} must hold one folder per class)")
    if len(entries) < 2:
        raise UserError(f"{root}: needs at least 2 class folders, found {len(entries)}")
    return entries


def _class_files(d: os.DirEntry) -> list[tuple[str, int, int]]:
    """``(path, size, mtime_ns)`` of the images in one class folder, sorted by name."""
    out = []
    try:
        with os.scandir(d.path) as it:
            entries = _visible(it)
    except OSError as exc:
        raise UserError(f"{d.path}: cannot list the folder ({exc.strerror or exc})") from None
    for e in entries:
        if _is_dir(e):
            raise UserError(f"{e.path}: nested folder inside a class folder (one level of class folders expected)")
        if not e.name.lower().endswith(IMAGE_SUFFIXES):
            raise UserError(f"{e.path}: not an image file (expected {', '.join(IMAGE_SUFFIXES)})")
        try:
            st = e.stat()  # follows a symbolic link
        except OSError as exc:
            what = "a broken symbolic link" if e.is_symlink() else "cannot read its size and time"
            raise UserError(f"{e.path}: {what} ({exc.strerror or exc})") from None
        if not stat.S_ISREG(st.st_mode):  # a FIFO would block the decoder forever, a device never end
            raise UserError(f"{e.path}: not a regular file (a pipe, socket or device), expected an image file")
        out.append((e.path, int(st.st_size), int(st.st_mtime_ns)))
    if not out:
        raise UserError(f"{d.path}: empty class folder (no image files)")
    return out


def _list_split(root: Path) -> tuple[list[str], list[tuple[str, int, int]], np.ndarray]:
    dirs = _class_dirs(root)
    names = [d.name for d in dirs]
    files: list[tuple[str, int, int]] = []
    labels: list[int] = []
    for i, d in enumerate(dirs):
        fs = _class_files(d)
        files += fs
        labels += [i] * len(fs)
    return names, files, np.asarray(labels, np.int64)


# --- decoding --------------------------------------------------------------------------------

_SWAPPED = (5, 6, 7, 8)  # EXIF orientations that rotate by 90 degrees: shown as H x W = stored W x H


def _shown_size(src) -> tuple[int, int]:
    """``(H, W)`` of an opened image as shown, from its header: the EXIF orientation applied."""
    from PIL import Image

    w, h = src.size
    try:  # the EXIF block if the header holds it (JPEG, WebP, PNG with eXIf before the pixels); no decode:
        if "exif" in src.info:  # PNG's getexif() would decode the pixels to look for a late eXIf chunk
            exif = Image.Exif()
            exif.load(src.info["exif"])
        elif src.format == "TIFF":  # its tags are the header
            exif = src.getexif()
        else:  # none in the header: the size as stored (the check after decoding still compares sizes as shown)
            exif = {}
        swapped = exif.get(0x0112) in _SWAPPED
    except Exception:  # a damaged EXIF block: exif_transpose ignores it too  # noqa: BLE001
        swapped = False
    return (w, h) if swapped else (h, w)


def header_size(path: str) -> tuple[int, int] | None:
    """``(H, W)`` of an image file as shown (EXIF orientation applied), read from its header; None if unreadable."""
    from PIL import Image

    try:
        with Image.open(path) as src:
            return _shown_size(src)
    except Exception:  # noqa: BLE001  (the decode reports why, naming the file)
        return None


def _decode_one(path: str, size: tuple[int, int] | None,
                expect: tuple[int, int, str] | None = None) -> tuple[np.ndarray | str, bool]:
    """One file -> (``uint8 [H, W, C]`` with C in {1, 3}, is_gray), or (error text, False).

    ``expect = (H, W, first_path)``: without resizing, every image must be shown at ``H x W``;
    another size is refused from the header, before decoding.
    """
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as src:
            w, h = src.size
            if w * h > MAX_PIXELS:  # read from the header: refused before any pixel is decoded
                return (f"image is {h}x{w} ({w * h / 1e6:.0f} megapixels), more than this loader's "
                        f"{MAX_PIXELS / 1e6:.0f}-megapixel limit"), False
            if expect is not None and size is None:
                sh, sw = _shown_size(src)
                if (sh, sw) != expect[:2]:
                    return _size_error(sh, sw, expect), False
            if size is not None and src.format == "JPEG":
                side = max(size)  # decode at the smallest DCT scale (1/2, 1/4, 1/8) still >= the target, any rotation
                src.draft(None, (side, side))
            src.load()
            try:  # camera files: the EXIF orientation tag, applied
                ImageOps.exif_transpose(src, in_place=True)
            except Exception:  # a damaged EXIF block: the pixels as stored  # noqa: BLE001
                pass
            im = src
            mode = im.mode
            if mode in GRAY_MODES:
                if mode.startswith("I;16"):
                    arr16 = np.asarray(im, dtype=np.uint16) >> 8
                    im2 = Image.fromarray(arr16.astype(np.uint8), "L")
                else:
                    im2 = im.convert("L")
                gray = True
            elif mode in ("I", "F"):
                return f"unsupported pixel mode {mode} (32-bit integer or float pixels)", False
            else:
                im2 = im.convert("RGB")
                gray = False
            if size is not None and im2.size != (size[1], size[0]):
                im2 = im2.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            arr = np.asarray(im2, dtype=np.uint8)
    except Exception as exc:  # PIL.UnidentifiedImageError, truncated files, OSError ...
        msg = str(exc).split("\n")[0][:160]
        return f"cannot decode the image ({exc.__class__.__name__}: {msg})", False
    if arr.ndim == 2:
        arr = arr[..., None]
    return arr, gray


def _size_error(h: int, w: int, expect: tuple[int, int, str]) -> str:
    return (f"image is {h}x{w} but {expect[2]} is {expect[0]}x{expect[1]} "
            f"(pass --image-size HxW to resize every image)")


def _decode_chunk(paths: list[str], size: tuple[int, int] | None,
                  expect: tuple[int, int, str] | None = None) -> list[tuple[np.ndarray | str, bool]]:
    """Decode ``paths`` in order, stopping after the first file that fails (the caller reports it)."""
    out: list[tuple[np.ndarray | str, bool]] = []
    for p in paths:
        out.append(_decode_one(p, size, expect))
        if isinstance(out[-1][0], str):
            break
    return out


def _workers() -> int:
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        n = os.cpu_count() or 1
    return max(1, min(n, 8))


def _progress(total: int, desc: str):
    """A tqdm bar on a terminal; otherwise nothing (the caller prints one line at the end)."""
    if not sys.stderr.isatty():
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="img", file=sys.stderr, leave=False, dynamic_ncols=True)


def decode_files(paths: list[str], size: tuple[int, int] | None, desc: str = "decode",
                 expect: tuple[int, int, str] | None = None) -> list[tuple[np.ndarray, bool]]:
    """Decode ``paths`` in parallel processes (chunks of 512 files), in order, with a progress bar.

    The first file (in order) that cannot be decoded, or whose header size differs from ``expect``,
    raises :class:`UserError` naming it as soon as its chunk is back: the chunks not yet started are
    cancelled, so a bad file costs seconds rather than the whole folder's decode.
    """
    chunks = [paths[i:i + _CHUNK] for i in range(0, len(paths), _CHUNK)]
    bar = _progress(len(paths), desc)
    out: list[tuple[np.ndarray, bool]] = []

    def take(c: list[str], res: list[tuple[np.ndarray | str, bool]]) -> None:
        for p, (arr, gray) in zip(c, res):
            if isinstance(arr, str):
                raise UserError(f"{p}: {arr}")
            out.append((arr, gray))
        if bar is not None:
            bar.update(len(c))

    try:
        if len(chunks) <= 1 or _workers() == 1:
            for c in chunks:
                take(c, _decode_chunk(c, size, expect))
        else:
            ctx = multiprocessing.get_context("spawn")  # never fork a process that may hold TensorFlow threads
            ex = ProcessPoolExecutor(max_workers=_workers(), mp_context=ctx)
            try:
                with sigint_ignored():  # map submits every chunk: the workers start now, deaf to Ctrl-C
                    results = ex.map(_decode_chunk, chunks, [size] * len(chunks), [expect] * len(chunks))
                for c, res in zip(chunks, results):
                    take(c, res)
            finally:  # on an error (or Ctrl-C) the chunks not started are dropped, not decoded for nothing
                ex.shutdown(wait=True, cancel_futures=True)
    finally:
        if bar is not None:
            bar.close()
    return out


def _assemble(root: Path, paths: list[str], decoded: list[tuple[np.ndarray, bool]]) -> np.ndarray:
    """Check sizes and modes, convert the minority mode, stack to ``[N, H, W, C]``."""
    hw = decoded[0][0].shape[:2]
    for p, (arr, _) in zip(paths, decoded):
        if arr.shape[:2] != hw:  # the headers agreed (decode_files' check); a file whose pixels do not
            raise UserError(f"{p}: {_size_error(arr.shape[0], arr.shape[1], (hw[0], hw[1], paths[0]))}")
    n_gray = sum(1 for _, g in decoded if g)
    gray = n_gray * 2 > len(decoded)
    if 0 < n_gray < len(decoded):
        from PIL import Image

        minority = len(decoded) - n_gray if gray else n_gray
        warnings.warn(f"{root}: {minority} of {len(decoded)} images converted to {'grayscale' if gray else 'RGB'} "
                      f"(the majority's mode)", stacklevel=3)
        fixed = []
        for arr, g in decoded:
            if g != gray:
                im = Image.fromarray(arr[..., 0] if g else arr, "L" if g else "RGB")  # type: ignore[index]
                a = np.asarray(im.convert("L" if gray else "RGB"), dtype=np.uint8)
                arr = a[..., None] if a.ndim == 2 else a
            fixed.append(arr)
        return np.stack(fixed)
    return np.stack([a for a, _ in decoded])  # type: ignore[misc]


# --- cache -----------------------------------------------------------------------------------

def cache_key(listing: dict, image_size: tuple[int, int] | None) -> str:
    """sha256 over the loader version, ``image_size`` and the ``(relative path, size, mtime_ns)`` list."""
    h = hashlib.sha256()
    h.update(json.dumps({"v": CACHE_VERSION, "image_size": list(image_size) if image_size else None,
                         "layout": listing["layout"]}).encode())
    cut = len(os.path.join(listing["root"], ""))  # paths are root + os.sep + relative path
    for split in sorted(listing["splits"]):
        h.update("".join(f"{split}\0{path[cut:]}\0{size}\0{mtime}\n"
                         for path, size, mtime in listing["splits"][split]["files"]).encode())
    return h.hexdigest()[:40]


def _cache_path(key: str) -> Path:
    return cache_dir() / "folders" / f"{key}.npz"


def _digest(arrays: dict[str, np.ndarray], splits: list[str]) -> np.ndarray:
    """SHA-256 over each split's shape and pixels, as 32 uint8: what the cache stores beside them."""
    h = hashlib.sha256()
    for s in splits:
        a = np.ascontiguousarray(arrays[f"x_{s}"])
        h.update(f"{s}{a.shape}".encode())
        h.update(memoryview(a).cast("B"))
    return np.frombuffer(h.digest(), np.uint8)


def _read_cache(path: Path, counts: dict[str, int], image_size: tuple[int, int] | None) -> dict[str, np.ndarray] | None:
    """The cached arrays if they are what a decode of the listed files gives: ``counts[split]``
    images of one shape ``[N, H, W, 1 or 3]`` uint8 (``H, W = image_size`` when resizing) whose
    digest matches the one stored with them; anything else (damaged, truncated, edited, an older
    version) is None and the folder is decoded again."""
    if not path.is_file():
        return None
    splits = list(counts)
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in (*(f"x_{s}" for s in splits), "sha256") if k in f.files}
    except Exception:  # noqa: BLE001  (zip, npy header, zlib, OSError: a damaged cache is only a miss)
        return None
    if len(arrays) != len(splits) + 1:
        return None
    shapes = set()
    for s in splits:
        a = arrays[f"x_{s}"]
        if a.dtype != np.uint8 or a.ndim != 4 or len(a) != counts[s] or a.shape[3] not in (1, 3):
            return None
        if image_size is not None and a.shape[1:3] != tuple(image_size):
            return None
        shapes.add(a.shape[1:])
    if len(shapes) != 1 or not np.array_equal(arrays["sha256"], _digest(arrays, splits)):
        return None
    return arrays


def _write_cache(path: Path, arrays: dict[str, np.ndarray], splits: list[str]) -> bool:
    """Write ``arrays`` and their digest to ``path`` atomically (temporary file in the same folder,
    then rename); False (and a warning) when that is impossible."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.stem, suffix=".tmp.npz", dir=path.parent)
        try:
            members = {**arrays, "sha256": _digest(arrays, splits)}
            # np.savez's layout (stored .npy members), with the zip closed on any exit: an interrupt
            # mid-write leaves no half-open ZipFile for the garbage collector to complain about
            with open(fd, "wb", closefd=True) as f, zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
                for name, arr in members.items():
                    with zf.open(f"{name}.npy", "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, np.asanyarray(arr), allow_pickle=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        warnings.warn(f"cannot write the image cache {path} ({exc.strerror or exc}); the folder will be decoded again next time",
                      stacklevel=3)
        return False
    return True


# --- the loader ------------------------------------------------------------------------------

def list_folder(root: str | os.PathLike) -> dict:
    """Check the layout and list the files: ``{"root", "layout", "class_names", "splits": {s: {"files", "labels"}}}``."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{root}: no such folder")
    train, test = root / "train", root / "test"
    if train.is_dir() or test.is_dir():
        for s in (train, test):
            if not s.is_dir():
                raise UserError(f"{s}: missing split ({root} has {'train' if s is test else 'test'}/ but no {s.name}/ folder)")
        names_tr, files_tr, y_tr = _list_split(train)
        names_te, files_te, y_te = _list_split(test)
        if names_tr != names_te:
            only = sorted(set(names_tr) ^ set(names_te))
            where = train if only[0] not in names_tr else test
            raise UserError(f"{where / only[0]}: missing class folder (train/ and test/ must hold the same classes; "
                            f"differing: {', '.join(only)})")
        return {"root": str(root), "layout": "split", "class_names": names_tr,
                "splits": {"train": {"files": files_tr, "labels": y_tr}, "test": {"files": files_te, "labels": y_te}}}
    names, files, y = _list_split(root)
    return {"root": str(root), "layout": "flat", "class_names": names, "splits": {"all": {"files": files, "labels": y}}}


def stratified_split(y: np.ndarray, test_fraction: float, seed: int = SPLIT_SEED) -> np.ndarray:
    """Boolean test mask: per class, ``clip(round(f * n_c), 1, n_c - 1)`` samples drawn with ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), bool)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        k = int(np.clip(round(test_fraction * len(idx)), 1, max(1, len(idx) - 1)))
        test[rng.permutation(idx)[:k]] = True
    return test


def load_image_folder(root: str | os.PathLike, image_size: tuple[int, int] | None = None,
                      test_fraction: float | None = None, use_cache: bool = True, verbose: bool = True) -> FolderDataset:
    """Load an image folder (see the module docstring); cached after the first decode."""
    tf_ = DEFAULT_TEST_FRACTION if test_fraction is None else float(test_fraction)
    if not 0 < tf_ < 1:
        raise UserError(f"--test-fraction {test_fraction}: must be in (0, 1)")
    t0 = time.time()
    listing = list_folder(root)
    root_p = Path(listing["root"])
    splits = list(listing["splits"])
    if test_fraction is not None and listing["layout"] == "split":
        warnings.warn(f"--test-fraction {test_fraction} ignored: {root_p} has its own train/ and test/ folders",
                      stacklevel=2)
    for s in splits:
        labels = listing["splits"][s]["labels"]
        if listing["layout"] == "flat":
            small = [listing["class_names"][c] for c in range(len(listing["class_names"])) if np.sum(labels == c) < 2]
            if small:
                raise UserError(f"{root_p / small[0]}: only one image, a train/test split needs at least 2 per class")
    key = cache_key(listing, image_size)
    path = _cache_path(key)
    counts = {s: len(listing["splits"][s]["files"]) for s in splits}
    arrays = _read_cache(path, counts, image_size) if use_cache else None
    from_cache = cached = arrays is not None
    if arrays is None:
        arrays = {}
        expect = None
        if image_size is None:  # every image must be shown at the first one's size: checked from each header
            first = listing["splits"][splits[0]]["files"][0][0]
            hw = header_size(first)
            expect = None if hw is None else (hw[0], hw[1], first)  # unreadable: its decode says why
        for s in splits:
            paths = [f[0] for f in listing["splits"][s]["files"]]
            decoded = decode_files(paths, image_size, desc=f"decode {root_p.name}/{s if s != 'all' else ''}".rstrip("/"),
                                   expect=expect)
            arrays[f"x_{s}"] = _assemble(root_p, paths, decoded)
        if len(splits) == 2 and arrays["x_train"].shape[1:] != arrays["x_test"].shape[1:]:
            a, b = arrays["x_train"].shape[1:], arrays["x_test"].shape[1:]
            if a[:2] != b[:2]:
                raise UserError(f"{listing['splits']['test']['files'][0][0]}: image is {b[0]}x{b[1]} but "
                                f"{listing['splits']['train']['files'][0][0]} is {a[0]}x{a[1]} "
                                f"(pass --image-size HxW to resize every image)")
            raise UserError(f"{root_p}: train images have {a[2]} channel(s) but test images {b[2]}: "
                            f"convert one split to the other's mode")
        cached = use_cache and _write_cache(path, arrays, splits)
    if listing["layout"] == "split":
        x_tr, x_te = arrays["x_train"], arrays["x_test"]
        y_tr, y_te = listing["splits"]["train"]["labels"], listing["splits"]["test"]["labels"]
    else:
        x, y = arrays["x_all"], listing["splits"]["all"]["labels"]
        test = stratified_split(y, tf_)
        x_tr, y_tr, x_te, y_te = x[~test], y[~test], x[test], y[test]
    seconds = time.time() - t0
    if verbose and not from_cache:
        print(f"{root_p}: decoded {len(x_tr) + len(x_te)} images ({len(listing['class_names'])} classes, "
              f"{'x'.join(map(str, x_tr.shape[1:]))}) in {seconds:.1f} s" + (f"; cached in {path}" if cached else ""),
              file=sys.stderr)
    info = {"layout": listing["layout"], "image_size": list(image_size) if image_size else None,
            "test_fraction": tf_ if listing["layout"] == "flat" else None, "cache": str(path) if cached else None, "seconds": seconds}
    return FolderDataset(x_tr, y_tr, x_te, y_te, listing["class_names"], listing["layout"], from_cache, info)
