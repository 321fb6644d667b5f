"""Reading an export directory (the ``--out`` of ``bnn-edge export``), without TensorFlow.

Every command that consumes an export (``run``, ``flash``, ``simulate``) goes through
:func:`read_export_dir`, so a missing or damaged piece gives the same one-line error everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bnn_edge.errors import UserError
from bnn_edge.manifest import (EXPORT_FILES, EXPORT_HINT, FILES_KEY, check_hash_table, check_run_unchanged, read_json_object,
                               read_run_info, verify_files)
from converters import bnnpack as bp

PACK_FILE = "model.bnnpack"
EXPORT_JSON = "export.json"


@dataclass
class ExportDir:
    path: Path
    pack_bytes: bytes
    pack: bp.Pack
    info: dict[str, Any]  # export.json
    run_dir: Path
    run: dict[str, Any]  # the training run's run.json


def read_export_dir(export_dir: str | Path) -> ExportDir:
    """The pack (validated), ``export.json`` and the training run's ``run.json`` it points to.

    Every file ``export.json`` lists must have its recorded SHA-256, and the run must still be the
    one exported (its ``run.json`` and ``model.keras`` hashes, ``run_sha256``): a half-written or
    modified export, or one whose run was re-trained since, is one clear error.
    """
    export_dir = Path(export_dir)
    if not export_dir.is_dir():
        raise UserError(f"{export_dir}: not a directory (expected the --out of `bnn-edge export`)")
    pack_path, meta_path = export_dir / PACK_FILE, export_dir / EXPORT_JSON
    for p in (pack_path, meta_path):
        if not p.is_file():
            raise UserError(f"{export_dir}: no {p.name} (expected the --out of `bnn-edge export`)")
    info = read_json_object(meta_path, "an export.json of `bnn-edge export`")
    run_dir = info.get("run_dir")
    if not run_dir:
        raise UserError(f"{meta_path}: no run_dir, not an export.json of `bnn-edge export` (re-export the run)")
    if not isinstance(run_dir, str):
        raise UserError(f"{meta_path}: 'run_dir' must be a string (the training run's directory); {EXPORT_HINT}")
    table = check_hash_table(info.get(FILES_KEY), meta_path, FILES_KEY, EXPORT_FILES, EXPORT_HINT)
    pack_bytes = pack_path.read_bytes()
    verify_files(export_dir, EXPORT_JSON, table, EXPORT_HINT, contents={PACK_FILE: pack_bytes})
    try:
        pack = bp.read_pack(pack_bytes)
    except bp.PackError as exc:
        raise UserError(f"{pack_path}: {exc}") from None
    if not (Path(run_dir) / "run.json").is_file():
        raise UserError(f"{meta_path}: its run {run_dir} has no run.json (the training run was moved or deleted?)")
    check_run_unchanged(info.get("run_sha256"), Path(run_dir), meta_path)
    run = read_run_info(run_dir)
    return ExportDir(export_dir, pack_bytes, pack, info, Path(run_dir), run)
