"""``bnn-edge export`` and ``bnn-edge inspect``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bnn_edge.cli import user_errors
from bnn_edge.cli.target_option import TargetChoice
from bnn_edge.device.targets import budget_targets


def _kb(n: int) -> str:
    return f"{n // (1024 * 1024)} MB" if n % (1024 * 1024) == 0 else f"{n // 1024} KB"


_CPU_HELP = "Target core; sets the default budget: " + ", ".join(
    f"{t.cpu} {_kb(t.flash_bytes)} flash/{_kb(t.ram_bytes)} RAM" for t in budget_targets()
) + " (also accepted: m4, qemu-m4, ...)."


@click.command()
@click.argument("run_dir", metavar="RUN_DIR|MODEL.keras", type=click.Path())
@click.option("--target", type=click.Choice(["cortex-m"]), default="cortex-m", show_default=True)
@click.option("--cpu", type=TargetChoice(budget_targets, "cpu"), default="cortex-m4", show_default=True, help=_CPU_HELP)
@click.option("--flash-kb", type=int, default=None, help="Flash budget in KB (default: the CPU preset's).")
@click.option("--ram-kb", type=int, default=None, help="RAM budget in KB (default: the CPU preset's).")
@click.option("--buffer-kb", type=float, default=0.0, show_default=True, help="RAM to reserve for an on-device latent replay buffer.")
@click.option("--head-classes", type=int, default=0, show_default=True,
              help="Reserve RAM for an on-device incremental head with this many classes (0: inference only).")
@click.option("--samples", type=int, default=500, show_default=True, help="Test images for the reference check.")
@click.option("--allow-oversize", is_flag=True, help="Write the export even when it does not fit the budget.")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Export directory: model.tflite, model.bnnpack, model_data.c/.h, export.json.")
@click.option("--dataset", default=None,
              help="For a MODEL.keras: dataset whose test images check the export and `run` uses "
                   "(default: random pixels in [0, vmax]).")
@click.option("--data-dir", type=click.Path(), default=None, help="TFDS data directory (with --dataset).")
@user_errors
def export(run_dir, target, cpu, flash_kb, ram_kb, buffer_kb, head_classes, samples, allow_oversize, out, dataset, data_dir):
    """Export a training run (RUN_DIR from `bnn-edge train`) or a Keras model file (MODEL.keras of
    any larq network keeping the fully-binary contract, see bnn_edge/contract.py) for a Cortex-M
    microcontroller.

    LCE converts the network to a bit-packed TFLite flatbuffer; converters/ lowers it to the
    firmware model pack (converters/FORMAT.md); the pack is checked against LCE's interpreter (or
    Keras) and its flash/RAM against the budget.
    """
    from bnn_edge.errors import UserError
    from bnn_edge.export import export_run

    if samples < 1:
        raise UserError(f"--samples {samples}: must be >= 1")
    if Path(run_dir).is_file() or str(run_dir).endswith(".keras"):  # a model file: bring your own larq network
        from bnn_edge.export_model import export_model_file

        r = export_model_file(run_dir, out, cpu=cpu, flash_kb=flash_kb, ram_kb=ram_kb, samples=samples,
                              allow_oversize=allow_oversize, buffer_kb=buffer_kb, head_classes=head_classes,
                              dataset=dataset, data_dir=data_dir)
    elif dataset is not None or data_dir is not None:
        raise UserError("--dataset/--data-dir apply to a MODEL.keras file; a training run exports with its own dataset")
    else:
        r = export_run(run_dir, out, cpu=cpu, flash_kb=flash_kb, ram_kb=ram_kb, samples=samples,
                       allow_oversize=allow_oversize, buffer_kb=buffer_kb, head_classes=head_classes)
    rc = r["reference_check"]
    click.echo(f"{len(r['ops'])} ops, {r['binary_weight_bits']} binary weights, flash {r['flash_bytes']} B, "
               f"RAM {r['ram_bytes']} B, fits={str(r['fits']).lower()}; vs {rc['reference']}: "
               f"argmax {rc['argmax_agreement']:.4f}, latent bits {rc['latent_bit_agreement']} -> {out}")


@click.command()
@click.argument("file", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@user_errors
def inspect(file, as_json):
    """Show a .bnnpack (header, ops, sizes, CRC check) or a .tflite (ops, custom options).

    Exits non-zero with one clear line when the file is corrupted.
    """
    from bnn_edge.errors import UserError
    from converters import bnnpack as bp
    from converters.tflite_reader import describe_tflite

    from bnn_edge.userfile import read_capped

    path = Path(file)
    data = read_capped(path, shown=file)
    if data[:4] == bp.MAGIC or path.suffix == ".bnnpack":
        info = {"format": "bnnpack", **bp.describe(data)}
        detail = info.get("crc_ok") or {}
        info["crc_detail"] = detail
        info["crc_ok"] = bool(detail.get("header") and detail.get("payload"))
        if not info["valid"]:
            raise UserError(f"{file}: {info['error']}")
    elif data[4:8] == b"TFL3" or path.suffix == ".tflite":
        from converters.errors import FormatError

        try:
            info = describe_tflite(data)
        except FormatError as exc:
            raise UserError(f"{file}: {exc}") from None
    else:
        raise UserError(f"{file}: neither a .bnnpack (magic {bp.MAGIC!r}) nor a TFLite flatbuffer (identifier b'TFL3')")
    if as_json:
        click.echo(json.dumps(info, indent=2, default=str))
        return
    _print_human(info, click.echo)


def _print_human(info: dict, echo) -> None:
    if info["format"] == "tflite":
        echo(f"TFLite flatbuffer, {info['size_bytes']} bytes; input {', '.join(str(t['shape']) for t in info['inputs']) or '-'}, output {', '.join(str(t['shape']) for t in info['outputs']) or '-'}")
        for op in info["ops"]:
            extra = f"  {op['custom_options']}" if "custom_options" in op else ""
            echo(f"  {op['index']:3d} {op['op']:<20} {op['inputs'][0] if op['inputs'] else '-'} -> {op['outputs'][0] if op['outputs'] else '-'}{extra}")
        return
    skip = {"ops", "tensors", "format"}
    for k, v in info.items():
        if k not in skip and not isinstance(v, (list, dict)):
            echo(f"{k}: {v}")
    for i, op in enumerate(info.get("ops", [])):
        echo(_op_line(i, op))


def _op_line(i: int, op: dict) -> str:
    """One op of a pack on one short line (``--json`` has every field):
    ``op  1 BCONV2D  t1 8x8x16 -> t2 8x8x64 BITS  kh=3 kw=3 ...  weights 2304 B, thresholds 256 B``."""
    def shape(s) -> str:
        return "x".join(map(str, s)) if isinstance(s, (list, tuple)) else str(s)

    ins = ", ".join(f"t{t} {shape(s)}" for t, s in zip([op.get("in0"), op.get("in1")], op.get("in_shapes") or [])
                    if t is not None)
    params = " ".join(f"{k}={v}" for k, v in (op.get("params") or {}).items())
    return (f"  op {i:2d} {op.get('name', '?'):<14} {ins or '-'} -> t{op.get('out')} {shape(op.get('out_shape', '?'))} "
            f"{op.get('out_dtype', '')}  {params}  weights {op.get('weights_bytes', 0)} B, "
            f"thresholds {op.get('thresholds_bytes', 0)} B")
