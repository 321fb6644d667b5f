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
    (d / "run_badmodel").mkdir()
    (d / "run_badmodel" / "run.json").write_text("{}")
    (d / "run_badmodel" / "model.keras").write_text("junk")
    # a genuine (untrained, digits) run, and an export-like directory that points at it
    from bnn_edge.train import init_run

    init_run("tiny", d / "run", dataset="digits")
    (d / "export").mkdir()
    shutil.copy(CORPUS / "pack" / "small_model.bnnpack", d / "export" / "model.bnnpack")
    (d / "export" / "export.json").write_text(json.dumps({"run_dir": str(d / "run")}))
    for name, meta in (("export_badjson", "{"), ("export_norundir", "{}")):
        (d / name).mkdir()
        shutil.copy(CORPUS / "pack" / "small_model.bnnpack", d / name / "model.bnnpack")
        (d / name / "export.json").write_text(meta)
    (d / "export_badpack").mkdir()
    (d / "export_badpack" / "model.bnnpack").write_bytes((CORPUS / "pack" / "small_model.bnnpack").read_bytes()[:100])
    (d / "export_badpack" / "export.json").write_text(json.dumps({"run_dir": str(d / "run")}))
    return d


# (command line with {B} = the fixture directory, a word the error line must contain)
CASES: list[tuple[str, str | None]] = [
    # train: datasets
    ("train --dataset no_such_dataset_xyz --out {B}/o", "no_such_dataset_xyz"),
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
    ("flash {B}/export --probe openocd --target-mcu '' --dry-run", "--target-mcu"),
    ("flash {B}/export --probe jlink --target-mcu stm32f4x --dry-run", "--probe"),
    ("flash {B}/export --target-mcu stm32f4x --dry-run", "--probe"),
    # simulate (its options as scripts/demo.sh uses them; the export here pairs a pack with a run it
    # was not made from, so the budget cases only require some clear error)
    ("simulate {B}/missing --cil", "missing"),
    ("simulate {B}/text.txt --cil", "text.txt"),
    ("simulate {B}/run --cil", "run"),
    ("simulate {B}/export_badpack --cil", "truncated"),
    ("simulate {B}/export --cil --tasks 0", None),
    ("simulate {B}/export --cil --buffer-kb -1", None),
    ("simulate {B}/export --cil --ram-kb 0", None),
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
