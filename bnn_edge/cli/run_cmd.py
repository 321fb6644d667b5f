"""``bnn-edge run`` and ``bnn-edge flash``."""

from __future__ import annotations

import json

import click

from bnn_edge.cli import user_errors
from bnn_edge.cli.target_option import TargetChoice
from bnn_edge.device.targets import board_targets, firmware_targets

_TARGET_HELP = "; ".join(
    "host: native build" if t.core == "host" else f"{t.name}: {t.description} on QEMU {t.qemu_machine}"
    for t in firmware_targets()
) + " (also accepted: m4, cortex-m4, ...)."


@click.command()
@click.argument("export_dir", type=click.Path())
@click.option("--target", type=TargetChoice(firmware_targets), default="host", show_default=True, help=_TARGET_HELP)
@click.option("--board", default=None, metavar="NAME",
              help="A real board's image (its flash/RAM map, UART console, no semihosting) on QEMU's model of it "
                   "(netduinoplus2, microbit; `bnn-edge boards`); replaces --target.")
@click.option("--images", type=int, default=200, show_default=True, help="Test images of the run's dataset to embed and run.")
@click.option("--build-dir", type=click.Path(file_okay=False), default=None, help="Where to build (default EXPORT_DIR/build-TARGET).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
@user_errors
def run(ctx, export_dir, target, board, images, build_dir, as_json):
    """Run an export (EXPORT_DIR from `bnn-edge export`) in the C firmware, natively or on an emulated Cortex-M.

    Reports the device's accuracy, the Keras model's accuracy on the same images, and whether every
    latent bit and every logit is identical to the bit-exact simulator.
    """
    from bnn_edge.device.firmware import run_export
    from bnn_edge.errors import UserError

    if board is not None and ctx.get_parameter_source("target") is not click.core.ParameterSource.DEFAULT:
        raise UserError("--board and --target contradict each other (a board names its core)")
    from bnn_edge.device.firmware import claim_build_dir

    claim_build_dir(build_dir)
    r = run_export(export_dir, target=target, images=images, build_dir=build_dir, board=board)
    if as_json:
        click.echo(json.dumps(r, indent=2))
        return
    size = r["image"] or {}
    ref = "n/a" if r["reference_accuracy"] is None else f"{r['reference_accuracy']:.4f}"
    click.echo(f"{r['target']}: {r['images']} images, accuracy {r['accuracy']:.4f} (Keras {ref}), "
               f"bit_exact={str(r['bit_exact']).lower()}, arena {r['arena_bytes']} B"
               + (f", image flash {size['flash_bytes']} B, static RAM {size['ram_bytes']} B" if size else ""))


@click.command()
@click.argument("export_dir", type=click.Path())
@click.option("--board", default=None, metavar="NAME",
              help="The board (`bnn-edge boards`): its memory map, UART console and probe target names.")
@click.option("--probe", type=click.Choice(["pyocd", "openocd"]), default=None,
              help="Debug probe software  [default with --board: pyocd].")
@click.option("--target-mcu", default=None,
              help="Without --board: probe target name, e.g. stm32f429zi (pyocd) or stm32f4x (openocd); "
                   "the image then uses the QEMU mps2 memory map (adapt it, see firmware/README.md).")
@click.option("--cpu", type=TargetChoice(board_targets, "core"), default="m4", show_default=True,
              help="Core to compile for (also accepted: cortex-m4, qemu-m4, ...).")
@click.option("--interface", default="cmsis-dap", show_default=True, help="OpenOCD interface config (interface/NAME.cfg).")
@click.option("--build-dir", type=click.Path(file_okay=False), default=None, help="Where to build (default EXPORT_DIR/build-BOARD).")
@click.option("--dry-run", is_flag=True, help="Print the build and flash commands without running them.")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def flash(export_dir, board, probe, target_mcu, cpu, interface, build_dir, dry_run, as_json):
    """Build the example firmware for a board with an export embedded and flash it with pyOCD or OpenOCD.

    With --board the image boots from the board's flash (vector table, .data copy, .bss clear),
    prints on the board's UART and ends with a `BNN-EXIT 0` line; the probe target comes from the
    board definition (firmware/boards/NAME.mk).
    """
    from bnn_edge.device.firmware import claim_build_dir
    from bnn_edge.errors import UserError

    claim_build_dir(build_dir, create=not dry_run)
    if board is not None:
        if target_mcu is not None:
            raise UserError("--board and --target-mcu contradict each other (the board names its probe target)")
        from bnn_edge.device.board_image import flash_board

        r = flash_board(export_dir, board, probe or "pyocd", dry_run=dry_run, build_dir=build_dir)
    else:
        if probe is None or target_mcu is None:
            raise UserError("flash needs --board NAME (`bnn-edge boards` lists them), or --probe and --target-mcu")
        from bnn_edge.device.firmware import flash_export

        r = flash_export(export_dir, probe, target_mcu, cpu=cpu, interface=interface, dry_run=dry_run, build_dir=build_dir)
    if as_json:
        click.echo(json.dumps(r, indent=2))
        return
    import shlex

    click.echo("build: " + shlex.join(r["build"]))
    if r.get("image"):
        click.echo(f"image: {r['elf']} (flash {r['image']['flash_bytes']} B, RAM {r['image']['ram_used_bytes']} B "
                   f"with the stack, of {r['image']['board_ram_bytes']} B)")
    for cmd in r["flash"]:
        click.echo(("would run: " if dry_run else "ran: ") + shlex.join(cmd))
