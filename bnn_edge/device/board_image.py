"""Images for real boards: build (``make -C firmware ... BOARD=<name>``), run under QEMU when it
models the board, flash through a debug probe.

A board image prints on its UART and ends with the line ``BNN-EXIT <status>`` (no semihosting,
so it cannot stop QEMU itself): :func:`run_qemu` reads QEMU's serial port on a pipe, stops QEMU at
that line (or after a timeout) and returns what the board printed and the status.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from bnn_edge.device.boards import FIRMWARE, Board, get_board
from bnn_edge.device.firmware import PROBES
from bnn_edge.errors import UserError

EXIT_LINE = re.compile(r"^BNN-EXIT (-?\d+)\s*$")


@dataclass
class BoardRun:
    stdout: str  # what the board printed, "\r\n" turned into "\n", up to the BNN-EXIT line
    status: int  # the status in BNN-EXIT


def check_build_tools(need_qemu: bool = False) -> None:
    """One error line when make, the cross compiler or QEMU is missing."""
    need = ["make", "arm-none-eabi-gcc"] + (["qemu-system-arm"] if need_qemu else [])
    missing = [t for t in need if shutil.which(t) is None]
    if missing:
        raise UserError(f"a board image needs {', '.join(missing)}: run `make setup` (installs the Debian packages)")


def make_command(board: Board, goal: str, build: Path, variables: dict[str, str | Path]) -> list[str]:
    """``make -C firmware <goal> BOARD=<name> BUILD=<build> K=V ...`` (one argv element per variable,
    so no shell quoting is involved)."""
    return ["make", "-s", "--no-print-directory", "-C", str(FIRMWARE), goal, f"BOARD={board.name}",
            f"BUILD={build}", *(f"{k}={v}" for k, v in variables.items())]


def run_make(cmd: list[str], what: str, timeout: float = 900) -> None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise UserError(f"{what}: the build timed out after {timeout:.0f} s") from None
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()] or ["(no output)"]
        errs = [ln for ln in lines if "error" in ln.lower()]
        raise UserError(f"{what}: build failed: {(errs or lines)[-1].strip()}")


def _spaceless(path: Path) -> bool:
    return not re.search(r"\s", str(path))


def build_image(board: Board, goal: str, build_dir: Path, sources: dict[str, str], variables: dict[str, str],
                elf_name: str) -> Path:
    """Write ``sources`` (file name -> C text) into ``build_dir``, build ``goal`` for ``board`` and
    return ``build_dir/fw/<elf_name>``. make cannot handle paths with blanks, so a ``build_dir``
    with any is built in a temporary directory and the image copied back."""
    build_dir = Path(build_dir).resolve()
    try:
        build_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create build directory {build_dir} ({exc.strerror or exc})") from None
    from bnn_edge.device.firmware import write_if_changed

    for name, text in sources.items():  # unchanged sources keep their mtime: make does not recompile them
        write_if_changed(build_dir / name, text)
    if not _spaceless(FIRMWARE):
        raise UserError(f"the firmware directory {FIRMWARE} contains a blank, which make cannot handle")
    work = build_dir if _spaceless(build_dir) else Path(tempfile.mkdtemp(prefix="bnn-board-"))
    try:
        for name, text in sources.items():
            if work != build_dir:
                (work / name).write_text(text)
        var = {k: (str(work / v) if v in sources else v) for k, v in variables.items()}
        run_make(make_command(board, goal, work / "fw", var), f"--board {board.name}")
        elf = work / "fw" / elf_name
        if work != build_dir:
            (build_dir / "fw").mkdir(exist_ok=True)
            shutil.copy2(elf, build_dir / "fw" / elf_name)
    finally:
        if work != build_dir:
            shutil.rmtree(work, ignore_errors=True)
    return build_dir / "fw" / elf_name


def qemu_board(name: str) -> Board:
    """The board ``name`` if QEMU models it; else one error line naming the boards QEMU runs."""
    board = get_board(name)
    if not board.qemu_machine:
        raise UserError(f"--board {board.name}: QEMU models no such board (boards QEMU runs: "
                        f"{', '.join(n for n, b in _boards().items() if b.qemu_machine)}); "
                        f"`bnn-edge flash --board {board.name}` puts it on the real one")
    return board


def qemu_command(board: Board, elf: Path, icount: bool = False) -> list[str]:
    """QEMU with the board's UART (serial0) on stdout, no monitor, no semihosting."""
    qemu_board(board.name)
    return ["qemu-system-arm", "-M", board.qemu_machine, "-nographic", "-monitor", "none", "-serial", "stdio",
            *(["-icount", "shift=0"] if icount else []), "-kernel", str(elf)]


def _boards() -> dict[str, Board]:
    from bnn_edge.device.boards import all_boards

    return all_boards()


def run_qemu(cmd: Sequence[str], timeout: float = 600.0) -> BoardRun:
    """Run QEMU, collect the UART up to ``BNN-EXIT <status>``, stop QEMU; a :class:`UserError` when
    QEMU ends first or the line does not come within ``timeout`` seconds."""
    proc = subprocess.Popen(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            text=True, errors="replace")
    lines: list[str] = []
    status: list[int] = []
    done = threading.Event()

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip("\r\n")
            m = EXIT_LINE.match(line)
            if m:
                status.append(int(m.group(1)))
                break
            lines.append(line)
        done.set()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    finished = done.wait(timeout)
    proc.kill()
    proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()
    text = "\n".join(lines) + "\n"
    if not finished:
        raise UserError(f"{cmd[0]} -M {cmd[2]}: no BNN-EXIT line within {timeout:.0f} s "
                        f"(last output: {(lines or ['(none)'])[-1][:120]})")
    if not status:
        raise UserError(f"{cmd[0]} -M {cmd[2]} ended before the image printed BNN-EXIT "
                        f"(last output: {(lines or ['(none)'])[-1][:120]})")
    return BoardRun(text, status[0])


def image_memory(elf: Path, board: Board) -> dict[str, Any] | None:
    """Flash and RAM of the image against the board: ``ram_used_bytes`` = .data + .bss + the
    reserved stack (the linker script already refuses an image over the board's RAM)."""
    if not Path(elf).exists() or shutil.which("arm-none-eabi-size") is None:
        return None
    out = subprocess.run(["arm-none-eabi-size", str(elf)], capture_output=True, text=True).stdout.splitlines()
    if len(out) < 2:
        return None
    text, data, bss = (int(v) for v in out[1].split()[:3])
    ram_used = data + bss + board.stack_bytes
    return {"flash_bytes": text + data, "ram_bytes": data + bss, "text": text, "data": data, "bss": bss,
            "stack_bytes": board.stack_bytes, "ram_used_bytes": ram_used,
            "board_flash_bytes": board.flash.size, "board_ram_bytes": board.ram.size,
            "fits": text + data <= board.flash.size and ram_used <= board.ram.size}


# ---------------------------------------------------------------------------------------------
# the example application (bnn-edge run / flash)


def app_sources(pack_bytes: bytes, images: Any) -> dict[str, str]:
    from bnn_edge.codegen.model_data import c_array_files
    from bnn_edge.device.firmware import input_c_source

    c_src, _ = c_array_files(pack_bytes)
    return {"model_data.c": c_src, "input_data.c": input_c_source(images)}


def build_app(pack_bytes: bytes, images: Any, board: Board, build_dir: Path) -> Path:
    """The example app (firmware/app/main.c) for ``board`` with the pack and ``images`` embedded."""
    from converters import bnnpack as bp

    pack = bp.read_pack(pack_bytes)
    check_build_tools()
    arena = max(pack.arena_bytes + pack.scratch_bytes + 64, 64)
    return build_image(board, "app", build_dir, app_sources(pack_bytes, images),
                       {"MODEL_C": "model_data.c", "INPUT_C": "input_data.c", "ARENA_BYTES": str(arena)}, "app.elf")


def build_and_run_board(pack_bytes: bytes, images: Any, board_name: str, build_dir: Path, timeout: float = 900):
    """``bnn-edge run --board``: build the board image, run it on the QEMU model of the board, parse
    the ``IMG``/``DONE`` lines (:func:`bnn_edge.device.firmware.parse_output`)."""
    from bnn_edge.device.firmware import parse_output
    from converters import bnnpack as bp

    board = qemu_board(board_name)
    check_build_tools(need_qemu=True)
    elf = build_app(pack_bytes, images, board, build_dir)
    run = run_qemu(qemu_command(board, elf), timeout=timeout)
    if run.status != 0:
        tail = [ln for ln in run.stdout.splitlines() if ln.strip()] or ["(no output)"]
        raise UserError(f"firmware on {board.name} failed (exit {run.status}): {tail[-1][:200]}")
    return parse_output(run.stdout, bp.read_pack(pack_bytes), len(images)), elf


# ---------------------------------------------------------------------------------------------
# flashing


def flash_commands(elf: Path, board: Board, probe: str) -> list[list[str]]:
    """The commands that write ``elf`` to ``board`` through a debug probe.

    pyOCD: ``pyocd flash --no-wait --target <BOARD_PYOCD> <elf>`` (no probe: an error at once, not a
    wait for one to be plugged in); OpenOCD: ``openocd -f <cfg> ... -c
    "program {<elf>} verify reset exit"`` (braces: Tcl takes the path literally, blanks included)."""
    if probe == "pyocd":
        return [["pyocd", "flash", "--no-wait", "--target", board.pyocd_target, str(elf)]]
    if probe == "openocd":
        if re.search(r"[{}\\]", str(elf)):
            raise UserError(f"{elf}: OpenOCD cannot take a path with braces or backslashes; use --build-dir")
        cfgs = [a for c in board.openocd_configs for a in ("-f", c)]
        return [["openocd", *cfgs, "-c", f"program {{{elf}}} verify reset exit"]]
    raise UserError(f"--probe {probe}: expected one of {', '.join(PROBES)}")


def flash_board(export_dir: str | os.PathLike, board_name: str, probe: str = "pyocd", dry_run: bool = False,
                build_dir: str | os.PathLike | None = None, images: int = 1) -> dict[str, Any]:
    """``bnn-edge flash --board``: build the example app for the board with the export embedded
    (``images`` all-zero inputs), then flash it with pyOCD or OpenOCD. ``dry_run`` returns the
    exact commands without running anything."""
    import numpy as np

    from bnn_edge.export_dir import read_export_pack

    board = get_board(board_name)
    if probe not in PROBES:
        raise UserError(f"--probe {probe}: expected one of {', '.join(PROBES)}")
    export_dir = Path(export_dir)
    pack_bytes, pack, _info = read_export_pack(export_dir)  # hashes checked: never flash a modified pack
    build = Path(build_dir) if build_dir else export_dir / f"build-{board.name}"
    build = build.resolve()
    elf = build / "fw" / "app.elf"
    arena = max(pack.arena_bytes + pack.scratch_bytes + 64, 64)
    shown_make = make_command(board, "app", build / "fw", {"MODEL_C": build / "model_data.c",
                                                          "INPUT_C": build / "input_data.c", "ARENA_BYTES": str(arena)})
    cmds = flash_commands(elf, board, probe)
    result: dict[str, Any] = {"board": board.name, "probe": probe, "target": board.pyocd_target if probe == "pyocd"
                              else list(board.openocd_configs), "build": shown_make, "flash": cmds,
                              "elf": str(elf), "dry_run": dry_run}
    if dry_run:
        return result
    if shutil.which(cmds[0][0]) is None:
        hint = "pip install pyocd (or make setup)" if probe == "pyocd" else "apt-get install openocd"
        raise UserError(f"{cmds[0][0]} is not installed ({hint})")
    h, w, c = pack.tensors[pack.input_tensor].shape
    build_app(pack_bytes, np.zeros((images, h, w, c), np.uint8), board, build)
    result["image"] = image_memory(elf, board)
    from bnn_edge.device.firmware import run_flash_commands

    run_flash_commands(cmds)
    result["flashed"] = True
    return result


# ---------------------------------------------------------------------------------------------
# the CIL application (bnn-edge simulate --c-board)


def run_cil_board(stream: Any, board_name: str, build_dir: Path, timeout: float = 600.0) -> Any:
    """The CIL application (``firmware/app/cil_main.c`` + the head) with ``stream`` embedded, in the
    image of ``board_name`` (``make -C firmware cil-app BOARD=<name>``), run on QEMU's model of the
    board with ``-icount shift=0``; its two-slot store gets the board's flash geometry (page,
    program unit). Returns the parsed :class:`~bnn_edge.sim.cil_stream.StreamResult`."""
    import dataclasses

    from bnn_edge.device.cil_app import parse_output, write_stream_c

    board = qemu_board(board_name)
    check_build_tools(need_qemu=True)
    stream = dataclasses.replace(stream, flash_page=board.flash_page, flash_prog_unit=board.flash_prog_unit)
    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    text = write_stream_c(stream, build_dir / "stream_data.c").read_text()
    defs = f"-DBNN_HEAD_MAX_CLASSES={max(100, stream.config.max_classes)}"
    elf = build_image(board, "cil-app", build_dir, {"stream_data.c": text},
                      {"CIL_STREAM_C": "stream_data.c", "APP_DEFS": defs}, "cil_app.elf")
    run = run_qemu(qemu_command(board, elf, icount=True), timeout=timeout)
    try:
        return parse_output(run.stdout)
    except RuntimeError as exc:
        raise UserError(f"CIL app on {board.name} (exit {run.status}): {str(exc).splitlines()[0]}") from None
