"""Manifests of output directories: content hashes of their files and the fields readers rely on.

``run.json`` (``bnn-edge train``) and ``export.json`` (``bnn-edge export``) list every other file
of their directory under ``files: {name: sha256-hex}``; an export also records the hashes of the
run it was made from (``run_sha256``: that run's ``run.json`` and ``model.keras``). Readers
check them (:func:`verify_files`): a missing file, or one whose SHA-256 differs, is one clear
error naming the file -- the directory is incomplete (a killed command of an older version) or
was modified, never silently mixed -- and an export whose run was re-trained since is refused. Directories
written before hashes were recorded are refused with the same advice (re-run the command that
wrote them).

:func:`read_run_info` reads a training run's ``run.json`` without TensorFlow and checks the type
of every field the other commands use, so a hand-edited or foreign file is an error line, not a
traceback.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Iterable, Mapping

from bnn_edge import jsontext
from bnn_edge.errors import UserError

FILES_KEY = "files"
RUN_FILE = "run.json"
MODEL_FILE = "model.keras"
METRICS_FILE = "metrics.json"
EXPORT_JSON = "export.json"
#: the files of an export that ``export.json`` records (it is written last)
EXPORT_FILES = ("model.tflite", "model.bnnpack", "model_data.c", "model_data.h")
RUN_HINT = "re-run `bnn-edge train`"
EXPORT_HINT = "re-run `bnn-edge export`"
_HEX64 = re.compile(r"[0-9a-f]{64}")


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, lower-case hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def hash_files(directory: str | os.PathLike, names: Iterable[str]) -> dict[str, str]:
    """``{name: sha256}`` of the files ``names`` of ``directory``."""
    return {name: sha256_file(Path(directory) / name) for name in names}


def _short(h: str) -> str:
    return h[:16] + "..."


def check_hash_table(table: Any, manifest: Path, key: str, required: Iterable[str], hint: str) -> dict[str, str]:
    """``table`` must be ``{file name: 64 hex digits}`` holding every ``required`` name."""
    if table is None:
        raise UserError(f"{manifest}: no '{key}' (file hashes): written by an older bnn-edge or not by bnn-edge; {hint}")
    if not isinstance(table, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and _HEX64.fullmatch(v) for k, v in table.items()):
        raise UserError(f"{manifest}: '{key}' must map file names to SHA-256 hex digests; {hint}")
    for name in table:
        if name in ("", ".", "..") or "/" in name or "\\" in name:
            raise UserError(f"{manifest}: '{key}' names {name!r}, not a file of its directory; {hint}")
    missing = [n for n in required if n not in table]
    if missing:
        raise UserError(f"{manifest}: '{key}' has no hash of {', '.join(missing)}; {hint}")
    return table


def verify_files(directory: Path, manifest_name: str, table: Mapping[str, str], hint: str,
                 contents: Mapping[str, bytes] | None = None) -> None:
    """Every file of ``table`` exists in ``directory`` with that SHA-256: a :class:`UserError` otherwise.

    ``contents``: bytes already read for some of the files (checked instead of re-reading them, so
    that what the caller uses is what was verified).
    """
    contents = contents or {}
    for name, expected in table.items():
        path = directory / name
        if name in contents:
            actual = hashlib.sha256(contents[name]).hexdigest()
        elif not path.is_file():
            raise UserError(f"{path}: missing, but {manifest_name} lists it: the directory is incomplete "
                            f"or was modified; {hint}")
        else:
            actual = sha256_file(path)
        if actual != expected:
            raise UserError(f"{directory}: {name} does not match {manifest_name} (sha256 {_short(actual)}, recorded "
                            f"{_short(expected)}): the directory is incomplete or was modified; {hint}")


def read_json_object(path: Path, what: str) -> dict[str, Any]:
    """A JSON object from ``path`` (a :class:`UserError` naming ``path`` for anything else)."""
    try:
        value = jsontext.read(path)
    except OSError as exc:
        raise UserError(f"{path}: cannot read it ({exc.__class__.__name__})") from None
    except jsontext.JSONTextError as exc:
        raise UserError(f"{path}: not valid JSON, not {what} ({exc})") from None
    if not isinstance(value, dict):
        raise UserError(f"{path}: a JSON {type(value).__name__}, not {what}")
    return value


# --- run.json ------------------------------------------------------------------------------------

def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _int_list(v: Any) -> bool:
    return isinstance(v, list) and all(_is_int(x) for x in v)


#: preset fields other commands read, with their types
_PRESET_FIELDS: dict[str, Any] = {"name": str, "levels": int, "latent": int, "hidden": int, "vmax": int}


def check_run_fields(run: dict[str, Any], path: Path) -> dict[str, Any]:
    """The fields of a training run's ``run.json`` that other commands use, with their types."""

    def bad(key: str, expected: str) -> UserError:
        if key not in run:
            return UserError(f"{path}: no '{key}' (not a `bnn-edge train` run?)")
        return UserError(f"{path}: '{key}' must be {expected}, found {json.dumps(run[key])[:60]}")

    for key in ("dataset", "preset_name"):
        if not isinstance(run.get(key), str) or not run[key]:
            raise bad(key, "a non-empty string")
    if "data_dir" in run and run["data_dir"] is not None and not isinstance(run["data_dir"], str):
        raise bad("data_dir", "a string or null")
    if not _is_int(run.get("seed", 0)):
        raise bad("seed", "an integer")
    preset = run.get("preset")
    if not isinstance(preset, dict):
        raise bad("preset", "an object (the preset's settings)")
    for key, typ in _PRESET_FIELDS.items():
        value = preset.get(key)
        ok = (isinstance(value, str) and bool(value)) if typ is str else (_is_int(value) and value >= 0)
        if not ok:
            raise UserError(f"{path}: 'preset.{key}' must be {'a string' if typ is str else 'an integer >= 0'}, "
                            f"found {json.dumps(value)[:60]}")
    if not isinstance(preset.get("binary", True), bool):
        raise UserError(f"{path}: 'preset.binary' must be true or false")
    order = run.get("class_order")
    if not _int_list(order) or sorted(order) != list(range(len(order))) or not order:
        raise bad("class_order", "a permutation of 0..N-1")
    classes = run.get("classes")
    if not _int_list(classes) or not classes or classes != order[: len(classes)]:
        raise bad("classes", "the first K entries of class_order")
    shape = run.get("input_shape")
    if not _int_list(shape) or len(shape) != 3 or min(shape) < 1:
        raise bad("input_shape", "[H, W, C] with positive integers")
    if not (_is_int(run.get("vmax")) and 1 <= run["vmax"] <= 255):
        raise bad("vmax", "an integer in 1..255")
    if "untrained" in run and not isinstance(run["untrained"], bool):
        raise bad("untrained", "true or false")
    return run


def read_run_info(run_dir: str | os.PathLike) -> dict[str, Any]:
    """``run.json`` of a training run, its fields checked and its files verified against their hashes.

    No TensorFlow: the model itself is loaded by :func:`bnn_edge.train.load_run`.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: not a directory (expected the --out of `bnn-edge train`)")
    for name in (MODEL_FILE, RUN_FILE):
        if not (run_dir / name).is_file():
            raise UserError(f"{run_dir}: no {name} (expected the --out of `bnn-edge train`)")
    run_path = run_dir / RUN_FILE
    run = check_run_fields(read_json_object(run_path, "the run.json of `bnn-edge train`"), run_path)
    table = check_hash_table(run.get(FILES_KEY), run_path, FILES_KEY, (MODEL_FILE,), RUN_HINT)
    verify_files(run_dir, RUN_FILE, table, RUN_HINT)
    return run


def run_fingerprint(run_dir: str | os.PathLike) -> dict[str, str]:
    """SHA-256 of a run's ``run.json`` and ``model.keras``: an export records them (``run_sha256``)."""
    return hash_files(run_dir, (RUN_FILE, MODEL_FILE))


def check_run_unchanged(recorded: Any, run_dir: Path, manifest: Path) -> None:
    """The run ``run_dir`` is still the one exported: its hashes equal those ``manifest`` recorded."""
    table = check_hash_table(recorded, manifest, "run_sha256", (RUN_FILE, MODEL_FILE), EXPORT_HINT)
    for name, expected in table.items():
        path = run_dir / name
        actual = sha256_file(path) if path.is_file() else None
        if actual != expected:
            raise UserError(
                f"{manifest}: its run {run_dir} is not the one exported ({name} "
                + ("is missing" if actual is None else f"sha256 {_short(actual)}, recorded {_short(expected)}")
                + f": the run was re-trained, replaced or modified); {EXPORT_HINT}"
            )
