"""``bnn-edge export MODEL.keras``: bring your own larq network to the Cortex-M firmware.

A Keras model file (loaded only with :func:`bnn_edge.models.loading.load_keras_model`, which
runs no code from the file) is checked against the fully-binary contract
(:mod:`bnn_edge.contract`), then exported exactly like a training run (:mod:`bnn_edge.export`):
cut after the thermometer, gains set to 1, LCE conversion, lowering to a ``.bnnpack``, a
reference check of the bit-exact simulator against LCE's interpreter, flash/RAM accounting.

What a training run's ``run.json`` gives is derived from the model itself:

* input shape ``[H, W, C]``: the model's input (fully defined);
* ``levels``/``vmax``: the :class:`~bnn_edge.models.Thermometer` layer's configuration;
* classes: ``range(n)`` for ``n`` outputs (output row ``i`` is class ``i``);
* latent: the layer named ``latent`` when there is one (optional).

The reference images are the test split of ``--dataset`` when given (its labels must be
``0..n-1``), else random pixels in ``[0, vmax]`` (labelled with the Keras model's own
predictions, so ``run``'s accuracy is its agreement with Keras). They are stored in the export
(:data:`IMAGES_FILE`: ``images``, ``labels``, Keras ``predictions``) so that ``bnn-edge run``
needs neither the model file nor a dataset. ``export.json`` records ``"source": "model-file"``,
the file's path and SHA-256.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from bnn_edge.errors import UserError
from bnn_edge.export_dir import REFERENCE_FILE

#: Images, labels and Keras predictions a model-file export is checked on (read by ``bnn-edge run``):
#: the Keras predictions file of every export (:mod:`bnn_edge.export_dir`), with the images added.
IMAGES_FILE = REFERENCE_FILE
#: ``export.json``'s ``source`` for an export of a model file (a training run's export has none).
SOURCE = "model-file"
#: Random reference pixels are drawn with this seed.
SEED = 0


@contextlib.contextmanager
def _quiet_larq() -> Iterator[None]:
    """Silence larq's training advice (e.g. "binary weight quantizer without kernel_constraint")
    while a model is rebuilt: it does not apply to export, and errors must stay one line."""
    log = logging.getLogger("larq")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def model_run_info(model: Any, thermometer: Any, path: Path, dataset: str | None, data_dir: str | None) -> dict[str, Any]:
    """The ``run.json`` equivalent of a model file: input shape, levels, vmax, classes, latent."""
    from bnn_edge.models.build import LATENT_LAYER

    shape = tuple(model.input_shape[1:])
    if len(shape) != 3 or any(not isinstance(d, int) or d < 1 for d in shape):
        raise UserError(f"{path}: input shape {list(shape)}; the firmware takes images [H, W, C] of a fixed size "
                        "(give the Input a full shape)")
    out = tuple(model.output_shape[1:])
    if len(out) != 1 or not isinstance(out[0], int):
        raise UserError(f"{path}: output shape {list(out)}; expected one logits vector [classes]")
    names = {layer.name for layer in model.layers}
    latent = None
    if LATENT_LAYER in names:
        shp = model.get_layer(LATENT_LAYER).output.shape
        latent = int(shp[-1]) if len(shp) == 2 else None
    classes = list(range(int(out[0])))
    return {
        "dataset": dataset,
        "data_dir": data_dir,
        "input_shape": [int(d) for d in shape],
        "levels": int(thermometer.levels),
        "vmax": int(thermometer.vmax),
        "thermometer_layer": thermometer.name,
        "classes": classes,
        "class_order": classes,
        "latent": latent,
    }


def reference_images(info: dict[str, Any], samples: int) -> tuple[np.ndarray, np.ndarray | None, str]:
    """``(images uint8 [N,H,W,C], labels or None, description)``: the dataset's test split or random pixels."""
    shape = tuple(info["input_shape"])
    if info["dataset"]:
        from bnn_edge.data import load_dataset

        data = load_dataset(info["dataset"], data_dir=info["data_dir"])
        if tuple(data.x_test.shape[1:]) != shape:
            raise UserError(f"--dataset {info['dataset']}: images are {list(data.x_test.shape[1:])}, "
                            f"the model takes {list(shape)}")
        if int(data.vmax) != info["vmax"]:
            raise UserError(f"--dataset {info['dataset']}: pixels go up to {data.vmax}, the model's "
                            f"Thermometer has vmax {info['vmax']}")
        n_cls = len(info["classes"])
        keep = (data.y_test >= 0) & (data.y_test < n_cls)
        idx = np.flatnonzero(keep)[:samples]  # no copy of the whole kept split first
        x, y = data.x_test[idx], data.y_test[idx]
        if len(x) == 0:
            raise UserError(f"--dataset {info['dataset']}: no test image has a label in 0..{n_cls - 1}")
        return x.astype(np.uint8), y.astype(np.int64), f"{info['dataset']} test split"
    rng = np.random.default_rng(SEED)
    x = rng.integers(0, info["vmax"] + 1, size=(samples, *shape), dtype=np.uint8)
    return x, None, f"random pixels in [0, {info['vmax']}] (seed {SEED}; no --dataset)"


def reference_check_model(model: Any, tflite: bytes, pack: Any, x: np.ndarray, keras_logits: np.ndarray,
                          levels: int, vmax: int) -> dict[str, Any]:
    """The pack (bit-exact simulator) against LCE's interpreter, and against Keras' argmax.

    ``argmax_agreement``: share of images whose class is the reference's; ``max_abs_logit_diff``:
    ``max |pack logit * logit_scale - LCE logit|`` (LCE runs the graph with unit gains);
    ``latent_bit_agreement``: share of latent bits equal to the Keras ``latent`` layer's signs
    (None without one).
    """
    from converters.bitpack import unpack_bits
    from bnn_edge.batches import keras_predict, lce_predict, sim_batches
    from bnn_edge.export import _quiet_stderr
    from bnn_edge.models.build import LATENT_LAYER
    from bnn_edge.tfcompat import keras

    sim = sim_batches(pack, x, desc="check: simulator")  # every engine in bounded batches (bnn_edge.batches)
    sim_logits = sim["output"].reshape(len(x), -1).astype(np.int64)
    result: dict[str, Any] = {"samples": int(len(x)), "latent_bit_agreement": None, "max_abs_logit_diff": None}
    result["keras_argmax_agreement"] = float(np.mean(np.argmax(keras_logits, 1) == np.argmax(sim_logits, 1)))
    if pack.has_latent and LATENT_LAYER in {layer.name for layer in model.layers}:
        ext = keras.Model(model.input, model.get_layer(LATENT_LAYER).output)
        keras_latent = keras_predict(ext, x, desc="check: keras latent") < 0
        keras_latent = keras_latent.reshape(len(x), -1)
        lat = unpack_bits(sim["latent"].reshape(len(x), -1), keras_latent.shape[-1])
        result["latent_bit_agreement"] = float(np.mean(lat == keras_latent))
    scale = np.asarray(pack.meta.get("logit_scale") or [1.0], np.float64)
    try:
        from larq_compute_engine.tflite.python.interpreter import Interpreter

        with _quiet_stderr():  # LCE's C++ prints its own refusal before raising
            interp = Interpreter(tflite, num_threads=1)
            lce = lce_predict(interp, x, levels, vmax).reshape(-1, sim_logits.shape[1])
        result["reference"] = "lce"
        result["argmax_agreement"] = float(np.mean(np.argmax(lce, 1) == np.argmax(sim_logits, 1)))
        result["max_abs_logit_diff"] = float(np.max(np.abs(lce - sim_logits * scale)))
    except Exception as exc:  # LCE refuses some graphs (grouped bconvs) at AllocateTensors
        result["reference"] = "keras"
        result["lce_error"] = f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
        result["argmax_agreement"] = result["keras_argmax_agreement"]
    return result


def export_model_file(model_path: str | os.PathLike, out: str | os.PathLike, cpu: str = "cortex-m4",
                      flash_kb: int | None = None, ram_kb: int | None = None, samples: int = 500,
                      allow_oversize: bool = False, buffer_kb: float = 0.0, head_classes: int = 0,
                      dataset: str | None = None, data_dir: str | None = None) -> dict[str, Any]:
    """Export a Keras model file for Cortex-M; writes the export's files and returns ``export.json``'s content."""
    from bnn_edge.contract import check_contract
    from bnn_edge.codegen.model_data import c_array_files
    from bnn_edge.export import budget_report, check_export_options, convert_lce, head_reserve_bytes
    from bnn_edge.models.build import LATENT_LAYER
    from bnn_edge.models.loading import load_keras_model
    from bnn_edge.models.thermometer import thermometer_thresholds
    from bnn_edge.atomic import AtomicDir
    from bnn_edge.manifest import EXPORT_FILES, EXPORT_JSON, FILES_KEY, hash_files, sha256_file
    from converters import bnnpack as bp
    from converters.lower import Thermo, binary_weight_bits, lower
    from converters.tflite_reader import read_tflite

    path = Path(model_path)
    cpu, budget, flash_kb, ram_kb = check_export_options(cpu, flash_kb, ram_kb, buffer_kb, head_classes)
    if samples < 1:
        raise UserError(f"--samples {samples}: must be >= 1")
    digest = sha256_file(path) if path.is_file() else None
    with _quiet_larq():
        model = load_keras_model(path)  # refuses a missing file, a non-.keras file, code-carrying objects
    if sha256_file(path) != digest:
        raise UserError(f"{path}: the model file changed while it was being read; export again")
    found = check_contract(model)
    info = model_run_info(model, found.thermometer, path, dataset, data_dir)
    x, labels, source = reference_images(info, samples)  # before any output is written: a bad --dataset fails early
    h, w, c = info["input_shape"]
    levels, vmax = info["levels"], info["vmax"]
    tflite = convert_lce(model, thermometer=found.thermometer.name)
    graph = read_tflite(tflite)
    meta = {"generator": "bnn-edge export", "source": SOURCE, "model_file": path.name, "classes": info["classes"],
            "class_order": info["class_order"], "latent": int(info["latent"] or 0), "hidden": 0,
            "levels": levels, "vmax": vmax}
    thermo = Thermo(h, w, c, levels, [int(t) for t in thermometer_thresholds(levels, vmax)])
    lowered = lower(graph, thermo, LATENT_LAYER if info["latent"] else "", meta)
    pack = lowered.pack
    pack_bytes = bp.write_pack(pack)
    from bnn_edge.batches import keras_predict

    keras_logits = keras_predict(model, x, desc="keras predictions")
    predictions = np.argmax(keras_logits, axis=1).astype(np.int64)
    check = reference_check_model(model, tflite, pack, x, keras_logits, levels, vmax)
    check["inputs"] = source
    if labels is not None:
        check["keras_accuracy"] = float(np.mean(predictions == labels))
    head = head_reserve_bytes(int(info["latent"]), 0, head_classes) if head_classes and info["latent"] else 0
    acct = budget_report(len(pack_bytes), pack, budget, flash_kb, ram_kb, head, int(buffer_kb * 1024))
    report = {
        "source": SOURCE,
        "model_file": str(path.resolve()),
        "model_sha256": digest,
        "run_dir": None,
        "run": {**info, "reference_images": IMAGES_FILE,
                "reference_labels": "dataset labels" if labels is not None else "keras predictions (no --dataset)"},
        "contract": {"thermometer": found.thermometer.name, "binary_layers": found.binary_layers,
                     "batch_norms": found.batch_norms, "gains": found.gains, "output_layer": found.output_layer.name},
        "target": "cortex-m",
        "cpu": cpu,
        "ops": [op.name for op in pack.ops],
        "tflite_ops": lowered.tflite_ops,
        "binary_weight_bits": binary_weight_bits(pack),
        "pack_bytes": len(pack_bytes),
        **acct,
        "reference_check": check,
    }
    files = (*EXPORT_FILES, IMAGES_FILE)
    with AtomicDir(out, "an export directory", (*files, EXPORT_JSON, "build-*"), keep={"MODEL": model_path}) as work:
        d = work.path
        (d / "model.tflite").write_bytes(tflite)
        (d / "model.bnnpack").write_bytes(pack_bytes)
        c_src, h_src = c_array_files(pack_bytes)
        (d / "model_data.c").write_text(c_src)
        (d / "model_data.h").write_text(h_src)
        with open(d / IMAGES_FILE, "wb") as f:
            np.savez(f, images=x.astype(np.uint8), predictions=predictions.astype(np.int32),
                     labels=(predictions if labels is None else labels).astype(np.int32))
        report[FILES_KEY] = hash_files(d, files)
        (d / EXPORT_JSON).write_text(json.dumps(report, indent=2))
        work.commit()
    if not acct["fits"] and not allow_oversize:
        raise UserError(f"model does not fit {cpu} (flash {flash_kb} KB, RAM {ram_kb} KB): flash {acct['flash_bytes']} B, "
                        f"RAM {acct['breakdown']['ram']['total']} B; files written to --out anyway; "
                        "pass --allow-oversize to accept")
    return report


def read_reference_images(export_dir: str | os.PathLike, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` ``(images, labels)`` a model-file export stored (:data:`IMAGES_FILE`); the
    Keras predictions beside them are read by :func:`bnn_edge.export_dir.read_reference_predictions`."""
    path = Path(export_dir) / IMAGES_FILE
    if not path.is_file():
        raise UserError(f"{export_dir}: no {IMAGES_FILE} (an export of a model file stores its reference images there)")
    from bnn_edge.export_dir import MAX_REFERENCE_BYTES
    from bnn_edge.npzfile import read_npz

    z = read_npz(path, ("images", "labels", "predictions"), MAX_REFERENCE_BYTES)
    x, y, pred = z["images"], z["labels"], z["predictions"]
    if x.dtype != np.uint8 or x.ndim != 4 or y.shape != (len(x),) or pred.shape != (len(x),):
        raise UserError(f"{path}: images {x.dtype}{list(x.shape)}, labels {list(y.shape)}, predictions "
                        f"{list(pred.shape)}: not the reference images `bnn-edge export` writes")
    if n > len(x):
        raise UserError(f"--images {n}: the export stored {len(x)} reference images; re-export with --samples {n}")
    return x[:n], y[:n].astype(np.int64)
