"""``bnn-edge boards``: the real boards (firmware/boards/*.mk)."""

from __future__ import annotations

import json

import click

from bnn_edge.cli import user_errors


def _kib(n: int) -> str:
    return f"{n // 1024} KiB" if n % 1024 == 0 else f"{n} B"


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the boards as JSON.")
@user_errors
def boards(as_json):
    """List the boards `run --board` and `flash --board` know: memory, core, console, probe targets.

    A board is one file, firmware/boards/NAME.mk (see "Bring up a new board" in firmware/README.md).
    """
    from bnn_edge.device.boards import all_boards

    table = all_boards()
    if as_json:
        click.echo(json.dumps([b.as_dict() for b in table.values()], indent=2))
        return
    for b in table.values():
        click.echo(f"{b.name:18} {b.title}: {b.cpu} ({b.core}), flash {_kib(b.flash.size)} at 0x{b.flash.origin:08x}, "
                   f"RAM {_kib(b.ram.size)} at 0x{b.ram.origin:08x}; pyocd {b.pyocd_target}, openocd "
                   f"{' '.join(b.openocd_configs)}" + (f"; QEMU -M {b.qemu_machine}" if b.qemu_machine else ""))
