"""Real development boards: one definition each, ``firmware/boards/<name>.mk``.

A definition is a few ``BOARD_KEY = value`` lines, read by ``firmware/boards.mk`` (which builds
the image) and by this module (which lists boards, runs the ones QEMU models and flashes the
others). Adding a board is adding one such file; :data:`KEYS` names the lines.

Sizes are ``<n>K`` or ``<n>M`` (the linker's spelling) or plain bytes; addresses are hex.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from bnn_edge.errors import UserError

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"
BOARDS_DIR = FIRMWARE / "boards"

#: the lines of a definition (all required; BOARD_UART_CLKEN only for STM32 consoles, BOARD_QEMU may be empty)
KEYS = {
    "BOARD_TITLE": "human name and MCU",
    "BOARD_CORE": "core id of the kernels (m0, m4, m7, ...)",
    "BOARD_CPU": "-mcpu of the compiler (cortex-m4, ...)",
    "BOARD_FLASH": "flash: origin size (the vector table goes at origin)",
    "BOARD_RAM": "RAM for .data, .bss, heap and stack: origin size",
    "BOARD_STACK": "stack size reserved at the top of RAM",
    "BOARD_CLOCK_HZ": "core and UART clock as left by the reset (the image does not change it)",
    "BOARD_FLASH_PAGE": "erase unit in bytes (the head's two-slot store)",
    "BOARD_FLASH_PROG": "program unit in bytes (the head's two-slot store)",
    "BOARD_UART": "console driver family: ports/board/console_<family>.c",
    "BOARD_UART_BASE": "console UART base address",
    "BOARD_UART_BAUD": "console baud rate",
    "BOARD_UART_TX": "TX pin: STM32 'gpio-base pin af', nRF 'pin'",
    "BOARD_PYOCD": "pyOCD target name (pyocd list --targets)",
    "BOARD_OPENOCD": "OpenOCD config files (-f each), e.g. board/st_nucleo_f4.cfg",
    "BOARD_QEMU": "qemu-system-arm -M machine modelling this board (empty: none)",
}
OPTIONAL = {"BOARD_UART_CLKEN": "STM32: RCC enable register and bit of the UART, then of the TX pin's GPIO port",
            "BOARD_QEMU": KEYS["BOARD_QEMU"]}

_LINE = re.compile(r"^\s*(BOARD_[A-Z0-9_]+)\s*:?=\s*(.*?)\s*$")
_SIZE = re.compile(r"^(\d+)([KM]?)$")


@dataclass(frozen=True)
class Region:
    origin: int
    size: int

    def as_dict(self) -> dict[str, Any]:
        return {"origin": f"0x{self.origin:08x}", "bytes": self.size}


@dataclass(frozen=True)
class Board:
    """One board definition (``firmware/boards/<name>.mk``)."""

    name: str
    title: str
    core: str
    cpu: str
    flash: Region
    ram: Region
    stack_bytes: int
    clock_hz: int
    flash_page: int
    flash_prog_unit: int
    uart: str
    uart_base: int
    uart_baud: int
    pyocd_target: str
    openocd_configs: tuple[str, ...]
    qemu_machine: str | None
    path: Path

    def as_dict(self) -> dict[str, Any]:
        """JSON-able summary (``bnn-edge boards --json``)."""
        d = asdict(self)
        d.update(flash=self.flash.as_dict(), ram=self.ram.as_dict(), uart_base=f"0x{self.uart_base:08x}",
                 openocd_configs=list(self.openocd_configs), path=str(self.path))
        return d


def parse_size(text: str) -> int:
    """``512K`` -> 524288, ``1M`` -> 1048576, ``0x400`` / ``1024`` -> 1024."""
    text = text.strip()
    if text.lower().startswith("0x"):
        return int(text, 16)
    m = _SIZE.match(text)
    if not m:
        raise ValueError(f"not a size: {text!r}")
    return int(m.group(1)) * {"": 1, "K": 1024, "M": 1024 * 1024}[m.group(2)]


def _region(text: str) -> Region:
    parts = text.split()
    if len(parts) != 2:
        raise ValueError(f"expected 'origin size', got {text!r}")
    return Region(int(parts[0], 0), parse_size(parts[1]))


def parse_board(path: str | Path) -> Board:
    """Read one definition; a :class:`UserError` naming the file and line for a malformed one."""
    path = Path(path)
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _LINE.match(line)
        if not m:
            raise UserError(f"{path}: cannot read line {line!r} (expected BOARD_KEY = value)")
        values[m.group(1)] = m.group(2)
    missing = [k for k in KEYS if k not in values and k not in OPTIONAL]
    if missing:
        raise UserError(f"{path}: missing {', '.join(missing)}")
    try:
        return Board(
            name=path.stem,
            title=values["BOARD_TITLE"],
            core=values["BOARD_CORE"],
            cpu=values["BOARD_CPU"],
            flash=_region(values["BOARD_FLASH"]),
            ram=_region(values["BOARD_RAM"]),
            stack_bytes=parse_size(values["BOARD_STACK"]),
            clock_hz=int(values["BOARD_CLOCK_HZ"], 0),
            flash_page=parse_size(values["BOARD_FLASH_PAGE"]),
            flash_prog_unit=parse_size(values["BOARD_FLASH_PROG"]),
            uart=values["BOARD_UART"],
            uart_base=int(values["BOARD_UART_BASE"], 0),
            uart_baud=int(values["BOARD_UART_BAUD"], 0),
            pyocd_target=values["BOARD_PYOCD"],
            openocd_configs=tuple(values["BOARD_OPENOCD"].split()),
            qemu_machine=values.get("BOARD_QEMU") or None,
            path=path,
        )
    except ValueError as exc:
        raise UserError(f"{path}: {exc}") from None


@lru_cache(maxsize=None)
def _load(directory: str) -> dict[str, Board]:
    return {p.stem: parse_board(p) for p in sorted(Path(directory).glob("*.mk"))}


def all_boards(directory: str | Path = BOARDS_DIR) -> dict[str, Board]:
    """Every board definition, by name."""
    return dict(_load(str(directory)))


def get_board(name: str, directory: str | Path = BOARDS_DIR) -> Board:
    """The board ``name``; an unknown one is a :class:`UserError` listing the known boards."""
    boards = all_boards(directory)
    if name not in boards:
        raise UserError(f"--board {name}: unknown board; known boards: {', '.join(boards)}")
    return boards[name]
