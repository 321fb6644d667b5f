"""`bnn-edge run` / `bnn-edge flash`: the C firmware with an export, against the simulator."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bnn_edge.errors import UserError
from bnn_edge.export_dir import REFERENCE_FILE
from bnn_edge.device.firmware import (build_and_run, failure_reason, flash_commands, flash_export, input_c_source,
                                      make_command, make_safe_path, parse_output, run_bounded, run_export)
from converters import bnnpack as bp
from conftest import run_cli


@pytest.mark.slow
def test_host_build_matches_simulator_on_every_test_image(tiny_export, tmp_path):
    r = run_export(tiny_export, target="host", images=10_000, build_dir=tmp_path / "b")
    assert r["images"] == 360  # the whole digits test split
    assert r["bit_exact"] is True and r["latent_bits_compared"] == 360 * 256
    assert r["accuracy"] == r["reference_accuracy"]
    assert r["accuracy"] >= 0.93
    assert r["image"]["flash_bytes"] > 0


@pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="qemu-system-arm not installed (make setup)")
@pytest.mark.slow
@pytest.mark.parametrize("target, flash_max", [("qemu-m4", 1024 * 1024), ("qemu-m0", 256 * 1024), ("qemu-m55", 512 * 1024)])
def test_qemu_cli_200_images(tiny_export, tmp_path, target, flash_max):
    """Cortex-M4; Cortex-M0 (Armv6-M, C kernels and a Thumb-1 xor-popcount, 16 KB RAM: the link fails
    if it overflows); Cortex-M55 (MVE xor-popcount)."""
    proc = run_cli("run", str(tiny_export), "--target", target, "--images", "200", "--json",
                   "--build-dir", str(tmp_path / target), check=True)
    r = json.loads(proc.stdout)
    assert r["images"] == 200 and r["bit_exact"] is True
    assert r["accuracy"] == r["reference_accuracy"]
    assert 0 < r["image"]["flash_bytes"] < flash_max


@pytest.mark.slow
def test_parse_output_rejects_missing_lines(tiny_export):
    pack = bp.read_pack((tiny_export / "model.bnnpack").read_bytes())
    good = "IMG 0 LATENT " + "00" * 32 + " OUT " + " ".join(["1"] * 10) + "\nDONE 1 arena=1088\n"
    out = parse_output(good, pack, 1)
    assert out.latents.shape == (1, 32) and out.outputs.tolist() == [[1] * 10] and out.arena_bytes == 1088
    with pytest.raises(UserError, match="1 of 2 results"):
        parse_output(good, pack, 2)
    with pytest.raises(UserError, match="no DONE"):
        parse_output(good.splitlines()[0], pack, 1)


def test_input_c_source_layout():
    x = np.arange(2 * 2 * 2 * 1, dtype=np.uint8).reshape(2, 2, 2, 1)
    src = input_c_source(x)
    assert "bnn_n_inputs = 2u" in src and "bnn_input_len = 4u" in src and "0, 1, 2, 3, 4, 5, 6, 7" in src


@pytest.mark.slow
def test_run_errors(tmp_path, tiny_export):
    with pytest.raises(UserError, match="no model.bnnpack"):
        run_export(tmp_path)
    with pytest.raises(UserError, match="--images 0"):
        run_export(tiny_export, images=0)
    with pytest.raises(UserError, match="--target"):
        from bnn_edge.device.firmware import build_and_run

        build_and_run(b"", np.zeros((1, 8, 8, 1), np.uint8), "qemu-m3", tmp_path)


@pytest.mark.slow
def test_flash_commands_for_both_probes(tiny_export, tmp_path):
    elf = tmp_path / "app.elf"
    assert flash_commands(elf, "pyocd", "stm32f429zi") == [["pyocd", "flash", "--no-wait", "--target", "stm32f429zi", str(elf)]]
    (cmd,) = flash_commands(elf, "openocd", "stm32f4x", "stlink")
    assert cmd[:5] == ["openocd", "-f", "interface/stlink.cfg", "-f", "target/stm32f4x.cfg"]
    assert cmd[-1] == f"program {{{elf}}} verify reset exit"
    spaced = tmp_path / "my dir" / "app.elf"
    assert flash_commands(spaced, "openocd", "stm32f4x")[0][-1] == f"program {{{spaced}}} verify reset exit"
    with pytest.raises(UserError, match="--interface"):
        flash_commands(elf, "openocd", "stm32f4x", "stlink.cfg; shutdown")
    r = json.loads(run_cli("flash", str(tiny_export), "--probe", "pyocd", "--target-mcu", "stm32f429zi", "--dry-run",
                           "--json", check=True).stdout)
    assert r["dry_run"] is True and r["flash"][0][:2] == ["pyocd", "flash"]
    assert "TARGET=m4" in r["build"] and any(a.startswith("MODEL_C=") for a in r["build"])
    with pytest.raises(UserError, match="--target-mcu"):
        flash_export(tiny_export, "pyocd", "bad name;rm", dry_run=True)


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="no cross compiler")
@pytest.mark.slow
def test_flash_builds_image_and_explains_missing_probe_tool(tiny_export, tmp_path, monkeypatch):
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name: None if name in ("pyocd", "openocd") else real_which(name))
    with pytest.raises(UserError, match="pyocd is not installed"):
        flash_export(tiny_export, "pyocd", "stm32f429zi", build_dir=tmp_path / "fl")
    assert (tmp_path / "fl" / "fw" / "app.elf").is_file()


@pytest.mark.slow
def test_run_loads_no_keras_model(tiny_export, tmp_path):
    """`run` takes the Keras reference from what `export` recorded: no TensorFlow, no training code."""
    code = (
        "import json, sys\nfrom bnn_edge.device.firmware import run_export\n"
        f"r = run_export({str(tiny_export)!r}, 'host', 50, {str(tmp_path / 'b')!r})\n"
        "mods = [m for m in ('tensorflow', 'keras', 'tf_keras', 'larq', 'bnn_edge.train') if m in sys.modules]\n"
        "print(json.dumps({'mods': mods, 'acc': r['accuracy'], 'ref': r['reference_accuracy'], 'exact': r['bit_exact']}))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout.splitlines()[-1])
    assert r["mods"] == [] and r["exact"] is True and r["ref"] == r["acc"]


@pytest.mark.slow
def test_recorded_reference_checked_against_the_images(tiny_export, tmp_path):
    from bnn_edge.manifest import FILES_KEY, sha256_file

    exp = tmp_path / "export"
    shutil.copytree(tiny_export, exp, ignore=shutil.ignore_patterns("build-*"))
    info = json.loads((exp / "export.json").read_text())
    assert REFERENCE_FILE in info[FILES_KEY]  # recorded with its hash, verified on read like the other files
    with np.load(exp / REFERENCE_FILE) as z:
        pred, labels = z["predictions"], z["labels"]
    assert len(pred) == len(labels) == 360  # the whole digits test split
    # predictions of other images (a consistent export.json, as if the dataset had changed since)
    np.savez(exp / REFERENCE_FILE, predictions=pred, labels=np.roll(labels, 1))
    info[FILES_KEY][REFERENCE_FILE] = sha256_file(exp / REFERENCE_FILE)
    (exp / "export.json").write_text(json.dumps(info))
    with pytest.raises(UserError, match="recorded at export time are for other test images"):
        run_export(exp, images=20, build_dir=tmp_path / "b")
    # an export that recorded none (its dataset was not available at export time)
    (exp / REFERENCE_FILE).unlink()
    del info[FILES_KEY][REFERENCE_FILE]
    (exp / "export.json").write_text(json.dumps(info))
    r = run_export(exp, images=20, build_dir=tmp_path / "b")
    assert r["reference_accuracy"] is None and r["bit_exact"] is True
    assert "Keras n/a" in run_cli("run", str(exp), "--images", "5", "--build-dir", str(tmp_path / "c"), check=True).stdout


def test_run_bounded_streams_and_kills_past_the_cap(tmp_path):
    ok = run_bounded([sys.executable, "-c", "import sys; print('a'*10); print('oops', file=sys.stderr)"], 30, 1000)
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, "a" * 10 + "\n", "oops\n")
    marker = tmp_path / "still-running"
    endless = f"import time\nwhile True: print('x' * 1000, flush=True)"
    with pytest.raises(UserError, match="more than 100000 bytes"):
        run_bounded([sys.executable, "-c", endless], 60, 100_000)
    # the whole process group is killed: a child that would write a file later never does
    child = f"import subprocess,sys; subprocess.Popen([sys.executable,'-c',\"import time; time.sleep(2); open({str(marker)!r},'w')\"]); print('y'*5000)"
    with pytest.raises(UserError, match="more than 1000 bytes"):
        run_bounded([sys.executable, "-c", child + "; import time; time.sleep(5)"], 60, 1000)
    with pytest.raises(UserError, match="timed out after 1 s"):
        run_bounded([sys.executable, "-c", "import time; time.sleep(30)"], 1)
    import time
    time.sleep(3)
    assert not marker.exists()


def test_failure_reason_prefers_the_firmware_message():
    err = ("built /x/app\nbnn-app: model rejected: op output overlaps an input in the arena (status 25)\n"
           "make: *** [Makefile:233: run-app] Error 2\n")
    assert failure_reason(err) == "bnn-app: model rejected: op output overlaps an input in the arena (status 25)"
    assert failure_reason("main.c:3:1: error: expected ';'\nmake[1]: *** [x] Error 1\n") == "main.c:3:1: error: expected ';'"
    assert failure_reason("make: *** [Makefile:1: a] Error 2\n") == "make: *** [Makefile:1: a] Error 2"
    assert failure_reason("") == "(no output)"


def test_make_paths_with_spaces_go_through_links(tmp_path):
    plain = tmp_path / "plain"
    assert make_safe_path(plain, "build") == plain
    spaced = tmp_path / "with space$x"
    spaced.mkdir()
    link = make_safe_path(spaced, "build")
    assert " " not in str(link) and "$" not in str(link) and link.resolve() == spaced.resolve()
    assert make_safe_path(spaced, "build") == link  # stable: the object files stay cached
    assert all(" " not in a for a in make_command("app", link, f"BUILD={link / 'fw'}"))


@pytest.mark.slow
def test_run_on_a_path_with_spaces(tiny_export, tmp_path):
    spaced = tmp_path / "my exports" / "tiny model"
    shutil.copytree(tiny_export, spaced, ignore=shutil.ignore_patterns("build-*"))
    r = run_export(spaced, "host", images=3)
    assert r["bit_exact"] is True and r["images"] == 3
    assert (spaced / "build-host" / "fw" / "app").is_file()


@pytest.mark.slow
def test_run_shows_the_firmware_reason(tiny_export, tmp_path, monkeypatch):
    pack = bp.read_pack((tiny_export / "model.bnnpack").read_bytes())
    op = next(o for o in pack.ops if o.in0 != pack.input_tensor)
    pack.tensors[op.out].arena_offset = pack.tensors[op.in0].arena_offset  # output overlaps its input
    bad = bp.write_pack(pack, validate=False)
    monkeypatch.setattr(bp, "_check_graph", lambda p: None)  # only the C loader judges the overlap here
    h, w, c = pack.tensors[pack.input_tensor].shape
    with pytest.raises(UserError) as err:
        build_and_run(bad, np.zeros((1, h, w, c), np.uint8), "host", tmp_path / "b")
    msg = str(err.value)
    assert "model rejected: op output overlaps an input in the arena (status" in msg and "make:" not in msg


def test_build_dir_of_the_users_own_files_is_refused(tmp_path):
    """A --build-dir is new, empty, or one bnn-edge built in (its mark): the build rewrites
    model_data.c and input_data.c there, so a folder of the user's files is refused, untouched."""
    from bnn_edge.device.firmware import BUILD_MARK, claim_build_dir
    from bnn_edge.errors import UserError

    claim_build_dir(tmp_path / "new")
    assert (tmp_path / "new" / BUILD_MARK).is_file()
    claim_build_dir(tmp_path / "new")  # ours: accepted again
    (tmp_path / "empty").mkdir()
    claim_build_dir(tmp_path / "empty")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "model_data.c").write_text("keep me")
    with pytest.raises(UserError, match="not a bnn-edge build"):
        claim_build_dir(mine)
    assert (mine / "model_data.c").read_text() == "keep me" and sorted(p.name for p in mine.iterdir()) == ["model_data.c"]
    claim_build_dir(tmp_path / "dry", create=False)
    assert not (tmp_path / "dry").exists()


def test_flash_dry_run_writes_nothing(tiny_export, tmp_path):
    from bnn_edge.device.firmware import flash_export

    r = flash_export(tiny_export, "pyocd", "stm32f429zi", dry_run=True)
    assert r["dry_run"] is True and r["flash"][0][:3] == ["pyocd", "flash", "--no-wait"]
    assert not any(p.name.startswith("build-flash") for p in Path(tiny_export).iterdir())
