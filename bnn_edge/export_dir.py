"""Reading an export directory (the ``--out`` of ``bnn-edge export``), without TensorFlow.

Every command that consumes an export (``run``, ``flash``, ``simulate``) goes through
:func:`read_export_dir`, so a missing or damaged piece gives the same one-line error everywhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bnn_edge.errors import UserError
from converters import bnnpack as bp

PACK_FILE = "model.bnnpack"
EXPORT_JSON = "export.json"


@dataclass
class ExportDir:
    path: Path
    pack_bytes: bytes
    pack: bp.Pack
    info: dict[str, Any]  # export.json
    run_dir: Path | None  # None for an export of a model file
    run: dict[str, Any]  # the training run's run.json (for a model file: export.json's "run")


def read_export_dir(export_dir: str | Path) -> ExportDir:
    """The pack (validated), ``export.json`` and the training run's ``run.json`` it points to
    (for an export of a model file, ``source: model-file``: the ``run`` description in export.json)."""
    export_dir = Path(export_dir)
    if not export_dir.is_dir():
        raise UserError(f"{export_dir}: not a directory (expected the --out of `bnn-edge export`)")
    pack_path, meta_path = export_dir / PACK_FILE, export_dir / EXPORT_JSON
    for p in (pack_path, meta_path):
        if not p.is_file():
            raise UserError(f"{export_dir}: no {p.name} (expected the --out of `bnn-edge export`)")
    pack_bytes = pack_path.read_bytes()
    try:
        pack = bp.read_pack(pack_bytes)
    except bp.PackError as exc:
        raise UserError(f"{pack_path}: {exc}") from None
    try:
        info = json.loads(meta_path.read_text())
    except json.JSONDecodeError as exc:
        raise UserError(f"{meta_path}: not valid JSON, not an export.json of `bnn-edge export` ({exc})") from None
    if isinstance(info, dict) and info.get("source") == "model-file":  # `bnn-edge export MODEL.keras`
        run = info.get("run")
        if not isinstance(run, dict) or not isinstance(run.get("classes"), list):
            raise UserError(f"{meta_path}: no 'run' description of the model file (re-export the model)")
        return ExportDir(export_dir, pack_bytes, pack, info, None, run)
    run_dir = info.get("run_dir") if isinstance(info, dict) else None
    if not run_dir:
        raise UserError(f"{meta_path}: no run_dir, not an export.json of `bnn-edge export` (re-export the run)")
    run_path = Path(run_dir) / "run.json"
    if not run_path.is_file():
        raise UserError(f"{meta_path}: its run {run_dir} has no run.json (the training run was moved or deleted?)")
    try:
        run = json.loads(run_path.read_text())
    except json.JSONDecodeError as exc:
        raise UserError(f"{run_path}: not valid JSON ({exc})") from None
    for key in ("dataset", "class_order", "classes"):
        if key not in run:
            raise UserError(f"{run_path}: no '{key}' (not a `bnn-edge train` run?)")
    return ExportDir(export_dir, pack_bytes, pack, info, Path(run_dir), run)
