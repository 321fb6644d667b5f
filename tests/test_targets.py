"""The one table of targets (bnn_edge/device/targets.py) against everything that names a core: the
firmware's per-core make includes, the CLI choices, the export budgets and the benchmark boards."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import click
import pytest

from bnn_edge.device.targets import TARGETS, board_targets, budget_targets, firmware_targets, lookup

ROOT = Path(__file__).resolve().parents[1]
TARGETS_DIR = ROOT / "firmware" / "targets"


def _option(command: str, name: str) -> click.Parameter:
    from bnn_edge.cli import main

    return next(p for p in main.commands[command].params if p.name == name)


def test_every_spelling_names_exactly_one_row() -> None:
    seen: dict[str, str] = {}
    for t in TARGETS:
        for s in t.spellings:
            assert s.lower() not in seen, f"{s} names both {seen[s.lower()]} and {t.name}"
            seen[s.lower()] = t.name
            assert lookup(s) is t and lookup(s.upper()) is t
    # the three spellings in use before the table existed
    assert lookup("cortex-m4") is lookup("qemu-m4") is lookup("m4") is not None
    assert lookup("m99") is None and lookup("") is None


def test_rows_are_complete() -> None:
    for t in board_targets():
        assert t.cpu and t.qemu_machine and t.linker_script and t.systick_hz and t.flash_bytes and t.ram_bytes
        assert (ROOT / "firmware" / "ports" / "cortex-m" / t.linker_script).is_file(), t.linker_script
        assert t.insns_per_tick * t.systick_hz == 10**9
    assert [t.core for t in firmware_targets()] == ["host", *(t.core for t in board_targets())]


def test_table_cores_are_the_firmware_make_includes() -> None:
    """One row per firmware/targets/<core>.mk, agreeing on -mcpu, QEMU board and linker script as the
    Makefile itself reads them (`make targets`: core, cpu, QEMU machine, linker script)."""
    mk = {p.stem for p in TARGETS_DIR.glob("*.mk")}
    assert {t.core for t in firmware_targets()} == mk
    out = subprocess.run(["make", "-s", "--no-print-directory", "-C", str(ROOT / "firmware"), "targets"],
                         capture_output=True, text=True, check=True).stdout
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    assert set(rows) == mk
    for t in board_targets():
        assert rows[t.core] == [t.cpu, t.qemu_machine, t.linker_script], t.core
    assert rows["host"] == []


def test_cli_choices_come_from_the_table() -> None:
    names = [t.name for t in firmware_targets()]
    assert list(_option("run", "target").type.choices) == names
    assert list(_option("simulate", "c_targets").type.choices) == names
    assert "qemu-m33" in names
    assert list(_option("flash", "cpu").type.choices) == [t.core for t in board_targets()]
    assert list(_option("export", "cpu").type.choices) == [t.cpu for t in budget_targets()]


@pytest.mark.parametrize("command, option, given, want", [
    ("run", "target", "qemu-m4", "qemu-m4"),
    ("run", "target", "m4", "qemu-m4"),
    ("run", "target", "cortex-m7", "qemu-m7"),
    ("simulate", "c_targets", "m33", "qemu-m33"),
    ("export", "cpu", "cortex-m4", "cortex-m4"),
    ("export", "cpu", "qemu-m4", "cortex-m4"),
    ("export", "cpu", "m55", "cortex-m55"),
    ("flash", "cpu", "m4", "m4"),
    ("flash", "cpu", "cortex-m33", "m33"),
])  # fmt: skip
def test_old_spellings_are_normalised(command: str, option: str, given: str, want: str) -> None:
    assert _option(command, option).type.convert(given, None, None) == want


@pytest.mark.parametrize("command, option, given", [
    ("run", "target", "cortex-m0plus"),  # a budget only: no firmware build for it
    ("flash", "cpu", "host"),
    ("export", "cpu", "host"),
    ("run", "target", "m99"),
])  # fmt: skip
def test_rows_outside_a_command_are_refused(command: str, option: str, given: str) -> None:
    with pytest.raises(click.BadParameter):
        _option(command, option).type.convert(given, None, None)


def test_export_budgets_and_bench_boards_come_from_the_table() -> None:
    from bnn_edge.export import CPUS

    assert {c: (b.flash_kb * 1024, b.ram_kb * 1024) for c, b in CPUS.items()} == {
        t.cpu: (t.flash_bytes, t.ram_bytes) for t in budget_targets()
    }
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "run.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert list(bench.BOARDS) == [t.core for t in board_targets()]
    for t in board_targets():
        assert bench.BOARDS[t.core] == (t.qemu_machine, t.description, t.insns_per_tick)
