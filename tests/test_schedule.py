import math

import numpy as np
import pytest

from bnn_edge.lr_callback import AdaptiveLR
from bnn_edge.schedule import LRSchedule
from bnn_edge.tfcompat import keras


def _cb(**kw):
    cb = AdaptiveLR(LRSchedule(**kw))
    cb.best, cb.wait, cb.lr = math.inf, 0, cb.schedule.start_lr
    return cb


def test_improving_loss_keeps_lr():
    cb = _cb(start_lr=1e-3, patience=2)
    for v in [1.0, 0.9, 0.8, 0.7]:
        assert cb.step(v) is False
    assert cb.lr == 1e-3


def test_plateau_steps_down_then_stops_below_floor():
    cb = _cb(start_lr=1e-2, factor=0.1, patience=2, min_lr=1e-3)
    assert cb.step(1.0) is False
    assert cb.step(1.0) is False  # wait 1
    assert cb.step(1.0) is False  # wait 2 -> 1e-3
    assert cb.lr == pytest.approx(1e-3)
    assert cb.step(1.0) is False
    assert cb.step(1.0) is True  # 1e-4 < floor: stop
    assert cb.stopped_by_floor


def test_invalid_parameters():
    for kw in [dict(factor=1.5), dict(patience=0), dict(start_lr=0)]:
        with pytest.raises(ValueError):
            LRSchedule(**kw)


@pytest.mark.slow
def test_callback_stops_a_real_fit_and_sets_optimizer_lr():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(1.0), loss="mse")
    x = np.zeros((8, 1), np.float32)
    cb = AdaptiveLR(LRSchedule(start_lr=1e-2, factor=0.5, patience=1, min_lr=2e-3))
    hist = model.fit(x, x, validation_data=(x, x), epochs=50, verbose=0, callbacks=[cb])
    assert cb.stopped_by_floor
    assert len(hist.history["loss"]) < 50
    assert cb.history[0] == pytest.approx(1e-2)
    assert float(keras.backend.get_value(model.optimizer.learning_rate)) < 1e-2
