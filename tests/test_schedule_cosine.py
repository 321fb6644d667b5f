"""The cosine LR schedule over --epochs, and its wall-clock budget (--max-minutes)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bnn_edge.lr_callback import AdaptiveLR
from bnn_edge.schedule import LRSchedule
from bnn_edge.tfcompat import keras


def _fit(schedule: LRSchedule, epochs: int, sleep: float = 0.0, notice=None):
    import time

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(keras.optimizers.Adam(schedule.start_lr), "sparse_categorical_crossentropy")
    cb = AdaptiveLR(schedule, notice=notice)
    slow = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: time.sleep(sleep))
    x = np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    hist = model.fit(x, y, validation_data=(x, y), epochs=epochs, batch_size=16, verbose=0, callbacks=[slow, cb])
    return cb, hist


@pytest.mark.slow  # fits a Keras model (the first fit of a session costs seconds)
def test_cosine_runs_every_epoch_and_follows_the_formula():
    s = LRSchedule(start_lr=1e-2, min_lr=1e-4, kind="cosine")
    cb, hist = _fit(s, 5)
    assert len(hist.history["loss"]) == 5 and not cb.stopped_by_floor and not cb.stopped_by_time
    expect = [1e-4 + (1e-2 - 1e-4) * 0.5 * (1 + math.cos(math.pi * e / 5)) for e in range(5)]
    assert cb.history == pytest.approx(expect)
    assert cb.history[0] == pytest.approx(1e-2) and all(a > b for a, b in zip(cb.history, cb.history[1:]))


def test_time_budget_progress_is_the_larger_of_epochs_and_clock():
    cb = AdaptiveLR(LRSchedule(kind="cosine", max_seconds=100.0))
    assert cb.progress(10, 50, 20.0) == pytest.approx(0.2)
    assert cb.progress(10, 50, 60.0) == pytest.approx(0.6)
    assert cb.cosine_lr(1.5) == pytest.approx(cb.schedule.min_lr)
    assert AdaptiveLR(LRSchedule(kind="cosine")).progress(10, 50, 1e9) == pytest.approx(0.2)


@pytest.mark.slow  # fits a Keras model for its 3 s budget
def test_time_budget_stops_before_the_budget_and_decays_faster():
    s = LRSchedule(start_lr=1e-2, min_lr=1e-4, kind="cosine", max_seconds=3.0)
    notes: list[str] = []
    cb, hist = _fit(s, 100, sleep=0.4, notice=notes.append)
    n = len(hist.history["loss"])
    assert cb.stopped_by_time and 1 <= n <= 8  # >= 0.4 s an epoch: stops before passing 3 s
    if n >= 2:  # after the second epoch: how many the budget holds at that speed (told once)
        assert len(notes) == 1 and f"about {cb.budget_epochs} of the 100 epochs" in notes[0]
    # the clock is ahead of epoch/100, so the LR fell faster than the epoch count alone would make it
    if n >= 2:
        assert cb.history[-1] < cb.cosine_lr((n - 1) / 100)


def test_time_budget_estimate_counts_the_epochs_that_end_within_it():
    cb = AdaptiveLR(LRSchedule(kind="cosine", max_seconds=3600.0))
    assert cb.budget_estimate(50.0, 24.0, 2, 400) == 2 + 147  # (3600 - 50) // 24
    assert cb.budget_estimate(50.0, 24.0, 2, 100) == 100  # the --epochs cap
    assert cb.budget_estimate(4000.0, 24.0, 2, 400) == 2  # already past the budget
    assert cb.budget_estimate(10.0, 0.0, 2, 400) == 400  # instant epochs: the cap


def test_time_budget_notice_after_the_second_epoch(monkeypatch):
    """With a clock that advances 30 s per epoch (the first one 45 s: graph building), a 10-minute
    budget is told after epoch 2 as 2 + (600 - 75) // 30 = 19 epochs, and training stops after
    exactly those 19 (the next would end past the budget)."""
    import types

    import bnn_edge.lr_callback as lrc

    clock = [0.0]
    monkeypatch.setattr(lrc.time, "monotonic", lambda: clock[0])
    notes: list[str] = []
    cb = AdaptiveLR(LRSchedule(kind="cosine", max_seconds=600.0), notice=notes.append)
    opt = types.SimpleNamespace(learning_rate=0.0)
    cb.set_model(types.SimpleNamespace(optimizer=opt, stop_training=False))
    cb.set_params({"epochs": 400})
    cb.on_train_begin()
    epoch = 0
    while not cb.model.stop_training:
        cb.on_epoch_begin(epoch)
        clock[0] += 45.0 if epoch == 0 else 30.0
        cb.on_epoch_end(epoch)
        epoch += 1
    assert notes == ["time budget 10 min at 30 s per epoch: about 19 of the 400 epochs"]
    assert cb.budget_epochs == epoch == 19 and cb.stopped_by_time


def test_time_budget_needs_cosine_and_is_finite():
    with pytest.raises(ValueError, match="cosine"):
        LRSchedule(max_seconds=10.0)
    with pytest.raises(ValueError, match="time budget"):
        LRSchedule(kind="cosine", max_seconds=float("inf"))
    with pytest.raises(ValueError, match="kind"):
        LRSchedule(kind="step")
