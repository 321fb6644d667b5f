"""Real boards: definitions (firmware/boards/*.mk), images that boot from the board's flash with a
UART console (no semihosting), QEMU models of real MCUs (netduinoplus2, microbit), flash commands."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bnn_edge.device.board_image import build_image, flash_commands, qemu_command, run_qemu
from bnn_edge.device.boards import BOARDS_DIR, all_boards, get_board, parse_board
from bnn_edge.errors import UserError
from conftest import run_cli

ISSUE_BOARDS = {"nucleo-f446re", "stm32f4-discovery", "nucleo-h743zi", "nrf52840-dk", "netduinoplus2", "microbit"}
HAVE_ARM = shutil.which("arm-none-eabi-gcc") is not None and shutil.which("make") is not None
HAVE_QEMU = HAVE_ARM and shutil.which("qemu-system-arm") is not None
need_arm = pytest.mark.skipif(not HAVE_ARM, reason="arm-none-eabi-gcc not installed (make setup)")
need_qemu = pytest.mark.skipif(not HAVE_QEMU, reason="qemu-system-arm not installed (make setup)")

# a model pack the loader rejects (the app then reports it on the console and exits 2): enough to
# check the boot path and the console without a trained network
DUMMY_SOURCES = {
    "model_data.c": '#include "model_data.h"\nconst uint8_t bnn_model_data[4] = {1, 2, 3, 4};\n'
                    "const uint32_t bnn_model_data_len = 4u;\n",
    "input_data.c": '#include "input_data.h"\nconst uint8_t bnn_inputs[4] = {0};\n'
                    "const uint32_t bnn_n_inputs = 1u;\nconst uint32_t bnn_input_len = 4u;\n",
}


def build_dummy(board: str, build_dir: Path) -> Path:
    return build_image(get_board(board), "app", build_dir, DUMMY_SOURCES,
                       {"MODEL_C": "model_data.c", "INPUT_C": "input_data.c", "ARENA_BYTES": "1024"}, "app.elf")


def sections(elf: Path) -> dict[str, tuple[int, int, int]]:
    """name -> (size, VMA, LMA) from ``arm-none-eabi-objdump -h``."""
    out = subprocess.run(["arm-none-eabi-objdump", "-h", str(elf)], capture_output=True, text=True, check=True).stdout
    rows = re.findall(r"^\s*\d+\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", out, re.M)
    return {n: (int(s, 16), int(v, 16), int(lma, 16)) for n, s, v, lma in rows}


def semihosting_calls(elf: Path) -> list[str]:
    dis = subprocess.run(["arm-none-eabi-objdump", "-d", str(elf)], capture_output=True, text=True, check=True).stdout
    return [ln for ln in dis.splitlines() if re.search(r"\bbkpt\s+0x00ab\b|\bbkpt\s+0xab\b|\bsvc\s+0x0*123456\b", ln)]


def first_words(elf: Path, n: int = 2) -> list[int]:
    """The first words of the vector table (initial SP, reset vector), from the ELF's .text."""
    dump = subprocess.run(["arm-none-eabi-objdump", "-s", "-j", ".text", str(elf)], capture_output=True, text=True,
                          check=True).stdout
    line = next(ln for ln in dump.splitlines() if re.match(r"^\s*[0-9a-f]{4,8}\s", ln))
    words = line.split()[1:1 + n]
    return [int.from_bytes(bytes.fromhex(w), "little") for w in words]


# ---------------------------------------------------------------------------------------- table


def test_the_issue_boards_are_defined_with_their_memory():
    boards = all_boards()
    assert ISSUE_BOARDS <= set(boards)
    nd = boards["netduinoplus2"]
    assert (nd.flash.origin, nd.flash.size) == (0x08000000, 1024 * 1024)
    assert (nd.ram.origin, nd.ram.size) == (0x20000000, 128 * 1024)
    assert nd.qemu_machine == "netduinoplus2" and nd.core == "m4"
    mb = boards["microbit"]
    assert (mb.flash.origin, mb.flash.size, mb.ram.size) == (0, 256 * 1024, 16 * 1024)
    assert mb.core == "m0" and mb.cpu == "cortex-m0" and mb.qemu_machine == "microbit"
    for b in boards.values():
        assert b.flash_page % b.flash_prog_unit == 0 and b.flash_prog_unit & (b.flash_prog_unit - 1) == 0
        assert b.stack_bytes < b.ram.size and b.pyocd_target and b.openocd_configs
        assert (BOARDS_DIR.parent / "ports" / "board" / f"console_{b.uart}.c").is_file(), b.uart


def test_boards_cli_json_lists_memory_and_probe_names():
    proc = run_cli("boards", "--json", check=True)
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert ISSUE_BOARDS <= set(rows)
    assert rows["nucleo-f446re"]["pyocd_target"] == "stm32f446retx"
    assert rows["nucleo-f446re"]["flash"] == {"origin": "0x08000000", "bytes": 512 * 1024}
    assert rows["microbit"]["ram"]["bytes"] == 16 * 1024


def test_a_new_board_is_one_file(tmp_path):
    text = (BOARDS_DIR / "nucleo-f446re.mk").read_text().replace("512K", "256K").replace("stm32f446retx", "stm32f401retx")
    (tmp_path / "my-f401.mk").write_text(text)
    b = all_boards(tmp_path)["my-f401"]
    assert b.flash.size == 256 * 1024 and b.pyocd_target == "stm32f401retx"
    (tmp_path / "broken.mk").write_text("BOARD_TITLE = x\nBOARD_RAM = 0x20000000\n")
    with pytest.raises(UserError, match=r"broken\.mk: missing BOARD_CORE"):
        parse_board(tmp_path / "broken.mk")


def test_unknown_board_is_one_line_listing_the_known_ones(tmp_path):
    proc = run_cli("flash", str(tmp_path), "--board", "nucleo-f999", "--dry-run")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --board nucleo-f999: unknown board")
    assert all(name in lines[0] for name in ISSUE_BOARDS)
    with pytest.raises(UserError, match="QEMU models no such board.*microbit, netduinoplus2"):
        qemu_command(get_board("nucleo-h743zi"), tmp_path / "app.elf")


# ---------------------------------------------------------------------------------------- flash


def test_flash_commands_take_the_probe_targets_of_the_board(tmp_path):
    elf = tmp_path / "dir with blanks" / "app.elf"
    b = get_board("nucleo-f446re")
    assert flash_commands(elf, b, "pyocd") == [["pyocd", "flash", "--no-wait", "--target", "stm32f446retx", str(elf)]]
    (cmd,) = flash_commands(elf, b, "openocd")
    assert cmd[:3] == ["openocd", "-f", "board/st_nucleo_f4.cfg"]
    assert cmd[-2:] == ["-c", f"program {{{elf}}} verify reset exit"]  # braces: one Tcl word, blanks included
    (cmd,) = flash_commands(elf, get_board("netduinoplus2"), "openocd")
    assert cmd[1:5] == ["-f", "interface/stlink.cfg", "-f", "target/stm32f4x.cfg"]
    with pytest.raises(UserError, match="braces"):
        flash_commands(tmp_path / "a{b}" / "app.elf", b, "openocd")


def test_flash_dry_run_json_prints_the_commands(pack_export, tmp_path):
    build = tmp_path / "build here"
    for probe, tool, target in (("pyocd", "pyocd", "stm32f446retx"), ("openocd", "openocd", "board/st_nucleo_f4.cfg")):
        proc = run_cli("flash", str(pack_export), "--board", "nucleo-f446re", "--probe", probe, "--dry-run", "--json",
                       "--build-dir", str(build), check=True)
        r = json.loads(proc.stdout)
        elf = str(build.resolve() / "fw" / "app.elf")
        assert r["dry_run"] is True and r["elf"] == elf and r["board"] == "nucleo-f446re"
        (cmd,) = r["flash"]
        assert cmd[0] == tool and target in cmd and any(elf in a for a in cmd)
        assert "BOARD=nucleo-f446re" in r["build"] and not (build / "fw").exists()  # dry run: nothing built
    proc = run_cli("flash", str(pack_export), "--board", "nucleo-f446re", "--dry-run", check=True)
    assert "would run: pyocd flash --no-wait --target stm32f446retx" in proc.stdout


@pytest.fixture
def pack_export(tmp_path) -> Path:
    """An export directory holding only a small valid pack (the pack tests' model): enough for flash."""
    from test_bnnpack import make_pack

    from converters import bnnpack as bp

    d = tmp_path / "export"
    d.mkdir()
    data = bp.write_pack(make_pack())
    (d / "model.bnnpack").write_bytes(data)
    (d / "export.json").write_text(json.dumps({"files": {"model.bnnpack": hashlib.sha256(data).hexdigest()}}))
    return d


@pytest.mark.parametrize("how", [["--board", "nucleo-f446re"], ["--probe", "openocd", "--target-mcu", "stm32f4x"]])
def test_flash_refuses_a_modified_or_unlisted_pack(pack_export, tmp_path, how):
    """flash builds firmware from the pack only when export.json's hash of it holds (never a flipped bit)."""
    pack = pack_export / "model.bnnpack"
    data = bytearray(pack.read_bytes())
    data[-1] ^= 1
    pack.write_bytes(bytes(data))
    proc = run_cli("flash", str(pack_export), *how, "--dry-run", "--build-dir", str(tmp_path / "b"))
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"error: {pack_export}: model.bnnpack does not match export.json")
    (pack_export / "export.json").unlink()
    proc = run_cli("flash", str(pack_export), *how, "--dry-run")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: {pack_export}: no export.json (expected the --out of "
                                                "`bnn-edge export`)"]


def test_flash_without_the_tool_is_one_line(pack_export, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # neither pyocd nor openocd (nor anything else)
    for probe, hint in (("openocd", "apt-get install openocd"), ("pyocd", "pip install pyocd")):
        proc = run_cli("flash", str(pack_export), "--board", "microbit", "--probe", probe, "--build-dir", str(tmp_path / "b"))
        assert proc.returncode == 2
        (line,) = proc.stderr.strip().splitlines()
        assert line.startswith(f"error: {probe} is not installed ({hint}")


def test_flash_dry_run_needs_no_tool(pack_export, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    proc = run_cli("flash", str(pack_export), "--board", "nrf52840-dk", "--probe", "openocd", "--dry-run", "--json",
                   check=True)
    r = json.loads(proc.stdout)
    assert r["flash"][0][:3] == ["openocd", "-f", "board/nordic_nrf52_dk.cfg"]


# ---------------------------------------------------------------------------------------- images


@need_arm
@pytest.mark.parametrize("name", [n if n == "nucleo-f446re" else pytest.param(n, marks=pytest.mark.slow)
                                  for n in sorted(ISSUE_BOARDS)])  # each builds libbnn; the quick tier keeps one
def test_board_image_boots_from_the_boards_flash_without_semihosting(name, tmp_path):
    b = get_board(name)
    elf = build_dummy(name, tmp_path / "b")
    sec = sections(elf)
    size, vma, lma = sec[".text"]
    assert vma == lma == b.flash.origin  # the vector table (first in .text) at the start of flash
    sp, reset = first_words(elf)
    assert sp == b.ram.origin + b.ram.size  # initial stack pointer: top of the board's RAM
    assert b.flash.origin < reset < b.flash.origin + size and reset & 1  # Thumb reset handler in flash
    dsize, dvma, dlma = sec[".data"]
    assert b.ram.origin <= dvma < b.ram.origin + b.ram.size  # .data runs in RAM ...
    assert b.flash.origin <= dlma < b.flash.origin + b.flash.size  # ... loaded from flash
    assert semihosting_calls(elf) == []


@need_arm
@pytest.mark.slow  # two board builds
def test_board_rebuild_with_new_images_keeps_the_model_object(tmp_path):
    """`run --board` builds once per batch of images: an unchanged model_data.c keeps its mtime, so
    make recompiles input_data.c only (not the model's C array, 100 KB for m4-32)."""
    import time

    build = tmp_path / "b"
    build_dummy("nucleo-f446re", build)
    objs = {p.name: p for p in (build / "fw").rglob("*.o") if p.stem in ("model_data", "input_data")}
    assert set(objs) == {"model_data.o", "input_data.o"}
    before = {n: p.stat().st_mtime_ns for n, p in objs.items()}
    time.sleep(0.05)
    sources = {**DUMMY_SOURCES, "input_data.c": DUMMY_SOURCES["input_data.c"] + "\n/* the next batch */\n"}
    build_image(get_board("nucleo-f446re"), "app", build, sources,
                {"MODEL_C": "model_data.c", "INPUT_C": "input_data.c", "ARENA_BYTES": "1024"}, "app.elf")
    after = {n: p.stat().st_mtime_ns for n, p in objs.items()}
    assert after["model_data.o"] == before["model_data.o"]
    assert after["input_data.o"] > before["input_data.o"]


def test_run_qemu_stops_at_the_exit_line_and_times_out():
    script = "import sys,time; print('IMG 0', flush=True); print('BNN-EXIT 7\\r', flush=True); time.sleep(60)"
    r = run_qemu([sys.executable, "-c", script], timeout=30)
    assert r.status == 7 and r.stdout == "IMG 0\n"
    with pytest.raises(UserError, match="no BNN-EXIT line within 1 s"):
        run_qemu([sys.executable, "-c", "import time; print('hello', flush=True); time.sleep(60)"], timeout=1)
    with pytest.raises(UserError, match="ended before the image printed BNN-EXIT"):
        run_qemu([sys.executable, "-c", "print('bye')"], timeout=30)


@need_qemu
@pytest.mark.slow
@pytest.mark.parametrize("name", ["netduinoplus2", "microbit"])
def test_board_console_and_exit_status_on_qemu(name, tmp_path):
    elf = build_dummy(name, tmp_path / "build dir with blanks")  # make runs elsewhere, the image comes back
    r = run_qemu(qemu_command(get_board(name), elf), timeout=60)
    assert r.status == 2  # the app's "model rejected" exit status, through exit() -> _exit -> BNN-EXIT
    assert "bnn-app: model rejected" in r.stdout  # stderr on the board's UART


@need_qemu
@pytest.mark.slow
def test_run_board_netduinoplus2_200_images_bit_exact(tiny_export, tmp_path):
    proc = run_cli("run", str(tiny_export), "--board", "netduinoplus2", "--images", "200", "--json",
                   "--build-dir", str(tmp_path / "nd"), check=True)
    r = json.loads(proc.stdout)
    assert r["images"] == 200 and r["bit_exact"] is True and r["accuracy"] == r["reference_accuracy"]
    elf = tmp_path / "nd" / "fw" / "app.elf"
    assert sections(elf)[".text"][1] == 0x08000000
    assert semihosting_calls(elf) == []
    assert r["image"]["fits"] is True and r["image"]["board_flash_bytes"] == 1024 * 1024


@need_qemu
@pytest.mark.slow
def test_run_board_microbit_cortex_m0_in_16k(tiny_export, tmp_path):
    proc = run_cli("run", str(tiny_export), "--board", "microbit", "--images", "50", "--json",
                   "--build-dir", str(tmp_path / "mb"), check=True)
    r = json.loads(proc.stdout)
    assert r["images"] == 50 and r["bit_exact"] is True
    img = r["image"]
    assert img["ram_used_bytes"] == img["data"] + img["bss"] + img["stack_bytes"] <= 16 * 1024
    assert semihosting_calls(tmp_path / "mb" / "fw" / "app.elf") == []


# ---------------------------------------------------------------------------------------- the head


@need_qemu
@pytest.mark.slow
def test_cil_app_on_netduinoplus2_with_the_boards_flash_geometry(tmp_path):
    """The CIL application in the board image (UART, no semihosting), its two-slot store on the
    STM32F405's 16 KiB sectors and word programming: same state, predictions and commits as the twin."""
    import numpy as np

    from bnn_edge.device.board_image import run_cil_board
    from bnn_edge.sim.cil_stream import DIGITS_TASKS, group_tasks, make_stream, run_sim_stream, synthetic_latents
    from bnn_edge.sim.head import HeadConfig

    tr_x, tr_y, te_x, _ = synthetic_latents(seed=0, train_per_class=(20, 30), test_per_class=10)
    tasks = list(zip(group_tasks(tr_x, DIGITS_TASKS), group_tasks(tr_y, DIGITS_TASKS)))
    stream = make_stream(HeadConfig(seed=1), tasks, queries=np.concatenate(te_x), commit_after_task=True)
    c = run_cil_board(stream, "netduinoplus2", tmp_path / "cil")
    py = run_sim_stream(stream)
    assert c.state == py.state and np.array_equal(c.predictions, py.predictions) and c.errors == py.errors == []
    assert len(c.commits) == 6 and all(cm["roundtrip"] == 1 and cm["status"] == 0 for cm in c.commits)
    assert c.ticks["learn"] > 0  # SysTick runs on the board image
    assert "cil_flash_geom[3] = {16384u, 4u, 4u}" in (tmp_path / "cil" / "stream_data.c").read_text()
    elf = tmp_path / "cil" / "fw" / "cil_app.elf"
    assert sections(elf)[".text"][1] == 0x08000000 and semihosting_calls(elf) == []


@pytest.fixture(scope="module")
def pre5_board_export(tmp_path_factory) -> Path:
    """digits/tiny trained on 5 pre-training classes, exported for Cortex-M."""
    from bnn_edge.export import export_run
    from bnn_edge.train import train_run

    run = tmp_path_factory.mktemp("pre5_run")
    train_run("digits", "tiny", run, pretrain_classes=5, seed=0, verbose=False)
    out = tmp_path_factory.mktemp("pre5_export")
    export_run(run, out, samples=100)
    return out


@need_qemu
@pytest.mark.slow
def test_simulate_c_board_netduinoplus2_same_state(pre5_board_export, tmp_path):
    proc = run_cli("simulate", str(pre5_board_export), "--cil", "--c-target", "host", "--c-board", "netduinoplus2",
                   "--json", "--build-dir", str(tmp_path / "b"), check=True)
    r = json.loads(proc.stdout)
    assert r["bit_exact_vs_c"] is True
    assert set(r["c"]) == {"host", "netduinoplus2"}
    nd = r["c"]["netduinoplus2"]
    assert nd["bit_exact"] is True and nd["state_crc32"] == r["c"]["host"]["state_crc32"] and nd["errors"] == 0
    text = (tmp_path / "b" / "netduinoplus2" / "stream_data.c").read_text()
    assert "cil_flash_geom[3] = {16384u," in text  # the store on the board's sectors
    proc = run_cli("simulate", str(pre5_board_export), "--cil", "--c-board", "nucleo-f446re", "--json")
    assert proc.returncode == 2 and "QEMU models no such board" in proc.stderr


def test_probe_tool_failing_or_hanging_is_one_error(tmp_path):
    """The probe commands of both flash paths run bounded: a failure is the tool's last line, a tool
    that never returns (pyocd waiting for a probe to be plugged in) is killed after the timeout.
    The --target-mcu path passes --no-wait like the --board path."""
    from bnn_edge.device import firmware

    assert firmware.flash_commands(tmp_path / "a.elf", "pyocd", "stm32f429zi")[0][:3] == ["pyocd", "flash", "--no-wait"]
    fail = tmp_path / "fail.sh"
    fail.write_text("#!/bin/sh\necho 'Waiting...'\necho 'No connected debug probes' >&2\nexit 1\n")
    hang = tmp_path / "hang.sh"
    hang.write_text("#!/bin/sh\necho 'Waiting for a debug probe to be connected...'\nsleep 600\n")
    for f in (fail, hang):
        f.chmod(0o755)
    with pytest.raises(UserError, match=r"fail.sh failed \(exit 1\): No connected debug probes"):
        firmware.run_flash_commands([[str(fail)]])
    with pytest.raises(UserError, match=r"hang.sh timed out after 1 s"):
        firmware.run_flash_commands([[str(hang)]], timeout=1)
