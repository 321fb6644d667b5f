"""A sweep of the command line with bad input: missing and malformed datasets, unknown presets,
negative budgets, files of the wrong kind given to each command, unwritable outputs.

Every case must exit non-zero with ONE clear line on stderr -- ``error: ...`` from the command, or
Click's own ``Error: ...`` for a value its option type refuses (Click adds its two-line ``Usage:``
/ ``Try ... --help`` preamble there, and lists a Choice's values on indented lines) -- naming what
is wrong, and never a traceback.

The cases run in process (``click.testing.CliRunner``, one TensorFlow import for all of them,
each under a time limit so that a check that comes too late cannot start a long training); a few
run as real subprocesses to see exactly what a user sees on stderr. Cases of a command that is not
registered yet (``bnn-edge --help`` does not list it) are skipped, so the sweep grows by itself as
commands land.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from converters import bnnpack as bp

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "firmware" / "fuzz" / "corpus"
CASE_SECONDS = 120
CLICK_PREAMBLE = ("Usage: ", "Try '")


def registered_commands() -> set[str]:
    from bnn_edge.cli import main

    return set(main.commands)


@pytest.fixture(scope="module")
def bad(tmp_path_factory) -> Path:
    """Files and directories of every wrong kind, plus a (fake) run and export that are fine."""
    d = tmp_path_factory.mktemp("bad_input")
    (d / "text.txt").write_text("hello\n")
    (d / "emptydir").mkdir()
    shutil.copy(CORPUS / "tflite" / "small.tflite", d / "model.tflite")
    shutil.copy(CORPUS / "pack" / "small_model.bnnpack", d / "model.bnnpack")
    x = np.zeros((20, 8, 8), np.uint8)
    np.savez(d / "good.npz", x_train=x, y_train=np.arange(20) % 10, x_test=x[:10], y_test=np.arange(10))
    np.savez(d / "nokeys.npz", a=np.zeros(3))
    np.savez(d / "mismatch.npz", x_train=x, y_train=np.arange(7), x_test=x[:10], y_test=np.arange(10))
    (d / "notzip.npz").write_text("not a zip\n")
    # a run directory of the wrong content
    (d / "run_badjson").mkdir()
    (d / "run_badjson" / "run.json").write_text("{")
    (d / "run_badjson" / "model.keras").write_text("junk")
    # a genuine (untrained, digits) run, and an export-like directory that points at it
    from bnn_edge.train import init_run

    init_run("tiny", d / "run", dataset="digits")
    genuine = json.loads((d / "run" / "run.json").read_text())
    pack = (CORPUS / "pack" / "small_model.bnnpack").read_bytes()
    _fake_export(d / "export", pack, d / "run")
    for name, meta in (("export_badjson", "{"), ("export_norundir", "{}")):
        (d / name).mkdir()
        shutil.copy(CORPUS / "pack" / "small_model.bnnpack", d / name / "model.bnnpack")
        (d / name / "export.json").write_text(meta)
    _fake_export(d / "export_badpack", pack[:100], d / "run")  # hashes right, pack truncated

    # item 2 of issue 15: half-written, modified or stale directories
    _fake_export(d / "export_nohashes", pack, d / "run", files=None, run_sha256=None)  # an older bnn-edge's export
    _fake_export(d / "export_halfwritten", pack, d / "run")
    (d / "export_halfwritten" / "model.bnnpack").write_bytes(pack[:-4] + b"\0\0\0\0")  # rewritten, export.json not
    _fake_export(d / "export_missingfile", pack, d / "run")
    (d / "export_missingfile" / "model_data.c").unlink()
    _run_dir(d / "run_retrained", genuine, (d / "run" / "model.keras").read_bytes())
    _fake_export(d / "export_stale", pack, d / "run_retrained")
    _run_dir(d / "run_retrained", genuine, (d / "run" / "model.keras").read_bytes() + b"\0")  # re-trained since
    _run_dir(d / "run_badmodel", genuine, b"junk")  # model.keras not the one run.json recorded
    (d / "run_badmodel" / "model.keras").write_text("other junk")
    _run_dir(d / "run_junkmodel", genuine, b"junk")  # recorded, but not a Keras model
    _run_dir(d / "run_nohashes", {k: v for k, v in genuine.items() if k != "files"}, (d / "run" / "model.keras").read_bytes(),
             hashes=False)

    # item 6: wrong-typed fields, odd labels, odd models
    _fake_export(d / "export_rundir_int", pack, d / "run", run_dir=5)
    _fake_export(d / "export_rundir_list", pack, d / "run", run_dir=["a"])
    for name, change in (("run_order_str", {"class_order": "0123456789"}), ("run_order_dup", {"class_order": [0] * 10}),
                         ("run_shape_str", {"input_shape": "8,8,1"}), ("run_levels_str", {"preset": {**genuine["preset"], "levels": "16"}}),
                         ("run_dataset_int", {"dataset": 7}), ("run_is_list", None)):
        _run_dir(d / name, [genuine] if change is None else {**genuine, **change}, (d / "run" / "model.keras").read_bytes())
    _fake_export(d / "export_badrun", pack, d / "run_order_str")
    for name, text in (("run_deep", "[" * 100_000 + "]" * 100_000),  # past Python's recursion limit
                       ("run_dupkey", '{"dataset": "digits", "dataset": "cifar10"}')):
        (d / name).mkdir()
        (d / name / "run.json").write_text(text)
        (d / name / "model.keras").write_bytes((d / "run" / "model.keras").read_bytes())
    spatial = bp.read_pack(pack)
    spatial.latent_tensor = 3  # a 2x2x32 tensor: valid as a pack, not a flat latent
    _fake_export(d / "export_spatial", bp.write_pack(spatial), d / "run")
    _nolatent_run(d / "run_nolatent", genuine)

    x2 = np.zeros((20, 8, 8), np.uint8)
    y2 = np.arange(20) % 10
    np.savez(d / "one_per_class.npz", x_train=x2[:10], y_train=np.arange(10), x_test=x2[:10], y_test=np.arange(10))
    np.savez(d / "label_1e6.npz", x_train=x2, y_train=np.where(y2 == 9, 10**6, y2), x_test=x2[:10], y_test=np.arange(10))
    np.savez(d / "label_2p40.npz", x_train=x2, y_train=y2, x_test=x2[:10], y_test=np.where(np.arange(10) == 3, 2**40, 3))
    np.savez(d / "label_u64.npz", x_train=x2, y_train=y2.astype(np.uint64) + np.uint64(2**63), x_test=x2[:10],
             y_test=np.arange(10, dtype=np.uint64))
    np.savez(d / "sparse.npz", x_train=x2, y_train=np.where(y2 == 9, 40, y2), x_test=x2[:10], y_test=np.arange(10))
    np.savez(d / "stray_test.npz", x_train=x2, y_train=y2, x_test=x2[:10], y_test=np.where(np.arange(10) == 5, 12, 5))
    _inflated_npz(d / "inflated.npz")

    # session 9's red-team round: shapes, dtypes, scales and files that once gave a traceback,
    # a hang or a silently wrong result
    np.savez(d / "zero_width.npz", x_train=np.zeros((20, 8, 0), np.uint8), y_train=y2,
             x_test=np.zeros((10, 8, 0), np.uint8), y_test=np.arange(10))
    np.savez(d / "timedelta.npz", x_train=x2, y_train=y2.astype("timedelta64[s]"), x_test=x2[:10], y_test=np.arange(10))
    np.savez(d / "one_class.npz", x_train=x2, y_train=np.zeros(20, int), x_test=x2[:10], y_test=np.zeros(10, int))
    np.savez(d / "mixed_scale.npz", x_train=np.full((20, 8, 8), 0.5, np.float32), y_train=y2,
             x_test=np.full((10, 8, 8), 8, np.uint8), y_test=np.arange(10))
    (d / "huge_int.json").write_text('{"name": "x", "latent": 1' + "0" * 5000 + "}")
    (d / "huge_int.toml").write_text("name = 'x'\nlatent = 1" + "0" * 5000 + "\n")
    from PIL import Image

    for case in ("broken_link", "link_loop", "fifo"):
        for c in ("a", "b"):
            (d / case / c).mkdir(parents=True)
            for i in range(3):
                Image.fromarray(np.zeros((8, 8), np.uint8)).save(d / case / c / f"{i}.png")
    os.symlink("nowhere.png", d / "broken_link" / "a" / "x.png")
    os.symlink("x.png", d / "link_loop" / "a" / "x.png")
    os.mkfifo(d / "fifo" / "a" / "x.png")  # Pillow would wait on it forever
    edited = {**genuine, "preset": {**genuine["preset"], "latent": 2 * genuine["preset"]["latent"]},
              "classes": [0, 1, 2, 3, 4], "pretrain_classes": 5}
    _run_dir(d / "run_other_network", edited, (d / "run" / "model.keras").read_bytes())
    (d / "cil_out" / "pretrain").mkdir(parents=True)
    (d / "userproj").mkdir()
    (d / "userproj" / "model_data.c").write_text("/* the user's own file */\n")
    return d


def _fake_export(path: Path, pack: bytes, run: Path, **meta) -> None:
    """An export directory as `bnn-edge export` writes it (files hashed), around any pack bytes."""
    from bnn_edge.export import c_array_files
    from bnn_edge.manifest import EXPORT_FILES, hash_files, run_fingerprint

    path.mkdir()
    (path / "model.bnnpack").write_bytes(pack)
    shutil.copy(CORPUS / "tflite" / "small.tflite", path / "model.tflite")
    c, h = c_array_files(pack)
    (path / "model_data.c").write_text(c)
    (path / "model_data.h").write_text(h)
    info = {"run_dir": str(run), "run_sha256": run_fingerprint(run), "files": hash_files(path, EXPORT_FILES), **meta}
    (path / "export.json").write_text(json.dumps({k: v for k, v in info.items() if v is not None}))


def _run_dir(path: Path, run, model: bytes, hashes: bool = True) -> None:
    """A run directory holding ``model`` as model.keras and ``run`` as run.json (hashes recorded)."""
    from bnn_edge.manifest import hash_files

    path.mkdir(exist_ok=True)
    (path / "model.keras").write_bytes(model)
    if not (path / "metrics.json").exists():
        (path / "metrics.json").write_text("{}")
    if hashes and isinstance(run, dict):
        run = {**run, "files": hash_files(path, ("model.keras", "metrics.json"))}
    (path / "run.json").write_text(json.dumps(run))


def _nolatent_run(path: Path, genuine: dict) -> None:
    """A run for ``cil --pretrain-classes 5`` whose (plain Keras) model has no 'latent' layer."""
    from bnn_edge.tfcompat import keras

    path.mkdir()
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(5)])
    model.save(path / "model.keras")
    _run_dir(path, {**genuine, "classes": [0, 1, 2, 3, 4], "untrained": False}, (path / "model.keras").read_bytes())


def _inflated_npz(path: Path) -> None:
    """A small .npz whose zip directory declares a 3 GiB x_train (a zip bomb's signature)."""
    x = np.zeros((20, 8, 8), np.uint8)
    np.savez(path, x_train=x, y_train=np.arange(20) % 10, x_test=x[:10], y_test=np.arange(10))
    data = bytearray(path.read_bytes())
    entry = data.index(b"PK\x01\x02")  # the central directory entry of the first member, x_train.npy
    assert data[entry + 46 : entry + 46 + 11] == b"x_train.npy"
    data[entry + 24 : entry + 28] = (3 << 30).to_bytes(4, "little")  # its uncompressed size
    path.write_bytes(bytes(data))


# (command line with {B} = the fixture directory, a word the error line must contain)
CASES: list[tuple[str, str | None]] = [
    # train: datasets
    ("train --dataset no_such_dataset_xyz --out {B}/o", "no_such_dataset_xyz"),
    ("train --seed -1 --out {B}/o", "--seed -1: must be an integer in 0..4294967295"),
    ("train --seed 4294967296 --out {B}/o", "--seed 4294967296"),
    ("train --dataset {B}/missing.npz --out {B}/o", "missing.npz"),
    ("train --dataset {B}/notzip.npz --out {B}/o", "notzip.npz"),
    ("train --dataset {B}/nokeys.npz --out {B}/o", "x_train"),
    ("train --dataset {B}/mismatch.npz --out {B}/o", "y_train"),
    ("train --dataset {B}/text.txt --out {B}/o", "text.txt"),
    ("train --dataset {B}/model.tflite --out {B}/o", "model.tflite"),
    # train: presets, budgets, outputs
    ("train --preset nope --out {B}/o", "nope"),
    ("train --epochs -1 --out {B}/o", "--epochs"),
    ("train --epochs 0 --out {B}/o", "--epochs"),
    ("train --batch-size 0 --out {B}/o", "--batch-size"),
    ("train --batch-size -5 --out {B}/o", "--batch-size"),
    ("train --pretrain-classes -1 --out {B}/o", "--pretrain-classes"),
    ("train --pretrain-classes 99 --out {B}/o", "--pretrain-classes"),
    ("train --lr -1 --out {B}/o", "learning rate"),
    ("train --lr-factor 0 --out {B}/o", "learning-rate"),
    ("train --devices -2 --out {B}/o", "--devices"),
    ("train --strategy bogus --out {B}/o", "--strategy"),
    ("train --epochs many --out {B}/o", "--epochs"),
    ("train --recon-weight -1 --out {B}/o", "--recon-weight"),
    ("train --recon-weight nan --pretrain-classes 5 --out {B}/o", "--recon-weight"),
    ("train --recon-weight lots --out {B}/o", "--recon-weight"),
    ("train --out {B}/text.txt", "--out"),
    ("train --out {B}/text.txt/sub", "--out"),
    ("train --out /proc/1/no-such-dir", "--out"),
    ("train", "--out"),
    # summary
    ("summary --preset nope", "nope"),
    ("summary --input-shape 8,8", "--input-shape"),
    ("summary --input-shape a,b,c", "--input-shape"),
    ("summary --preset tiny --input-shape 100000,100000,3", "100000x100000x64 activation"),
    ("summary --preset tiny --input-shape 1024,1024,1", "weights, more than the 268,435,456"),
    ("summary --input-shape 0,8,1", "--input-shape"),
    ("summary --input-shape 1,1,1", "1x1x1"),
    ("summary --classes 0", "--classes"),
    ("summary --classes -3", "--classes"),
    # export: wrong kinds of RUN_DIR, budgets, outputs
    ("export {B}/missing --out {B}/e", "missing"),
    ("export {B}/text.txt --out {B}/e", "text.txt"),
    ("export {B}/model.tflite --out {B}/e", "model.tflite"),
    ("export {B}/good.npz --out {B}/e", "good.npz"),
    ("export {B}/emptydir --out {B}/e", "emptydir"),
    ("export {B}/run_badjson --out {B}/e", "run.json"),
    ("export {B}/run_badmodel --out {B}/e", "model.keras"),
    ("export {B}/run_junkmodel --out {B}/e", "model.keras"),
    ("export {B}/export --out {B}/e", "export"),
    ("export {B}/run --samples 0 --out {B}/e", "--samples"),
    ("export {B}/run --samples -4 --out {B}/e", "--samples"),
    ("export {B}/run --flash-kb -1 --out {B}/e", "--flash-kb"),
    ("export {B}/run --ram-kb 0 --out {B}/e", "--ram-kb"),
    ("export {B}/run --buffer-kb -1 --out {B}/e", "--buffer-kb"),
    ("export {B}/run --head-classes -1 --out {B}/e", "--head-classes"),
    ("export {B}/run --cpu cortex-a53 --out {B}/e", "--cpu"),
    ("export {B}/run --out {B}/text.txt", "--out"),
    ("export {B}/run --out {B}/text.txt/sub", "--out"),
    ("export {B}/run --out /proc/1/no-such-dir", "--out"),
    # inspect: wrong kinds of FILE
    ("inspect {B}/missing.bnnpack", "missing.bnnpack"),
    ("inspect {B}/emptydir", "emptydir"),
    ("inspect {B}/good.npz", "good.npz"),
    ("inspect {B}/text.txt", "text.txt"),
    ("inspect {B}/notzip.npz", "notzip.npz"),
    ("inspect {B}/export_badpack/model.bnnpack --json", "model.bnnpack"),
    ("inspect", "FILE"),
    # cil
    ("cil --preset nope --buffer-mb 0.01 --out {B}/c", "nope"),
    ("cil --dataset {B}/missing.npz --buffer-mb 0.01 --out {B}/c", "missing.npz"),
    ("cil --dataset {B}/notzip.npz --buffer-mb 0.01 --out {B}/c", "notzip.npz"),
    ("cil --dataset {B}/nokeys.npz --buffer-mb 0.01 --out {B}/c", "x_train"),
    ("cil --pretrain-classes 0 --buffer-mb 0.01 --out {B}/c", "--pretrain-classes"),
    ("cil --seed -3 --buffer-mb 0.01 --out {B}/c", "--seed -3"),
    ("cil --pretrain-classes 99 --buffer-mb 0.01 --out {B}/c", "--pretrain-classes"),
    ("cil --tasks 0 --buffer-mb 0.01 --out {B}/c", "--tasks"),
    ("cil --tasks -2 --buffer-mb 0.01 --out {B}/c", "--tasks"),
    ("cil --tasks 99 --buffer-mb 0.01 --out {B}/c", "--tasks"),
    ("cil --buffer-mb -1 --out {B}/c", "--buffer-mb"),
    ("cil --buffer-mb 0 --out {B}/c", "--buffer-mb"),
    ("cil --replay latent --out {B}/c", "--buffer-mb"),
    ("cil --replay bogus --buffer-mb 0.01 --out {B}/c", "--replay"),
    ("cil --epochs -1 --buffer-mb 0.01 --out {B}/c", "--epochs"),
    ("cil --batch-size 0 --buffer-mb 0.01 --out {B}/c", "--batch-size"),
    ("cil --lr -1 --buffer-mb 0.01 --out {B}/c", "learning rate"),
    ("cil --recon-weight -0.5 --buffer-mb 0.01 --out {B}/c", "--recon-weight"),
    ("cil --recon-weight inf --buffer-mb 0.01 --out {B}/c", "--recon-weight"),
    ("cil --pretrained {B}/missing --buffer-mb 0.01 --out {B}/c", "missing"),
    ("cil --pretrained {B}/text.txt --buffer-mb 0.01 --out {B}/c", "text.txt"),
    ("cil --pretrained {B}/emptydir --buffer-mb 0.01 --out {B}/c", "emptydir"),
    ("cil --pretrained {B}/export --buffer-mb 0.01 --out {B}/c", "export"),
    ("cil --buffer-mb 0.01 --out {B}/text.txt/sub", "--out"),
    # sweep
    ("sweep --preset nope --out {B}/s", "nope"),
    ("sweep --seeds 0,-1 --out {B}/s", "--seeds -1"),
    ("sweep --dataset {B}/missing.npz --out {B}/s", "missing.npz"),
    ("sweep --buffer-mb a,b --out {B}/s", "--buffer-mb"),
    ("sweep --buffer-mb -1 --out {B}/s", "--buffer-mb"),
    ("sweep --buffer-mb 0 --out {B}/s", "--buffer-mb"),
    ("sweep --seeds x --out {B}/s", "--seeds"),
    ("sweep --replay bogus --out {B}/s", "--replay"),
    ("sweep --jobs 0 --out {B}/s", "--jobs"),
    ("sweep --tasks 0 --out {B}/s", "--tasks"),
    ("sweep --pretrain-classes 99 --out {B}/s", "--pretrain-classes"),
    ("sweep --epochs -1 --out {B}/s", "--epochs"),
    ("sweep --batch-size 0 --out {B}/s", "--batch-size"),
    ("sweep --recon-weight -1 --out {B}/s", "--recon-weight"),
    ("sweep --out {B}/text.txt/sub", "--out"),
    # run: wrong kinds of EXPORT_DIR, budgets, build directory
    ("run {B}/missing", "missing"),
    ("run {B}/text.txt", "text.txt"),
    ("run {B}/model.tflite", "model.tflite"),
    ("run {B}/emptydir", "emptydir"),
    ("run {B}/run", "run"),
    ("run {B}/export_badpack", "truncated"),
    ("run {B}/export --images 0", "--images"),
    ("run {B}/export --images -3", "--images"),
    ("run {B}/export --target qemu-m99", "--target"),
    ("run {B}/export --build-dir {B}/text.txt", "--build-dir"),
    # flash
    ("flash {B}/missing --probe pyocd --target-mcu stm32f429zi --dry-run", "missing"),
    ("flash {B}/text.txt --probe pyocd --target-mcu stm32f429zi --dry-run", "text.txt"),
    ("flash {B}/run --probe pyocd --target-mcu stm32f429zi --dry-run", "run"),
    ("flash {B}/export_badpack --probe pyocd --target-mcu stm32f429zi --dry-run", "truncated"),
    ("flash {B}/export_halfwritten --probe pyocd --target-mcu stm32f429zi --dry-run", "does not match export.json"),
    ("flash {B}/export_halfwritten --board nucleo-f446re --dry-run", "does not match export.json"),
    ("flash {B}/export_nohashes --board nucleo-f446re --dry-run", "no 'files'"),
    ("flash {B}/export_missingfile --probe pyocd --target-mcu stm32f429zi --dry-run", "model_data.c: missing"),
    ("flash {B}/export --probe openocd --target-mcu '' --dry-run", "--target-mcu"),
    ("flash {B}/export --probe jlink --target-mcu stm32f4x --dry-run", "--probe"),
    ("flash {B}/export --target-mcu stm32f4x --dry-run", "--probe"),
    # simulate (its options as scripts/demo.sh uses them; the export here pairs a pack with a run it
    # was not made from, so the budget cases only require some clear error)
    ("simulate {B}/missing --cil", "missing"),
    ("simulate {B}/export --cil --seed -1", "--seed -1"),
    ("simulate {B}/text.txt --cil", "text.txt"),
    ("simulate {B}/run --cil", "run"),
    ("simulate {B}/export_badpack --cil", "truncated"),
    ("simulate {B}/export --cil --tasks 0", None),
    ("simulate {B}/export --cil --buffer-kb -1", None),
    ("simulate {B}/export --cil --ram-kb 0", None),
]

# Issue 15, item 2: a half-written, modified or stale directory is one clear error, never used.
CASES += [
    ("run {B}/export_nohashes", "re-run `bnn-edge export`"),
    ("run {B}/export_halfwritten", "model.bnnpack does not match export.json"),
    ("simulate {B}/export_halfwritten --cil", "model.bnnpack does not match export.json"),
    ("run {B}/export_missingfile", "model_data.c"),
    ("run {B}/export_stale", "not the one exported"),
    ("simulate {B}/export_stale --cil", "not the one exported"),
    ("export {B}/run_nohashes --out {B}/e", "re-run `bnn-edge train`"),
    ("cil --pretrained {B}/run_nohashes --replay none --out {B}/c", "re-run `bnn-edge train`"),
    ("export {B}/run --out {B}/run_nohashes", "not part of an export directory"),
]

# Issue 15, item 6: inputs that once gave a traceback or a silently wrong result.
CASES += [
    ("train --dataset {B}/one_per_class.npz --out {B}/o", "only 1 training sample"),
    ("cil --dataset {B}/one_per_class.npz --replay none --pretrain-classes 5 --tasks 5 --out {B}/c", "only 1 training sample"),
    ("train --dataset {B}/label_1e6.npz --out {B}/o", "label 1000000"),
    ("train --dataset {B}/label_2p40.npz --out {B}/o", "at most 65535 classes"),
    ("train --dataset {B}/label_u64.npz --out {B}/o", "at most 65535 classes"),
    ("train --dataset {B}/sparse.npz --out {B}/o", "no training sample"),
    ("sweep --dataset {B}/sparse.npz --out {B}/s", "no training sample"),
    ("train --dataset {B}/stray_test.npz --out {B}/o", "no training sample"),
    ("train --dataset {B}/inflated.npz --out {B}/o", "declares"),
    ("train --lr inf --out {B}/o", "finite"),
    ("train --lr-min inf --out {B}/o", "finite"),
    ("train --lr nan --out {B}/o", "learning rate"),
    ("cil --lr inf --replay none --out {B}/c", "finite"),
    ("sweep --lr inf --out {B}/s", "finite"),
    ("sweep --buffer-mb inf --out {B}/s", "--buffer-mb"),
    ("export {B}/run --buffer-kb inf --out {B}/e", "--buffer-kb"),
    ("export {B}/run --buffer-kb nan --out {B}/e", "--buffer-kb"),
    ("run {B}/export_rundir_int", "run_dir"),
    ("simulate {B}/export_rundir_list --cil", "run_dir"),
    ("export {B}/run_order_str --out {B}/e", "class_order"),
    ("export {B}/run_order_dup --out {B}/e", "class_order"),
    ("export {B}/run_shape_str --out {B}/e", "input_shape"),
    ("export {B}/run_levels_str --out {B}/e", "preset.levels"),
    ("export {B}/run_dataset_int --out {B}/e", "dataset"),
    ("export {B}/run_is_list --out {B}/e", "run.json"),
    ("export {B}/run_deep --out {B}/e", "nested too deeply"),
    ("export {B}/run_dupkey --out {B}/e", "duplicate key 'dataset'"),
    ("run {B}/export_badrun", "class_order"),
    ("cil --pretrained {B}/run_order_str --replay none --out {B}/c", "class_order"),
    ("cil --pretrained {B}/run_nolatent --replay none --pretrain-classes 5 --tasks 5 --out {B}/c", "latent"),
    ("simulate {B}/export_spatial --cil", "spatial"),
]

# Session 9's red-team round.
CASES += [
    ("train --dataset {B}/zero_width.npz --out {B}/o", "height, width and channels"),
    ("train --dataset {B}/timedelta.npz --out {B}/o", "integer label"),
    ("train --dataset {B}/one_class.npz --out {B}/o", "at least 2 classes"),
    ("train --dataset {B}/mixed_scale.npz --out {B}/o", "same scale"),
    ("summary --preset {B}/huge_int.json", "5001 digits"),
    ("summary --preset {B}/huge_int.toml", "huge_int.toml"),
    ("summary --classes 100000000", "--classes"),
    ("train --dataset {B}/broken_link --out {B}/o", "broken symbolic link"),
    ("train --dataset {B}/link_loop --out {B}/o", "x.png"),
    ("train --dataset {B}/fifo --out {B}/o", "not a regular file"),
    ("train --lr 1e-6 --out {B}/o", "--lr-min"),
    ("sweep --seeds 1.5 --out {B}/s", "integers"),
    ("train --out {B}/text.txt/sub", "is a file, not a folder"),
    ("train --tensorboard {B}/tb --out {B}/tb", "--tensorboard"),
    ("train --tensorboard {B}/tb2/logs --out {B}/tb2", "inside --out"),
    ("cil --pretrained {B}/cil_out/pretrain --replay none --out {B}/cil_out", "--pretrained"),
    ("export {B}/run --out {B}/run", "RUN_DIR"),
    ("run {B}/export --build-dir {B}/userproj", "not a bnn-edge build"),
    ("flash {B}/export --board nucleo-f446re --build-dir {B}/userproj --dry-run", "not a bnn-edge build"),
    ("simulate {B}/export --cil --build-dir {B}/userproj", "not a bnn-edge build"),
    ("export {B}/run --head-classes 256 --out {B}/e", "--head-classes 256"),
    ("export {B}/run --buffer-kb 1e30 --out {B}/e", "--buffer-kb"),
    ("export {B}/run --flash-kb 99999999999 --out {B}/e", "--flash-kb"),
    ("simulate {B}/export --cil --ram-kb 1e300", "--ram-kb"),
    ("inspect /dev/zero", "not a regular file"),
    ("cil --pretrained {B}/run_other_network --replay none --pretrain-classes 5 --tasks 5 --out {B}/c",
     "network latent"),
]

# Cases that once ended in an uncaught exception (bnn_edge/device/firmware.py), kept as ordinary cases.
CASES += [
    ("run {B}/export_badjson", "export.json"),
    ("run {B}/export_norundir", "export.json"),
    ("run {B}/export --images 2 --build-dir {B}/text.txt/sub", "build"),
]


def _params():
    for line, word in CASES:
        yield pytest.param(line, word, id=line.replace("{B}/", ""))


class _CaseTimeout(BaseException):  # not swallowed by `except Exception` in the code under test
    pass


def check_clear_error(code: int, stderr: str, word: str | None, where: str) -> None:
    assert code != 0, f"{where}: exit status 0\n{stderr}"
    assert "Traceback" not in stderr, f"{where}: traceback\n{stderr}"
    lines = [ln for ln in stderr.splitlines() if ln.strip() and not ln.startswith(CLICK_PREAMBLE)]
    if lines and lines[0].startswith("Error: "):  # Click lists a Choice's values on indented lines
        lines = [lines[0]] + [ln for ln in lines[1:] if not ln.startswith(("\t", " "))]
    assert len(lines) == 1, f"{where}: expected one error line on stderr, got {len(lines)}:\n{stderr}"
    assert lines[0].startswith(("error: ", "Error: ")), f"{where}: {lines[0]!r}"
    if word is not None:
        assert word.lower() in lines[0].lower(), f"{where}: the error does not mention {word!r}: {lines[0]!r}"


@pytest.mark.parametrize("line,word", list(_params()))
def test_bad_input(bad, line, word):
    from click.testing import CliRunner

    from bnn_edge.cli import main

    args = [a.replace("{B}", str(bad)) for a in shlex.split(line)]
    if args[0] not in registered_commands():
        pytest.skip(f"`bnn-edge {args[0]}` is not registered yet")

    def on_alarm(signum, frame):
        raise _CaseTimeout(f"still running after {CASE_SECONDS} s: the input is checked too late (or not at all)")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(CASE_SECONDS)
    try:
        result = CliRunner().invoke(main, args, catch_exceptions=True)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        tb = "".join(traceback.format_exception(*result.exc_info))
        pytest.fail(f"bnn-edge {' '.join(args)}: uncaught {result.exception.__class__.__name__}\n{tb}")
    check_clear_error(result.exit_code, result.stderr, word, f"bnn-edge {' '.join(args)}")


# As a user runs them: exactly one line on the real stderr (nothing from TensorFlow, no usage text).
SUBPROCESS_CASES = [
    ("inspect {B}/text.txt", "text.txt"),
    ("train --dataset {B}/notzip.npz --out {B}/o", "notzip.npz"),
    ("cil --tasks 0 --buffer-mb 0.01 --out {B}/c", "--tasks"),
    ("run {B}/export --images 0", "--images"),
]


@pytest.mark.slow  # each case in a fresh process importing TensorFlow
def test_bad_input_as_a_user_sees_it(bad):
    present = registered_commands()
    cases = [(line, word) for line, word in SUBPROCESS_CASES if line.split()[0] in present]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    procs = [(line, word, subprocess.Popen(
        [sys.executable, "-m", "bnn_edge.cli", *[a.replace("{B}", str(bad)) for a in shlex.split(line)]],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)) for line, word in cases]
    for line, word, p in procs:
        _, err = p.communicate(timeout=300)
        assert err.count("\n") <= 1, f"bnn-edge {line}: more than one line on stderr:\n{err}"
        check_clear_error(p.returncode, err, word, f"bnn-edge {line}")
        assert p.returncode == 2, f"bnn-edge {line}: exit status {p.returncode}"
