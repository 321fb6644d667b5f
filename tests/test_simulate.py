"""``bnn-edge simulate EXPORT --cil``: the on-device head learning the classes pre-training left out.

One digits/tiny model pre-trained on 5 classes (the command line's defaults, ~20 s) and its export
(~10 s) are shared by the module. The real latents come from the pack (bit-exact simulator); the
integer head, its float reference and the C head (host build; QEMU Cortex-M4 in its own test) run
the same stream.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from bnn_edge.cli import main
from bnn_edge.errors import UserError
from bnn_edge.device.ondevice import simulate_export, split_tasks

pytestmark = pytest.mark.slow  # the module's export is of a model trained by its fixture

HAVE_ARM = shutil.which("arm-none-eabi-gcc") is not None and shutil.which("qemu-system-arm") is not None


@pytest.fixture(scope="module")
def pre5_run_export(tmp_path_factory) -> tuple[Path, Path]:
    """`bnn-edge train --dataset digits --preset tiny --pretrain-classes 5` + `bnn-edge export --target cortex-m`."""
    from bnn_edge.export import export_run
    from bnn_edge.train import train_run

    run = tmp_path_factory.mktemp("pre5_run")
    train_run("digits", "tiny", run, pretrain_classes=5, seed=0, verbose=False)
    out = tmp_path_factory.mktemp("pre5_export")
    export_run(run, out, samples=100)
    return run, out


@pytest.fixture(scope="module")
def pre5_export(pre5_run_export: tuple[Path, Path]) -> Path:
    return pre5_run_export[1]


def _cli(*args: str):
    return CliRunner().invoke(main, ["simulate", *args])


@pytest.fixture(scope="module")
def report(pre5_export: Path, tmp_path_factory) -> dict:
    r = _cli(str(pre5_export), "--cil", "--tasks", "5", "--buffer-kb", "4", "--ram-kb", "64", "--json",
             "--build-dir", str(tmp_path_factory.mktemp("cil_build")))
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def test_digits_pre5_targets(report: dict) -> None:
    """The acceptance numbers: C bit-exact, fits 64 KiB, >= 75 % over all 10 classes, int within
    3 points of float."""
    assert report["bit_exact_vs_c"] is True
    assert report["c"]["host"]["bit_exact"] and report["c"]["host"]["commits_roundtrip"] == 6
    assert report["fits"] is True
    assert report["ram_bytes"] <= report["ram_budget_bytes"] == 65536
    assert report["int_final_accuracy"] >= 0.75
    assert abs(report["int_final_accuracy"] - report["float_final_accuracy"]) <= 0.03


def test_digits_pre5_report_shape(report: dict) -> None:
    assert report["pretrain_classes"] == [0, 1, 2, 3, 4]
    assert report["tasks"] == [[0, 1, 2, 3, 4], [5], [6], [7], [8], [9]]
    assert report["latent_bits"] == 256 and report["buffer_samples"] == 124
    for key in ("int_accuracy_matrix", "float_accuracy_matrix"):
        m = report[key]
        assert len(m) == 6 and all(len(row) == 6 for row in m)
        assert all(m[i][j] is None for i in range(6) for j in range(i + 1, 6))
        assert all(0.0 <= m[i][j] <= 1.0 for i in range(6) for j in range(i + 1))
    assert report["int_accuracy_matrix"][0][0] >= 0.9  # the pre-training classes, from the buffer
    bd = report["ram_breakdown"]
    assert sum(bd.values()) == report["ram_bytes"]
    hm = report["head_memory"]
    assert bd["head"] + bd["buffer"] == hm["total"] and bd["buffer"] == hm["buffer"] == 124 * 33
    assert bd["inference_arena"] > 0 and bd["stack_reserve"] > 0
    assert report["state_bytes"] == report["c"]["host"]["state_bytes"]


def test_latents_in_small_batches_change_nothing(pre5_export: Path, report: dict) -> None:
    """The images go through the simulator in bounded batches: batches of 7 images and one batch
    of everything give the same report (integer results: the same latents, bit for bit), and the
    same as the default batches of the CLI run (whose C head was bit-exact with them)."""
    small = simulate_export(pre5_export, tasks=5, buffer_kb=4, ram_kb=64, c_targets=(), batch_images=7)
    whole = simulate_export(pre5_export, tasks=5, buffer_kb=4, ram_kb=64, c_targets=(), batch_images=10**9)
    small.pop("seconds"), whole.pop("seconds")
    assert small == whole
    for k in ("int_accuracy_matrix", "float_accuracy_matrix", "int_final_accuracy", "float_final_accuracy",
              "state_bytes", "samples_per_task", "test_samples"):
        assert small[k] == report[k], k


def test_no_c_and_text_output(pre5_export: Path) -> None:
    r = _cli(str(pre5_export), "--cil", "--no-c", "--json", "--seed", "3", "--shots", "20", "--tasks", "2")
    assert r.exit_code == 0, r.output
    j = json.loads(r.output)
    assert j["bit_exact_vs_c"] is None and j["c"] == {}
    assert j["tasks"][1:] == [[5, 6, 7], [8, 9]] and j["samples_per_task"][1:] == [60, 40]
    r = _cli(str(pre5_export), "--cil", "--no-c")
    assert r.exit_code == 0, r.output
    assert "final accuracy over 10 classes: int" in r.output and "fits=true" in r.output
    assert "head: epochs 6, lr 1/2^10, replay_k 2, temperature 2^5" in r.output


@pytest.mark.skipif(not HAVE_ARM, reason="arm-none-eabi-gcc / qemu-system-arm not installed")
def test_qemu_m4_same_state_as_host(pre5_export: Path, tmp_path: Path) -> None:
    """The same stream on the emulated Cortex-M4 ends in the host build's state, byte for byte."""
    r = simulate_export(pre5_export, tasks=5, c_targets=("host", "qemu-m4"), build_dir=tmp_path)
    assert r["bit_exact_vs_c"] is True
    host, m4 = r["c"]["host"], r["c"]["qemu-m4"]
    assert host["bit_exact"] and m4["bit_exact"] and host["state_crc32"] == m4["state_crc32"]
    assert m4["ticks"]["learn_n"] == sum(r["samples_per_task"][1:])
    # the Cortex-M build's own memory report is what the RAM total counts
    assert r["head_memory"]["control"] == 200 and r["ram_bytes"] <= 65536


def test_w1_trained_from_the_pack(pre5_export: Path, report: dict, tmp_path: Path) -> None:
    """`--w1 trained`: the head's hidden layer is the pack's trained one, read from flash: the C
    head stays bit-exact, and RAM drops by W1's H*N/8 = 4096 bytes."""
    r = _cli(str(pre5_export), "--cil", "--tasks", "5", "--w1", "trained", "--json", "--build-dir", str(tmp_path))
    assert r.exit_code == 0, r.output
    t = json.loads(r.output)
    assert report["w1"] == "random" and t["w1"] == "trained"
    assert t["bit_exact_vs_c"] is True and t["c"]["host"]["commits_roundtrip"] == 6
    assert report["head_memory"]["w1_bits"] == 4096 and t["head_memory"]["w1_bits"] == 0
    assert t["ram_bytes"] == report["ram_bytes"] - 4096
    assert t["int_final_accuracy"] != report["int_final_accuracy"] or t["int_accuracy_matrix"] != report["int_accuracy_matrix"]
    assert abs(t["int_final_accuracy"] - t["float_final_accuracy"]) <= 0.03


def test_head_options_reach_all_three_heads(pre5_export: Path, report: dict, tmp_path: Path) -> None:
    """`--head-*` set the learning hyper-parameters of the integer head, its float reference and the
    C head alike: the report lists them, the C head stays bit-exact with the new configuration,
    and the learning differs from the defaults' run."""
    r = _cli(str(pre5_export), "--cil", "--tasks", "5", "--json", "--build-dir", str(tmp_path), "--head-epochs", "3",
             "--head-lr-shift", "9", "--head-replay-k", "1", "--head-temp-shift", "4", "--head-lr-mul", "3")
    assert r.exit_code == 0, r.output
    t = json.loads(r.output)
    assert {k: t["head"][k] for k in ("epochs", "lr_shift", "replay_k", "temp_shift", "lr_mul")} == \
        dict(epochs=3, lr_shift=9, replay_k=1, temp_shift=4, lr_mul=3)
    assert (report["head"]["epochs"], report["head"]["lr_shift"], report["head"]["lr_mul"]) == (6, 10, 1)
    assert t["bit_exact_vs_c"] is True and t["c"]["host"]["commits_roundtrip"] == 6
    assert t["state_bytes"] == report["state_bytes"]  # same layout: only the learning changed
    assert t["int_accuracy_matrix"] != report["int_accuracy_matrix"] or \
        t["c"]["host"]["state_crc32"] != report["c"]["host"]["state_crc32"]


def test_head_sweep_script_reproduces_simulate(pre5_run_export: tuple[Path, Path], tmp_path: Path) -> None:
    """scripts/head_sweep.py (Keras latents, checked against the pack) gives the very accuracies
    `simulate` reports for the same head options: the sweep's winner is what simulate will show."""
    import subprocess
    import sys

    run, exp = pre5_run_export
    sweep = tmp_path / "exp"
    shutil.copytree(exp, sweep)
    grid = [{"temp_shift": 6, "replay_k": 4}, {}]
    proc = subprocess.run([sys.executable, "scripts/head_sweep.py", str(run), str(sweep), json.dumps(grid), "--buffer-kb", "4",
                           "--w1", "random"], capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    assert [x["head"] for x in lines] == grid
    for line, over in zip(lines, grid):
        r = simulate_export(sweep, tasks=5, buffer_kb=4, c_targets=(), head=over)
        assert (line["int"], line["float"]) == (r["int_final_accuracy"], r["float_final_accuracy"])
    assert (sweep / "head_sweep_latents.npz").exists()


def test_w1_from_pack_is_the_hidden_bdense(pre5_export: Path) -> None:
    import copy

    import numpy as np

    from bnn_edge.export_dir import read_export_dir
    from bnn_edge.sim.head import w1_from_pack
    from converters.bnnpack import OpCode

    pack = read_export_dir(pre5_export).pack
    w1 = w1_from_pack(pack)
    (op,) = [o for o in pack.ops if o.type == OpCode.BDENSE and o.in0 == pack.latent_tensor]
    assert w1.shape == (128, 8) and w1.dtype == np.uint32
    assert np.array_equal(w1.reshape(-1), np.asarray(op.weights, np.uint32))
    bad = copy.deepcopy(pack)
    next(o for o in bad.ops if o.type == OpCode.BDENSE and o.in0 == bad.latent_tensor).thresholds[3] += 1
    with pytest.raises(ValueError, match="not N/2"):
        w1_from_pack(bad)
    bad = copy.deepcopy(pack)
    bad.ops = [o for o in bad.ops if not (o.type == OpCode.BDENSE and o.in0 == bad.latent_tensor)]
    with pytest.raises(ValueError, match="no hidden layer"):
        w1_from_pack(bad)


# ---- errors: one line, exit 2 ----------------------------------------------------------------


def _copy_with_run(export: Path, tmp: Path, **run_changes) -> Path:
    """A copy of the export whose run.json has ``run_changes`` applied."""
    src_run = Path(json.loads((export / "export.json").read_text())["run_dir"])
    from bnn_edge.manifest import run_fingerprint

    run_dir = tmp / "run"
    shutil.copytree(src_run, run_dir)
    run = json.loads((run_dir / "run.json").read_text())
    run.update(run_changes)
    (run_dir / "run.json").write_text(json.dumps(run))
    exp = tmp / "export"
    shutil.copytree(export, exp)
    info = json.loads((exp / "export.json").read_text())
    info["run_dir"] = str(run_dir)
    info["run_sha256"] = run_fingerprint(run_dir)  # as if exported from this run
    (exp / "export.json").write_text(json.dumps(info))
    return exp


@pytest.mark.parametrize(
    "args, message",
    [
        (["--tasks", "6"], "--tasks 6: only 5 classes left after pre-training"),
        (["--tasks", "0"], "--tasks 0: must be >= 1"),
        (["--buffer-kb", "0.02"], "smaller than one stored sample (33 B"),
        (["--buffer-kb", "0"], "--buffer-kb 0: must be > 0"),
        (["--ram-kb", "0"], "--ram-kb 0: must be > 0"),
        (["--ram-kb", "-5"], "--ram-kb -5: must be > 0"),
        (["--shots", "0"], "--shots 0: must be >= 1"),
        (["--head-lr-shift", "31"], "--head-lr-shift 31: must be an integer in 0..30"),
        (["--head-temp-shift", "-1"], "--head-temp-shift -1: must be an integer in 0..16"),
        (["--head-lr-mul", "0"], "--head-lr-mul 0: must be an integer in 1..32768"),
        (["--head-epochs", "256"], "--head-epochs 256: must be an integer in 0..255"),
        (["--head-replay-k", "300"], "--head-replay-k 300: must be an integer in 0..255"),
    ],
)
def test_bad_options(pre5_export: Path, args: list[str], message: str) -> None:
    r = _cli(str(pre5_export), "--cil", "--no-c", *args)
    assert r.exit_code == 2 and message in r.output, r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1


def test_model_trained_on_all_classes(pre5_export: Path, tmp_path: Path) -> None:
    exp = _copy_with_run(pre5_export, tmp_path, classes=list(range(10)), pretrain_classes=None)
    r = _cli(str(exp), "--cil", "--no-c")
    assert r.exit_code == 2 and "pre-trained on all 10 classes of digits: no class is left" in r.output, r.output


def test_missing_files(pre5_export: Path, tmp_path: Path) -> None:
    r = _cli(str(tmp_path / "nope"), "--cil")
    assert r.exit_code == 2 and "not a directory" in r.output
    for name in ("model.bnnpack", "export.json"):
        d = tmp_path / name.replace(".", "_")
        shutil.copytree(pre5_export, d)
        (d / name).unlink()
        r = _cli(str(d), "--cil")
        assert r.exit_code == 2 and f"no {name}" in r.output, r.output
    d = tmp_path / "norun"
    shutil.copytree(pre5_export, d)
    info = json.loads((d / "export.json").read_text())
    info["run_dir"] = str(tmp_path / "gone")
    (d / "export.json").write_text(json.dumps(info))
    r = _cli(str(d), "--cil")
    assert r.exit_code == 2 and "has no run.json" in r.output, r.output


def test_cil_flag_is_optional(pre5_export: Path) -> None:
    """The scenario is the only mode: ``--cil`` is still accepted and changes nothing."""
    args = ["--no-c", "--json", "--seed", "3", "--shots", "20", "--tasks", "2"]
    with_flag, without = _cli(str(pre5_export), "--cil", *args), _cli(str(pre5_export), *args)
    assert with_flag.exit_code == 0 and without.exit_code == 0, with_flag.output + without.output
    a, b = json.loads(with_flag.output), json.loads(without.output)
    a.pop("seconds"), b.pop("seconds")
    assert a == b
    r = _cli(str(pre5_export), "--cil", "--no-c", "--c-target", "qemu-m4")
    assert r.exit_code == 2 and "contradict" in r.output


def test_c_target_spellings(pre5_export: Path) -> None:
    """--c-target takes every firmware target of the table, in any of its spellings."""
    r = _cli(str(pre5_export), "--no-c", "--c-target", "cortex-m33")
    assert r.exit_code == 2 and "contradict" in r.output, r.output  # accepted as a choice, then refused
    r = _cli(str(pre5_export), "--no-c", "--c-target", "qemu-m99")
    assert r.exit_code == 2 and "--c-target" in r.output and "qemu-m33" in r.output, r.output


def test_split_tasks_matches_cil_engine() -> None:
    order = list(range(10))
    assert split_tasks(order, 5, None) == [[0, 1, 2, 3, 4], [5], [6], [7], [8], [9]]
    assert split_tasks(order, 3, 3) == [[0, 1, 2], [3, 4, 5], [6, 7], [8, 9]]
    assert split_tasks(order, 8, None) == [list(range(8)), [8], [9]]
    with pytest.raises(UserError, match="only 1 class left"):
        split_tasks(order, 9, 2)
