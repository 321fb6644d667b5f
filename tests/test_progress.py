"""Progress reports: a tqdm bar on a terminal, one short line per epoch (or job) anywhere else."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest

from bnn_edge.epoch_bar import EpochBar
from bnn_edge.progress import LineBar, SparseLineBar, is_terminal, job_bar, work_bar
from bnn_edge.tfcompat import keras


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _fit(bar: EpochBar, epochs: int = 3) -> None:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(2e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    x = np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model.fit(x, y, validation_data=(x, y), epochs=epochs, batch_size=8, verbose=0, callbacks=[bar])


@pytest.mark.slow  # fits a Keras model (the first fit of a session costs seconds)
def test_not_a_terminal_one_line_per_epoch():
    out = io.StringIO()
    _fit(EpochBar(3, "train tiny", file=out), epochs=3)
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert len(lines) == 3, lines
    for i, line in enumerate(lines, start=1):
        assert re.fullmatch(rf"train tiny: epoch {i}/3 loss=\d+\.\d{{3}} val_acc=[01]\.\d{{3}} lr=2\.0e-03", line), line


@pytest.mark.slow  # fits a Keras model
def test_terminal_gets_a_redrawn_bar():
    out = _Terminal()
    _fit(EpochBar(3, "train tiny", file=out), epochs=3)
    text = out.getvalue()
    assert "\r" in text and "train tiny" in text
    assert "epoch 1/3" not in text  # the line format is for non-terminals only


def test_is_terminal_on_files_and_closed_streams(tmp_path):
    with open(tmp_path / "log", "w") as f:
        assert not is_terminal(f)
    closed = io.StringIO()
    closed.close()
    assert not is_terminal(closed) and not is_terminal(object()) and is_terminal(_Terminal())


def test_job_bar_lines_off_a_terminal():
    out = io.StringIO()
    bar = job_bar(total=3, initial=1, desc="sweep", file=out)
    assert isinstance(bar, LineBar)
    bar.set_postfix_str("x" * 500)
    bar.update(1)
    bar.write("failed: cell: boom")
    bar.update(1)
    bar.close()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("sweep: 2/3 job ") and lines[1] == "failed: cell: boom" and lines[2].startswith("sweep: 3/3 job")
    assert max(map(len, lines)) < 120  # long postfixes are shortened


def test_job_bar_disabled_and_on_a_terminal():
    out = io.StringIO()
    bar = job_bar(total=2, desc="sweep", file=out, disable=True)
    bar.update(1)
    bar.write("quiet")
    assert out.getvalue() == ""
    term = _Terminal()
    bar = job_bar(total=2, desc="sweep", file=term)
    assert not isinstance(bar, LineBar)
    bar.close()


def test_work_bar_without_terminal_writes_a_line_per_tenth() -> None:
    out = io.StringIO()
    bar = work_bar(1000, "latents", unit="img", file=out)
    assert isinstance(bar, SparseLineBar)
    for _ in range(40):
        bar.update(25)
    bar.close()
    lines = out.getvalue().splitlines()
    assert lines == [f"latents: {n}/1000 img" for n in range(100, 1001, 100)]


def test_work_bar_on_a_terminal_is_tqdm() -> None:
    bar = work_bar(10, "x", file=_Terminal())
    assert not isinstance(bar, SparseLineBar) and hasattr(bar, "refresh")
    bar.close()


def test_progress_does_not_import_tensorflow() -> None:
    """`run` and `inspect` use bnn_edge.progress (through bnn_edge.batches) and must stay free of TensorFlow."""
    import subprocess
    import sys

    code = "import sys, bnn_edge.progress, bnn_edge.batches; print('tensorflow' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr
