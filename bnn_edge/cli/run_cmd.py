"""``bnn-edge run`` and ``bnn-edge flash``."""

from __future__ import annotations

import json

import click

from bnn_edge.cli import user_errors


@click.command()
@click.argument("export_dir", type=click.Path())
@click.option("--target", type=click.Choice(["host", "qemu-m0", "qemu-m4", "qemu-m7", "qemu-m33", "qemu-m55"]), default="host", show_default=True,
              help="host: native build; qemu-m0: Cortex-M0 on QEMU microbit (16 KB RAM); qemu-m4: Cortex-M4 on QEMU mps2-an386; "
                   "qemu-m7: Cortex-M7 on mps2-an500; qemu-m33: Cortex-M33 on mps2-an505; qemu-m55: Cortex-M55 (MVE) on mps3-an547.")
@click.option("--images", type=int, default=200, show_default=True, help="Test images of the run's dataset to embed and run.")
@click.option("--build-dir", type=click.Path(file_okay=False), default=None, help="Where to build (default EXPORT_DIR/build-TARGET).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@user_errors
def run(export_dir, target, images, build_dir, as_json):
    """Run an export (EXPORT_DIR from `bnn-edge export`) in the C firmware, natively or on an emulated Cortex-M.

    Reports the device's accuracy, the Keras model's accuracy on the same images, and whether every
    latent bit and every logit is identical to the bit-exact simulator.
    """
    from bnn_edge.firmware import run_export

    r = run_export(export_dir, target=target, images=images, build_dir=build_dir)
    if as_json:
        click.echo(json.dumps(r, indent=2))
        return
    size = r["image"] or {}
    click.echo(f"{target}: {r['images']} images, accuracy {r['accuracy']:.4f} (Keras {r['reference_accuracy']:.4f}), "
               f"bit_exact={str(r['bit_exact']).lower()}, arena {r['arena_bytes']} B"
               + (f", image flash {size['flash_bytes']} B, static RAM {size['ram_bytes']} B" if size else ""))


@click.command()
@click.argument("export_dir", type=click.Path())
@click.option("--probe", type=click.Choice(["pyocd", "openocd"]), required=True, help="Debug probe software.")
@click.option("--target-mcu", required=True, help="Probe target name, e.g. stm32f429zi (pyocd) or stm32f4x (openocd).")
@click.option("--cpu", type=click.Choice(["m4", "m7"]), default="m4", show_default=True, help="Core to compile for.")
@click.option("--interface", default="cmsis-dap", show_default=True, help="OpenOCD interface config (interface/NAME.cfg).")
@click.option("--dry-run", is_flag=True, help="Print the build and flash commands without running them.")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def flash(export_dir, probe, target_mcu, cpu, interface, dry_run, as_json):
    """Build the example firmware with an export embedded and flash it to a board with pyOCD or OpenOCD.

    The image uses firmware/ports/cortex-m; adapt its linker script to your board's flash/RAM map
    (see firmware/README.md).
    """
    from bnn_edge.firmware import flash_export

    r = flash_export(export_dir, probe, target_mcu, cpu=cpu, interface=interface, dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(r, indent=2))
        return
    import shlex

    click.echo("build: " + shlex.join(r["build"]))
    for cmd in r["flash"]:
        click.echo(("would run: " if dry_run else "ran: ") + shlex.join(cmd))
