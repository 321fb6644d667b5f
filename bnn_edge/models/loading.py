"""Loading a Keras model file without ever running code stored in it.

A model file from a user is data. Keras can execute code while rebuilding a model: a ``Lambda``
layer stores Python bytecode, and tf-keras' ``load_model`` silently falls back to the legacy HDF5
loader (which ignores ``safe_mode``) for anything that is not a ``.keras`` zip. So this loader:

1. accepts only the native Keras v3 zip (``config.json`` + ``model.weights.h5``), checked from the
   zip directory before anything is inflated (member sizes capped);
2. walks ``config.json`` and refuses any object that is not on an explicit allow-list: the
   project's own layers (:data:`CUSTOM_OBJECTS`), larq's layers/quantizers/constraints and plain
   Keras layers, never ``Lambda``-like layers nor ``__lambda__``/``function`` objects from another
   module;
3. calls tf-keras' v3 loader directly (``saving_lib.load_model``, no legacy fallback) with
   ``safe_mode=True``.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

from bnn_edge import jsontext
from bnn_edge.errors import UserError

#: Largest ``config.json`` accepted (bytes, uncompressed).
MAX_CONFIG_BYTES = 16 * 1024 * 1024
#: Largest weights file accepted (bytes, uncompressed): far above any Cortex-M model.
MAX_WEIGHTS_BYTES = 2 * 1024 * 1024 * 1024
#: Members a native ``.keras`` zip may hold.
_ALLOWED_MEMBERS = {"config.json", "metadata.json", "model.weights.h5"}
#: Keras classes that carry code (bytecode or an arbitrary TF op) and are never loaded.
DENIED_CLASSES = frozenset({"Lambda", "TFOpLambda", "SlicingOpLambda", "__lambda__", "__typespec"})
#: Top-level packages whose classes may be rebuilt (the first part of an object's ``module``).
_ALLOWED_PACKAGES = frozenset({"keras", "tf_keras", "larq"})


def _project_objects() -> dict[str, Any]:
    from bnn_edge.models import CUSTOM_OBJECTS

    return dict(CUSTOM_OBJECTS)


def check_keras_zip(path: Path) -> dict[str, Any]:
    """Check that ``path`` is a native Keras v3 zip of sane size; return its parsed ``config.json``.

    Nothing is decompressed before the declared sizes in the zip directory have been checked.
    """
    if not path.is_file():
        raise UserError(f"{path}: no such model file")
    if not zipfile.is_zipfile(path):
        raise UserError(f"{path}: not a native Keras .keras file (a zip archive); legacy HDF5/SavedModel "
                        "files are refused because loading them can run code stored in the file")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = {i.filename: i for i in zf.infolist()}
            extra = sorted(set(infos) - _ALLOWED_MEMBERS)
            if extra:
                raise UserError(f"{path}: unexpected member {extra[0]!r} in the .keras archive "
                                f"(expected only {', '.join(sorted(_ALLOWED_MEMBERS))})")
            for name in ("config.json", "model.weights.h5"):
                if name not in infos:
                    raise UserError(f"{path}: the .keras archive has no {name}")
            if infos["config.json"].file_size > MAX_CONFIG_BYTES:
                raise UserError(f"{path}: config.json declares {infos['config.json'].file_size} bytes "
                                f"(at most {MAX_CONFIG_BYTES})")
            if infos["model.weights.h5"].file_size > MAX_WEIGHTS_BYTES:
                raise UserError(f"{path}: model.weights.h5 declares {infos['model.weights.h5'].file_size} bytes "
                                f"(at most {MAX_WEIGHTS_BYTES})")
            raw = zf.read("config.json")
    except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
        raise UserError(f"{path}: unreadable .keras archive ({exc})") from None
    try:
        config = jsontext.parse(raw)
    except jsontext.JSONTextError as exc:
        raise UserError(f"{path}: config.json is not valid JSON ({exc})") from None
    if not isinstance(config, dict):
        raise UserError(f"{path}: config.json is not a JSON object")
    return config


def check_config_objects(config: Any, path: Path, allowed_custom: set[str]) -> None:
    """Refuse ``config`` if any serialized object is not on the allow-list.

    Every dict with a ``class_name`` is an object Keras would rebuild. It is accepted when it is not
    a code-carrying class (:data:`DENIED_CLASSES`) and either comes from Keras/larq (its ``module``)
    or is one of ``allowed_custom`` (the project's registered layers). ``function`` objects
    (serialized Python callables) are accepted only from Keras/larq modules.
    """
    stack: list[Any] = [config]
    while stack:
        obj = stack.pop()
        if isinstance(obj, list):
            stack.extend(obj)
            continue
        if not isinstance(obj, dict):
            continue
        stack.extend(obj.values())
        if "class_name" not in obj:
            continue
        cls = obj.get("class_name")
        module = obj.get("module")
        registered = obj.get("registered_name")
        if not isinstance(cls, str) or (module is not None and not isinstance(module, str)):
            raise UserError(f"{path}: config.json has a malformed object ({str(obj)[:80]})")
        if cls in DENIED_CLASSES:
            raise UserError(f"{path}: refused: layer or object of class {cls!r} can carry code "
                            "(only larq/Keras layers without code and the project's own layers are loaded)")
        name = registered.split(">")[-1] if isinstance(registered, str) else cls
        if module and module.startswith("bnn_edge."):
            if name not in allowed_custom:
                raise UserError(f"{path}: refused: unknown project class {cls!r} (module {module})")
            continue
        if module is None:
            if cls == "function":
                raise UserError(f"{path}: refused: a serialized function without a Keras/larq module")
            continue  # a built-in referenced by name, resolved by Keras' own registry
        if module.split(".")[0] not in _ALLOWED_PACKAGES:
            raise UserError(f"{path}: refused: object {cls!r} from module {module!r} "
                            "(only Keras, larq and bnn_edge classes are loaded)")


def load_keras_model(path: str | os.PathLike, custom_objects: dict[str, Any] | None = None) -> Any:
    """Load a model from a native ``.keras`` zip without executing code from the file.

    ``custom_objects`` defaults to the project's own layers (:data:`bnn_edge.models.CUSTOM_OBJECTS`);
    larq registers its classes with Keras on import. The model is returned uncompiled.
    """
    path = Path(path)
    objects = _project_objects() if custom_objects is None else dict(custom_objects)
    config = check_keras_zip(path)
    check_config_objects(config, path, set(objects))
    from bnn_edge.tfcompat import lq  # noqa: F401  (registers larq's classes)
    from tf_keras.src.saving import saving_lib

    try:
        return saving_lib.load_model(str(path), custom_objects=objects, compile=False, safe_mode=True)
    except UserError:
        raise
    except Exception as exc:  # Keras raises many types for a bad file; the user gets one line
        raise UserError(f"{path}: cannot load the Keras model ({exc.__class__.__name__}: "
                        f"{' '.join(str(exc).split())[:200]})") from None
