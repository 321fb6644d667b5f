"""Atomic output directories (issue 15, item 2): a command killed at any point leaves either the
previous complete directory or the new complete one, never a mix; a second command writing the
same ``--out`` fails at once with one clear line and the first one's results stay intact.

The fast tests exercise :mod:`bnn_edge.atomic` directly (and a small writer process killed at
random points, many times); the slow ones SIGKILL the real ``train`` and ``export`` at random
points and run two ``cil`` into one ``--out``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from bnn_edge.atomic import AtomicDir, OutputLock
from bnn_edge.errors import UserError
from bnn_edge.manifest import check_hash_table, hash_files, verify_files

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}


def _hidden(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_commit_replaces_and_a_failure_keeps_the_old_directory(tmp_path):
    out = tmp_path / "out"
    with AtomicDir(out, "a test output", ("*.txt",)) as d:
        (d.path / "a.txt").write_text("one")
        assert not out.exists()  # nothing visible before the commit
    assert (out / "a.txt").read_text() == "one"
    with pytest.raises(RuntimeError):
        with AtomicDir(out, "a test output", ("*.txt",)) as d:
            (d.path / "a.txt").write_text("two")
            raise RuntimeError("killed half-way")
    assert [p.name for p in out.iterdir()] == ["a.txt"] and (out / "a.txt").read_text() == "one"
    with AtomicDir(out, "a test output", ("*.txt",)) as d:
        (d.path / "b.txt").write_text("three")
    assert sorted(p.name for p in out.iterdir()) == ["b.txt"]  # replaced as a whole, not merged
    assert _hidden(tmp_path) == []  # no lock, temporary or old directory left


def test_second_writer_fails_at_once_and_the_lock_is_released(tmp_path):
    out = tmp_path / "out"
    first = AtomicDir(out, "a test output", ("*",))
    with pytest.raises(UserError, match=r"--out .*out: another bnn-edge command is writing there"):
        AtomicDir(out, "a test output", ("*",))
    with pytest.raises(UserError, match="another bnn-edge command"):
        OutputLock(out.resolve()).acquire()  # what `sweep` takes on its directory
    (first.path / "x").write_text("1")
    first.commit()
    first.close()
    with AtomicDir(out, "a test output", ("*",)) as d:  # free again
        (d.path / "x").write_text("2")
    assert (out / "x").read_text() == "2"


def test_refuses_to_replace_a_directory_of_other_files(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("precious")
    with pytest.raises(UserError, match=r"holds 'notes.txt', which is not part of a training run"):
        AtomicDir(out, "a training run", ("model.keras", "run.json", "metrics.json"))
    assert (out / "notes.txt").read_text() == "precious" and _hidden(tmp_path) == []
    with pytest.raises(UserError, match="a file, not a directory"):
        AtomicDir(out / "notes.txt", "a training run", ())


def test_leftovers_of_a_killed_command_are_cleaned_and_a_lost_result_restored(tmp_path):
    out = tmp_path / "out"
    # killed while building: a temporary sibling; killed between the two renames: only `.old`
    (tmp_path / ".out.tmp-1-aa").mkdir()
    (tmp_path / ".out.old-1-bb").mkdir()
    (tmp_path / ".out.old-1-bb" / "r.txt").write_text("complete")
    with pytest.raises(RuntimeError):
        with AtomicDir(out, "a test output", ("*",)):
            assert (out / "r.txt").read_text() == "complete"  # the last complete result is back
            raise RuntimeError
    assert (out / "r.txt").read_text() == "complete" and _hidden(tmp_path) == []


WRITER = textwrap.dedent("""
    import json, sys, time
    from bnn_edge.atomic import AtomicDir
    from bnn_edge.manifest import hash_files
    out, gen = sys.argv[1], sys.argv[2]
    with AtomicDir(out, "a test output", ("*",)) as d:
        names = [f"part{i}.bin" for i in range(4)]
        for name in names:
            with open(d.path / name, "wb") as f:
                for _ in range(20):
                    f.write((gen * 4096).encode())
                    f.flush()
                    time.sleep(0.002)
        (d.path / "manifest.json").write_text(json.dumps({"gen": gen, "files": hash_files(d.path, names)}))
    print("done", flush=True)
""")


def _check_complete(out: Path) -> str:
    """The generation of a complete directory (a mixed or partial one fails the test)."""
    info = json.loads((out / "manifest.json").read_text())
    verify_files(out, "manifest.json", check_hash_table(info["files"], out / "manifest.json", "files", (), "-"), "-")
    assert all(set((out / n).read_bytes()) == {ord(info["gen"])} for n in info["files"])
    return info["gen"]


def test_writer_killed_at_random_points_leaves_a_complete_directory(tmp_path):
    out = tmp_path / "out"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    t0 = time.monotonic()
    subprocess.run([sys.executable, str(script), str(out), "a"], check=True, env=ENV, capture_output=True)
    duration = time.monotonic() - t0
    assert _check_complete(out) == "a"
    rng = random.Random(15)
    previous, outcomes = "a", set()
    for gen in "bcdefghijklm":
        p = subprocess.Popen([sys.executable, str(script), str(out), gen], env=ENV, stdout=subprocess.PIPE)
        time.sleep(rng.uniform(0.2, 1.5) * duration)
        p.send_signal(signal.SIGKILL)
        p.wait()
        now = _check_complete(out)  # never a mix: all files of one generation, hashes verified
        assert now in (previous, gen)
        outcomes.add(now == gen)
        previous = now
    assert outcomes == {False, True}  # some kills came before the commit, some after
    subprocess.run([sys.executable, str(script), str(out), "z"], check=True, env=ENV, capture_output=True)
    assert _check_complete(out) == "z" and _hidden(tmp_path) == []  # the next writer cleaned up


# --- the real commands -------------------------------------------------------------------------

def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "bnn_edge.cli", *args]


def _kill_trials(argv: list[str], out: Path, trials: int, rng: random.Random) -> tuple[float, list[float]]:
    """Run ``argv`` once to completion (timing it from its temporary directory's appearance), then
    ``trials`` times SIGKILLed after a random delay within that window (up to a little past the
    end). Returns the window and the delays used."""
    parent, prefix = out.parent, f".{out.name}.tmp-"

    def temporaries() -> set[str]:
        return {n for n in os.listdir(parent) if n.startswith(prefix)}

    def run_until(kill_after: float | None) -> float:
        before = temporaries()  # a killed trial's temporary directory, removed by the next writer
        p = subprocess.Popen(argv, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        while not (temporaries() - before) and p.poll() is None:
            time.sleep(0.01)
        t0 = time.monotonic()
        if kill_after is None:
            _, err = p.communicate(timeout=600)
            assert p.returncode == 0, err.decode()
            return time.monotonic() - t0
        try:
            p.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGKILL)
            p.wait()
        return kill_after

    window = run_until(None)
    delays = [run_until(rng.uniform(0.0, 1.1) * window) for _ in range(trials)]
    return window, delays


@pytest.mark.slow
def test_train_and_export_killed_at_random_points(tmp_path):
    """SIGKILL `train` and `export` at random points while they replace a complete directory: what
    `export` and `run` read afterwards is a complete directory (old or new), verified."""
    from concurrent.futures import ThreadPoolExecutor

    from bnn_edge.export_dir import read_export_dir
    from bnn_edge.train import init_run, load_run

    run, exp, source = tmp_path / "run", tmp_path / "exp", tmp_path / "source"
    init_run("tiny", source, dataset="digits")  # the run the export chain exports
    train = _cli("train", "--epochs", "1", "--quiet", "--out", str(run))
    export = _cli("export", str(source), "--samples", "8", "--out", str(exp))
    with ThreadPoolExecutor(2) as pool:  # the two chains side by side
        chains = [pool.submit(_kill_trials, train, run, 2, random.Random(1)),
                  pool.submit(_kill_trials, export, exp, 2, random.Random(2))]
        for chain in chains:
            chain.result()
    _, run_info = load_run(run)  # what `export` reads first: complete, every hash verified
    assert set(run_info["files"]) == {"model.keras", "metrics.json"}
    e = read_export_dir(exp)  # what `run`, `simulate` read first: complete, verified, and made from this run
    assert e.run_dir == source.resolve() and e.info["run_sha256"]["model.keras"] == e.run["files"]["model.keras"]
    assert sorted(p.name for p in exp.iterdir()) == sorted(["export.json", *e.info["files"]])
    # a kill mid-way leaves at most the killed command's temporary directory; the next writer removes it
    assert all(".tmp-" in n or n.endswith(".lock") for n in _hidden(tmp_path))


@pytest.mark.slow
def test_two_cil_into_one_out(tmp_path):
    """The second `cil` into an --out the first is writing fails at once; the first completes intact."""
    import bnn_edge.cil.engine  # noqa: F401  (TensorFlow imported before the race: the second is refused in ~1 s)
    from bnn_edge.cli import main
    from bnn_edge.train import load_run

    out = tmp_path / "c"
    args = ["cil", "--dataset", "digits", "--preset", "tiny", "--pretrain-classes", "5", "--tasks", "1", "--replay", "none",
            "--epochs", "2", "--recon-weight", "0", "--quiet", "--out", str(out)]
    first = subprocess.Popen(_cli(*args), env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock = tmp_path / ".c.lock"
    while not lock.exists() and first.poll() is None:
        time.sleep(0.02)
    assert first.poll() is None, first.communicate()
    t0 = time.monotonic()
    res = CliRunner().invoke(main, args)
    elapsed = time.monotonic() - t0
    still_running = first.poll() is None
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: --out {out}: another bnn-edge command is writing there")
    assert elapsed < 30 and still_running  # refused before any training, while the first was at work
    _, err = first.communicate(timeout=900)
    assert first.returncode == 0, err
    result = json.loads((out / "cil.json").read_text())  # the first one's results, complete
    assert result["config"]["epochs"] == 2 and 0 <= result["final_accuracy"] <= 1
    assert sorted(p.name for p in out.iterdir()) == ["accuracy_curves.png", "accuracy_matrix.png", "cil.json", "pretrain"]
    _, run = load_run(out / "pretrain")
    assert run["files"] == hash_files(out / "pretrain", ("model.keras", "metrics.json"))
    assert _hidden(tmp_path) == []


@pytest.mark.slow  # a fresh process importing TensorFlow and starting to train
def test_sigterm_ends_a_command_with_one_line_and_no_leftover(tmp_path):
    """`kill PID` mid-training: `error: terminated`, exit 143, the temporary output directory
    removed (only the lock file stays), the previous --out untouched."""
    out = tmp_path / "run"
    out.mkdir()  # an empty --out: replaced only on success
    proc = subprocess.Popen([sys.executable, "-m", "bnn_edge.cli", "train", "--epochs", "200", "--quiet",
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    deadline = time.monotonic() + 120
    while not any(".tmp-" in n for n in _hidden(tmp_path)):  # it is writing its output
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.poll() else "slow"
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143
    assert err.strip().splitlines()[-1] == "error: terminated"
    assert all(n.endswith(".lock") for n in _hidden(tmp_path)) and list(out.iterdir()) == []


def test_an_in_process_command_leaves_sigterm_as_it_found_it():
    from bnn_edge.cli import main

    before = signal.getsignal(signal.SIGTERM)
    result = CliRunner().invoke(main, ["boards", "--json"])
    assert result.exit_code == 0 and signal.getsignal(signal.SIGTERM) == before
