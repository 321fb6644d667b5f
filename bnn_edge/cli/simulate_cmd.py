"""``bnn-edge simulate EXPORT``: on-device class-incremental learning on an export."""

from __future__ import annotations

import json

import click

from bnn_edge.cli import user_errors
from bnn_edge.cli.target_option import TargetChoice
from bnn_edge.device.targets import firmware_targets
from bnn_edge.errors import UserError


@click.command()
@click.argument("export_dir", type=click.Path())
@click.option("--cil", is_flag=True, help="The on-device class-incremental scenario (the only mode, also without this flag).")
@click.option("--tasks", type=int, default=None,
              help="Deployment tasks splitting the classes left after pre-training evenly  [default: 5, or one per class if fewer].")
@click.option("--buffer-kb", type=float, default=4.0, show_default=True, help="Replay buffer budget in KiB (latents + labels).")
@click.option("--ram-kb", type=float, default=64.0, show_default=True, help="Device RAM budget in KiB, for `fits`.")
@click.option("--shots", type=int, default=None, help="At most N training samples per new class (default: all).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds the sample order and the head's PRNG.")
@click.option("--c-target", "c_targets", type=TargetChoice(firmware_targets), multiple=True,
              help="Where the C head runs the same stream (repeatable)  [default: host]; qemu-m4 = Cortex-M4 on QEMU "
                   "mps2-an386, qemu-m7 on mps2-an500, qemu-m33 on mps2-an505.")
@click.option("--c-board", "c_boards", multiple=True, metavar="NAME",
              help="Also run the C head in a real board's image on QEMU's model of it (netduinoplus2, microbit; "
                   "repeatable): UART console, the store on the board's flash geometry.")
@click.option("--no-c", is_flag=True, help="Skip the C check (bit_exact_vs_c = null).")
@click.option("--build-dir", type=click.Path(file_okay=False), default=None, help="C build directory (default EXPORT_DIR/build-cil).")
@click.option("--w1", "w1", type=click.Choice(["random", "trained"]), default="random", show_default=True,
              help="The head's hidden layer: random = from the head's PRNG (in RAM); trained = the model pack's "
                   "trained layer, read in place from flash (0 B of RAM).")
@click.option("--head-epochs", type=int, default=None,
              help="Passes over the replay buffer at the end of each task  [default: 6, the firmware's default].")
@click.option("--head-lr-shift", type=int, default=None,
              help="Learning rate 32768 * lr_mul / 2**lr_shift latent units per step: the shift (0..30)  [default: 10].")
@click.option("--head-lr-mul", type=int, default=None, help="... and the multiplier (1..32768)  [default: 1].")
@click.option("--head-replay-k", type=int, default=None,
              help="Buffer samples replayed after each new sample (0..255)  [default: 2].")
@click.option("--head-temp-shift", type=int, default=None,
              help="Softmax temperature 2**temp_shift logit units (0..16)  [default: 5].")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@user_errors
def simulate(export_dir, cil, tasks, buffer_kb, ram_kb, shots, seed, c_targets, c_boards, no_c, build_dir, w1,
             head_epochs, head_lr_shift, head_lr_mul, head_replay_k, head_temp_shift, as_json):
    """Learn the classes pre-training left out on the device: integer head vs float reference vs C.

    EXPORT_DIR is `bnn-edge export` of a run trained with `--pretrain-classes P`. Its frozen
    extractor (the pack, bit-exact simulator) turns every image into a binary latent; the head is
    trained on the P pre-training classes from its replay buffer, then learns the remaining classes
    task by task. Reports the final accuracy over all classes of the integer head (what the device
    computes) and of its float32 reference, both accuracy matrices, every byte of RAM against
    --ram-kb, and whether the C head (host build, or QEMU with --c-target qemu-m4/m7/m33) ended in a
    byte-identical state with identical predictions.

    The --head-* options set the head's learning hyper-parameters for all three heads (the
    firmware's defaults were tuned on digits latents; the report's "head" lists what ran).
    """
    if no_c and (c_targets or c_boards):
        raise UserError(f"--no-c and {'--c-target' if c_targets else '--c-board'} contradict each other")
    from bnn_edge.device.firmware import claim_build_dir
    from bnn_edge.device.ondevice import simulate_export

    if not no_c:
        claim_build_dir(build_dir)

    targets = () if no_c else (tuple(dict.fromkeys(c_targets)) or (() if c_boards else ("host",)))
    r = simulate_export(export_dir, tasks=tasks, buffer_kb=buffer_kb, ram_kb=ram_kb, shots=shots, seed=seed,
                        c_targets=targets, build_dir=build_dir, c_boards=c_boards, w1=w1,
                        head=dict(epochs=head_epochs, lr_shift=head_lr_shift, lr_mul=head_lr_mul, replay_k=head_replay_k,
                                  temp_shift=head_temp_shift))
    if as_json:
        click.echo(json.dumps(r, indent=2))
        return
    n = len(r["tasks"]) - 1
    click.echo(f"{r['dataset']}: {len(r['pretrain_classes'])} pre-training classes + {n} task{'s' * (n != 1)} "
               f"{r['tasks'][1:]}; buffer {r['buffer_samples']} latents of {r['latent_bits']} bits; W1 {r['w1']}")
    h = r["head"]
    click.echo(f"head: epochs {h['epochs']}, lr {h['lr_mul']}/2^{h['lr_shift']}, replay_k {h['replay_k']}, "
               f"temperature 2^{h['temp_shift']}")
    click.echo(f"final accuracy over {sum(len(t) for t in r['tasks'])} classes: int {r['int_final_accuracy']:.4f}, "
               f"float {r['float_final_accuracy']:.4f} (gap {r['gap']:+.4f})")
    click.echo("accuracy after each task (int head; rows = after task i, columns = task j):")
    for i, row in enumerate(r["int_accuracy_matrix"]):
        click.echo(f"  {i}: " + " ".join("  -  " if v is None else f"{v:.3f}" for v in row))
    parts = ", ".join(f"{k} {v}" for k, v in r["ram_breakdown"].items())
    click.echo(f"RAM {r['ram_bytes']} B of {r['ram_budget_bytes']} B ({parts}): fits={str(r['fits']).lower()}")
    if r["bit_exact_vs_c"] is None:
        click.echo("C check skipped (--no-c)")
    else:
        per = ", ".join(f"{t} {str(v['bit_exact']).lower()} ({v['seconds']} s)" for t, v in r["c"].items())
        click.echo(f"bit_exact_vs_c={str(r['bit_exact_vs_c']).lower()}: {per}; state {r['state_bytes']} B")
