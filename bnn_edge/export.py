"""``bnn-edge export --target cortex-m``: Keras run -> LCE flatbuffer -> firmware model pack.

Steps: (1) cut the trained model after its thermometer (the firmware encodes pixels itself) and
set every gain to 1 (signs are unchanged, pre-activations become exact integers); (2) convert
with Larq Compute Engine to a bit-packed TFLite flatbuffer; (3) lower that flatbuffer to a
``.bnnpack`` (converters/lower.py) with an arena planned for it; (4) check the pack, run by the
bit-exact simulator, against the LCE interpreter (or Keras where LCE cannot run the graph);
(5) account flash and RAM against the CPU's budget.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bnn_edge.atomic import AtomicDir
from bnn_edge.batches import keras_predict
from bnn_edge.codegen.model_data import c_array_files
from bnn_edge.device.memory import STACK_RESERVE_BYTES
from bnn_edge.device.targets import budget_targets, lookup
from bnn_edge.errors import UserError
from bnn_edge.export_dir import REFERENCE_FILE, write_reference_predictions
from bnn_edge.manifest import EXPORT_FILES, EXPORT_JSON, FILES_KEY, MODEL_FILE, hash_files, run_fingerprint
from bnn_edge.models import extractor_of, unit_gains
from bnn_edge.models.build import LATENT_LAYER
from bnn_edge.models.thermometer import thermometer_thresholds
from bnn_edge.tfcompat import keras
from converters import bnnpack as bp
from converters.lower import Thermo, binary_weight_bits, lower
from converters.tflite_reader import read_tflite


@dataclass(frozen=True)
class CpuBudget:
    """A Cortex-M class with a typical part's memory. ``code_bytes``: runtime code estimate."""

    name: str
    flash_kb: int
    ram_kb: int
    code_bytes: int
    example: str


#: the ``--cpu`` budgets: the rows of the target table (:mod:`bnn_edge.device.targets`) that have one
CPUS: dict[str, CpuBudget] = {
    t.cpu: CpuBudget(t.cpu, t.flash_bytes // 1024, t.ram_bytes // 1024, t.code_bytes, t.example)
    for t in budget_targets()
}

#: what an export directory holds: the files, and the build directories of `run`/`simulate`/`flash`
EXPORT_DIR_NAMES = (*EXPORT_FILES, REFERENCE_FILE, EXPORT_JSON, "build-*")


def encoded_submodel(model: keras.Model, thermometer: str = "thermometer") -> keras.Model:
    """The model from the thermometer's ±1 output to the logits (layers re-applied, weights shared).

    ``thermometer``: the name of the :class:`Thermometer` layer to cut after.
    """
    try:
        therm = model.get_layer(thermometer)
    except ValueError:
        raise UserError("the model has no 'thermometer' layer: only fully-binary bnn-edge models export to Cortex-M "
                        "(the float '-fp' baselines do not)") from None
    new_in = keras.Input(therm.output.shape[1:], name="encoded")
    mapping: dict[int, Any] = {id(therm.output): new_in}
    for layer in model.layers:
        if layer is therm:
            continue
        ins = layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]
        if not all(id(t) in mapping for t in ins):
            continue  # before the thermometer (pixels, augmentation)
        args = [mapping[id(t)] for t in ins]
        out = layer(args if isinstance(layer.input, (list, tuple)) else args[0])
        mapping[id(layer.output)] = out
    if id(model.output) not in mapping:
        raise UserError("cannot cut the model after its thermometer (unexpected graph)")
    return keras.Model(new_in, mapping[id(model.output)], name="encoded_" + model.name)


def convert_lce(model: keras.Model, thermometer: str = "thermometer") -> bytes:
    """LCE conversion of ``model`` with unit gains (bit-packed activations, int32 thresholds)."""
    import larq_compute_engine as lce

    sub = encoded_submodel(model, thermometer)
    with unit_gains(sub):
        return bytes(lce.convert_keras_model(sub))


def _reference_images(run: dict[str, Any], samples: int, seed: int = 0) -> tuple[np.ndarray, str]:
    from bnn_edge.data import load_run_dataset

    try:
        data = load_run_dataset(run)
        x = data.x_test[:samples]
        if tuple(x.shape[1:]) == tuple(run["input_shape"]):
            return x, f"{run['dataset']} test split"
    except UserError:
        pass
    rng = np.random.default_rng(seed)
    shape = (samples, *run["input_shape"])
    return rng.integers(0, run["vmax"] + 1, size=shape, dtype=np.uint8), "random pixels (dataset not available)"


def reference_check(model: keras.Model, tflite: bytes, pack: bp.Pack, x: np.ndarray, levels: int, vmax: int) -> dict[str, Any]:
    """Compare the pack (simulator, bit-exact with the firmware) with LCE's interpreter or Keras.

    ``argmax_agreement``: share of images whose predicted class is the same as the reference's;
    ``latent_bit_agreement``: share of latent bits equal to the Keras extractor's signs;
    ``max_abs_logit_diff``: max |pack logit * logit scale - reference logit|.
    """
    from converters.bitpack import unpack_bits
    from bnn_edge.batches import keras_predict, lce_predict, sim_batches

    x = np.asarray(x).astype(np.uint8, copy=False)
    sim = sim_batches(pack, x, desc="check: simulator")  # every engine in bounded batches (bnn_edge.batches)
    sim_logits = sim["output"].reshape(len(x), -1).astype(np.int64)
    keras_logits = keras_predict(model, x, desc="check: keras")
    keras_latent = keras_predict(extractor_of(model), x, desc="check: keras latent") < 0
    result: dict[str, Any] = {"samples": int(len(x))}
    n_latent = keras_latent.shape[-1]
    if pack.has_latent:
        lat = unpack_bits(sim["latent"].reshape(len(x), -1), n_latent)
        result["latent_bit_agreement"] = float(np.mean(lat == keras_latent))
    else:
        result["latent_bit_agreement"] = None
    scale = np.asarray(pack.meta.get("logit_scale") or [1.0], np.float64)
    try:
        from larq_compute_engine.tflite.python.interpreter import Interpreter

        with _quiet_stderr():  # LCE's C++ prints its own refusal before raising
            interp = Interpreter(tflite, num_threads=1)
            lce_logits = lce_predict(interp, x, levels, vmax).reshape(-1, sim_logits.shape[1])
        result["reference"] = "lce"
        result["argmax_agreement"] = float(np.mean(np.argmax(lce_logits, 1) == np.argmax(sim_logits, 1)))
        result["max_abs_logit_diff"] = float(np.max(np.abs(lce_logits - sim_logits * scale)))
        result["keras_argmax_agreement"] = float(np.mean(np.argmax(keras_logits, 1) == np.argmax(sim_logits, 1)))
    except Exception as exc:  # LCE refuses grouped bconvs at AllocateTensors
        from bnn_edge.models import Gain
        from bnn_edge.models.build import LOGITS_LAYER

        # the Keras logits are the integer ones times the output Gain (1/sqrt(5 fan_in N_c) times the
        # preset's logit_scale in bnn-edge's head): read it off the model rather than recompute it
        out = next((layer for layer in model.layers if layer.name == LOGITS_LAYER), None)
        gain = out.gain if pack.meta.get("hidden") and isinstance(out, Gain) else None
        result["reference"] = "keras"
        result["lce_error"] = f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
        result["argmax_agreement"] = float(np.mean(np.argmax(keras_logits, 1) == np.argmax(sim_logits, 1)))
        if gain is not None:
            result["max_abs_logit_diff"] = float(np.max(np.abs(keras_logits - sim_logits * scale * gain)))
    if "max_abs_logit_diff" not in result:
        result["max_abs_logit_diff"] = None
    return result


@contextlib.contextmanager
def _quiet_stderr():
    """Silence file descriptor 2 (C/C++ libraries write there directly)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def budget_report(pack_bytes: int, pack: bp.Pack, cpu: CpuBudget, flash_kb: int, ram_kb: int,
                  head_bytes: int, buffer_bytes: int) -> dict[str, Any]:
    """Flash and RAM accounting. Flash: pack + runtime code. RAM: arena + scratch + head + replay + stack."""
    flash = pack_bytes + cpu.code_bytes
    ram_inference = pack.arena_bytes + pack.scratch_bytes
    ram_total = ram_inference + head_bytes + buffer_bytes + STACK_RESERVE_BYTES
    return {
        "flash_bytes": flash,
        "ram_bytes": ram_inference,
        "budget": {"cpu": cpu.name, "flash_bytes": flash_kb * 1024, "ram_bytes": ram_kb * 1024},
        "breakdown": {
            "flash": {"model_pack": pack_bytes, "code_estimate": cpu.code_bytes},
            "ram": {"inference_arena": pack.arena_bytes, "inference_scratch": pack.scratch_bytes, "head_reserve": head_bytes,
                    "replay_buffer_reserve": buffer_bytes, "stack_reserve": STACK_RESERVE_BYTES, "total": ram_total},
        },
        "fits": flash <= flash_kb * 1024 and ram_total <= ram_kb * 1024,
    }


def head_reserve_bytes(latent: int, hidden: int, max_classes: int) -> int:
    """RAM of the on-device incremental head without its replay buffer (``bnn_head_memory_required``).

    Taken from the head's own accounting (:func:`bnn_edge.sim.head.head_memory`, equal to the C
    function), with the buffer's payload left out: the replay reserve is ``--buffer-kb``.
    """
    from bnn_edge.sim.head import HeadConfig, head_memory

    one_sample = latent // 8 + 1
    mem = head_memory(HeadConfig(n_latent=latent, n_hidden=hidden, max_classes=max_classes, buffer_bytes=one_sample))
    return mem["arena"] - mem["buffer"]


#: the largest memory budget an option may name: a Cortex-M addresses 4 GiB
MAX_BUDGET_KB = 4 * 1024 * 1024


def check_export_options(cpu: str, flash_kb: int | None, ram_kb: int | None, buffer_kb: float,
                         head_classes: int) -> tuple[str, CpuBudget, int, int]:
    """Validate the budget options of ``export`` (any target spelling of the CPU: ``m4``,
    ``qemu-m4`` -> ``cortex-m4``); returns ``(cpu, budget, flash_kb, ram_kb)`` with the defaults filled."""
    t = lookup(cpu)
    cpu = t.cpu if t is not None and t.cpu in CPUS else cpu
    if cpu not in CPUS:
        raise UserError(f"--cpu {cpu}: expected one of {', '.join(CPUS)}")
    budget = CPUS[cpu]
    flash_kb = budget.flash_kb if flash_kb is None else flash_kb
    ram_kb = budget.ram_kb if ram_kb is None else ram_kb
    for name, kb in (("--flash-kb", flash_kb), ("--ram-kb", ram_kb)):
        if not 0 < kb <= MAX_BUDGET_KB:
            raise UserError(f"{name} {kb}: must be in 1..{MAX_BUDGET_KB} (KiB; {MAX_BUDGET_KB} = 4 GiB, a 32-bit "
                            f"address space)")
    if not (0 <= buffer_kb <= MAX_BUDGET_KB and math.isfinite(buffer_kb)):
        raise UserError(f"--buffer-kb {buffer_kb:g}: must be a number in 0..{MAX_BUDGET_KB} (KiB)")
    from bnn_edge.sim.head import MAX_CLASSES_CEILING

    if not 0 <= head_classes <= MAX_CLASSES_CEILING:
        raise UserError(f"--head-classes {head_classes}: must be in 0..{MAX_CLASSES_CEILING} (0: no head reserved)")
    return cpu, budget, flash_kb, ram_kb


def export_run(run_dir: str | os.PathLike, out: str | os.PathLike, cpu: str = "cortex-m4", flash_kb: int | None = None,
               ram_kb: int | None = None, samples: int = 500, allow_oversize: bool = False, buffer_kb: float = 0.0,
               head_classes: int = 0) -> dict[str, Any]:
    """Export a training run for Cortex-M; writes the export's files (and the Keras
    predictions on the test images, for ``bnn-edge run``) and returns ``export.json``'s content."""
    from bnn_edge.train import load_run

    cpu, budget, flash_kb, ram_kb = check_export_options(cpu, flash_kb, ram_kb, buffer_kb, head_classes)
    with AtomicDir(out, "an export directory", EXPORT_DIR_NAMES, keep={"RUN_DIR": run_dir}) as work:
        model, run = load_run(run_dir)
        fingerprint = run_fingerprint(run_dir)  # the run this export is made from, recorded in export.json
        if fingerprint[MODEL_FILE] != run[FILES_KEY][MODEL_FILE]:
            raise UserError(f"{run_dir}: its model.keras changed while it was being read (re-trained?); export again")
        acct = _export_into(work.path, model, run, Path(run_dir), fingerprint, cpu, budget, flash_kb, ram_kb, samples,
                            buffer_kb, head_classes)
        work.commit()
        if not acct["fits"] and not allow_oversize:
            b = acct["breakdown"]
            raise UserError(
                f"model does not fit {cpu} (flash {flash_kb} KB, RAM {ram_kb} KB): flash {acct['flash_bytes']} B "
                f"(pack {b['flash']['model_pack']} + code {b['flash']['code_estimate']}), RAM {b['ram']['total']} B "
                f"(arena {b['ram']['inference_arena']} + scratch {b['ram']['inference_scratch']} + head {b['ram']['head_reserve']} "
                f"+ replay {b['ram']['replay_buffer_reserve']} + stack {b['ram']['stack_reserve']}); "
                "files written to --out anyway; pass --allow-oversize to accept"
            )
    return acct


def _export_into(out_dir: Path, model: keras.Model, run: dict[str, Any], run_dir: Path, fingerprint: dict[str, str],
                 cpu: str, budget: CpuBudget, flash_kb: int, ram_kb: int, samples: int, buffer_kb: float,
                 head_classes: int) -> dict[str, Any]:
    """The body of :func:`export_run`, writing into ``out_dir`` (the temporary directory of the output)."""
    preset = run["preset"]
    if not preset.get("binary", True):
        raise UserError(f"{run_dir}: preset '{preset['name']}' is a float baseline; only fully-binary models export to Cortex-M")
    levels, vmax = int(preset["levels"]), int(run["vmax"])
    h, w, c = run["input_shape"]
    tflite = convert_lce(model)
    graph = read_tflite(tflite)
    if "LceBconv2d" not in graph.op_names():
        raise UserError("LCE produced no LceBconv2d: the model has no binary convolution")
    meta = {
        "generator": "bnn-edge export",
        "preset": preset["name"],
        "dataset": run["dataset"],
        "classes": run["classes"],
        "class_order": run["class_order"],
        "latent": int(preset["latent"]),
        "hidden": int(preset["hidden"]),
        "levels": levels,
        "vmax": vmax,
    }
    lowered = lower(graph, Thermo(h, w, c, levels, [int(t) for t in thermometer_thresholds(levels, vmax)]), LATENT_LAYER, meta)
    pack = lowered.pack
    pack_bytes = bp.write_pack(pack)
    x, source = _reference_images(run, samples)
    check = reference_check(model, tflite, pack, x, levels, vmax)
    check["inputs"] = source
    head = head_reserve_bytes(int(preset["latent"]), int(preset["hidden"]), head_classes) if head_classes else 0
    acct = budget_report(len(pack_bytes), pack, budget, flash_kb, ram_kb, head, int(buffer_kb * 1024))
    (out_dir / "model.tflite").write_bytes(tflite)
    (out_dir / "model.bnnpack").write_bytes(pack_bytes)
    c_src, h_src = c_array_files(pack_bytes)
    (out_dir / "model_data.c").write_text(c_src)
    (out_dir / "model_data.h").write_text(h_src)
    reference = write_reference_predictions(out_dir, run, lambda xs: keras_predict(model, xs, desc="keras test predictions"))
    report = {
        "run_dir": str(run_dir.resolve()),
        "run_sha256": fingerprint,
        "target": "cortex-m",
        "cpu": cpu,
        "ops": [op.name for op in pack.ops],
        "tflite_ops": lowered.tflite_ops,
        "binary_weight_bits": binary_weight_bits(pack),
        "pack_bytes": len(pack_bytes),
        **acct,
        "reference_check": check,
        FILES_KEY: hash_files(out_dir, (*EXPORT_FILES, *((REFERENCE_FILE,) if reference else ()))),
    }
    (out_dir / EXPORT_JSON).write_text(json.dumps(report, indent=2))
    return report
