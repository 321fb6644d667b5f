"""The one table of targets: every place that names a core (CLI choices, export budgets, benchmark
boards, the firmware's ``make TARGET=``) is derived from :data:`TARGETS`.

A row that builds firmware (``host``, or a core with a linker script) has its make include
``firmware/targets/<core>.mk`` (a test checks that the two agree). Rows without a linker script
(``cortex-m0plus``) are budgets only: ``bnn-edge export --cpu`` accounts flash and
RAM against them, nothing is built for them yet.

Every spelling of a row is accepted as input -- its CLI name (``qemu-m4``), core id (``m4``),
``-mcpu`` name (``cortex-m4``) -- and normalised through :func:`lookup`.

Timing unit on QEMU: with ``-icount shift=0`` virtual time advances 1 ns per instruction, so the
board's SysTick at ``systick_hz`` advances one tick per ``10**9 / systick_hz`` instructions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from bnn_edge.errors import UserError


@dataclass(frozen=True)
class Target:
    """One row: a place the firmware runs (or a part class export budgets against)."""

    name: str  # CLI spelling: `bnn-edge run --target NAME`
    core: str  # core id: make TARGET=<core>, firmware/targets/<core>.mk
    cpu: Optional[str] = None  # -mcpu name; `bnn-edge export --cpu`
    description: str = ""
    qemu_machine: Optional[str] = None  # qemu-system-arm -M
    linker_script: Optional[str] = None  # under firmware/ports/cortex-m
    systick_hz: Optional[int] = None  # the QEMU board's SysTick clock
    flash_bytes: Optional[int] = None  # budget: flash of a typical part
    ram_bytes: Optional[int] = None  # budget: RAM of a typical part
    code_bytes: Optional[int] = None  # runtime code estimate for the export's flash accounting
    example: str = ""  # parts with that budget
    aliases: tuple[str, ...] = ()

    @property
    def builds(self) -> bool:
        """True when the firmware builds for this row (``make -C firmware TARGET=<core>``)."""
        return self.core == "host" or self.linker_script is not None

    @property
    def insns_per_tick(self) -> Optional[float]:
        """Instructions per SysTick tick under ``qemu -icount shift=0`` (1 ns per instruction):
        40 at 25 MHz, 62.5 on the microbit's 16 MHz, 31.25 on the AN547's 32 MHz."""
        return None if self.systick_hz is None else 10**9 / self.systick_hz

    @property
    def spellings(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s for s in (self.name, self.core, self.cpu, *self.aliases) if s))


_KB = 1024
TARGETS: tuple[Target, ...] = (
    Target("host", "host", description="native build (gcc)", aliases=("native",)),
    Target("cortex-m0plus", "m0plus", "cortex-m0plus", "Cortex-M0+", flash_bytes=256 * _KB, ram_bytes=32 * _KB,
           code_bytes=9 * _KB, example="e.g. RP2040-class / STM32G0: 256 KB flash, 32 KB RAM"),
    Target("qemu-m0", "m0", "cortex-m0", "Cortex-M0 (Armv6-M, 16 KB RAM)", "microbit", "microbit.ld", 16_000_000,
           256 * _KB, 16 * _KB, 9 * _KB, "e.g. nRF51822 (BBC micro:bit v1): 256 KB flash, 16 KB RAM"),
    Target("qemu-m4", "m4", "cortex-m4", "Cortex-M4", "mps2-an386", "mps2_an386.ld", 25_000_000,
           1024 * _KB, 256 * _KB, 10 * _KB, "e.g. STM32F4/nRF52840: 1 MB flash, 256 KB RAM"),
    Target("qemu-m7", "m7", "cortex-m7", "Cortex-M7", "mps2-an500", "mps2_an500.ld", 25_000_000,
           2048 * _KB, 512 * _KB, 10 * _KB, "e.g. STM32F7/H7: 2 MB flash, 512 KB RAM"),
    Target("qemu-m33", "m33", "cortex-m33", "Cortex-M33 (Armv8-M Mainline)", "mps2-an505", "mps2_an505.ld",
           20_000_000, 1024 * _KB, 256 * _KB, 10 * _KB, "e.g. STM32U5/nRF5340: 1 MB flash, 256 KB RAM"),
    Target("qemu-m55", "m55", "cortex-m55", "Cortex-M55 (Armv8.1-M + MVE)", "mps3-an547", "mps3_an547.ld",
           32_000_000, 2048 * _KB, 1024 * _KB, 10 * _KB, "e.g. Alif Ensemble-class: 2 MB flash, 1 MB RAM"),
)  # fmt: skip


def lookup(spelling: str) -> Optional[Target]:
    """The row any of whose spellings is ``spelling`` (case-insensitive), or None."""
    s = str(spelling).strip().lower()
    for t in TARGETS:
        if s in (x.lower() for x in t.spellings):
            return t
    return None


def firmware_targets() -> tuple[Target, ...]:
    """Rows the firmware builds for: ``bnn-edge run --target``, ``simulate --c-target``."""
    return tuple(t for t in TARGETS if t.builds)


def board_targets() -> tuple[Target, ...]:
    """Cortex-M cores the firmware builds for, each with its QEMU board: ``flash --cpu``, benchmarks."""
    return tuple(t for t in TARGETS if t.builds and t.core != "host")


def budget_targets() -> tuple[Target, ...]:
    """Rows with a flash/RAM budget: ``bnn-edge export --cpu``."""
    return tuple(t for t in TARGETS if t.cpu and t.flash_bytes and t.ram_bytes)


def resolve(spelling: str, among: tuple[Target, ...], option: str, attr: str = "name") -> Target:
    """The row ``spelling`` names, which must be one of ``among``; else a :class:`UserError`
    ``<option> <spelling>: expected one of ...`` listing ``attr`` of each allowed row."""
    t = lookup(spelling)
    if t is None or t not in among:
        raise UserError(f"{option} {spelling}: expected one of {', '.join(str(getattr(r, attr)) for r in among)}")
    return t
