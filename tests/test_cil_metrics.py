"""Scenarios, strategies' mixing rule, Avalanche-style metrics and the masked classifier (no training)."""

from __future__ import annotations

import numpy as np
import pytest

from bnn_edge.cil.metrics import summarize
from bnn_edge.cil.scenario import make_scenario
from bnn_edge.cil.strategies import Strategy, replay_mix, replay_repeats
from bnn_edge.errors import UserError


def test_split_digits_scenario():
    s = make_scenario(list(range(10)), 5, 5)
    assert s.phases == ((0, 1, 2, 3, 4), (5,), (6,), (7,), (8,), (9,))
    assert s.tasks == 5 and [s.seen(i) for i in range(6)] == [5, 6, 7, 8, 9, 10]
    assert s.deployment_classes == (5, 6, 7, 8, 9)
    assert s.phase_of_position().tolist() == [0, 0, 0, 0, 0, 1, 2, 3, 4, 5]


def test_scenario_follows_the_seeded_order_and_splits_evenly():
    order = [3, 9, 0, 7, 1, 8, 2, 6, 5, 4]
    s = make_scenario(order, 3, 3)  # 7 deployment classes: 3 + 2 + 2
    assert s.phases == ((3, 9, 0), (7, 1, 8), (2, 6), (5, 4))
    assert s.seen_classes(1) == [3, 9, 0, 7, 1, 8]
    assert sorted(c for ph in s.phases for c in ph) == list(range(10))


@pytest.mark.parametrize("p, t, msg", [
    (10, 1, "between 1 and 9"), (11, 1, "between 1 and 9"), (0, 1, "between 1 and 9"),
    (5, 6, "more tasks than deployment classes"), (8, 3, "more tasks than deployment classes"), (5, 0, ">= 1"),
])
def test_bad_scenarios_are_user_errors(p, t, msg):
    with pytest.raises(UserError, match=msg):
        make_scenario(list(range(10)), p, t)


def test_metrics_follow_their_definitions():
    # 3 phases; test sizes n = [10, 20, 10]
    correct = [
        [9, None, None],
        [6, 18, None],
        [5, 10, 8],
    ]
    m = summarize(correct, [10, 20, 10])
    a = m["accuracy_matrix"]
    assert a == [[0.9, None, None], [0.6, 0.9, None], [0.5, 0.5, 0.8]]
    assert m["seen_accuracy"] == pytest.approx([0.9, 24 / 30, 23 / 40])
    assert m["final_accuracy"] == pytest.approx(23 / 40)  # sample-weighted over every test sample
    assert m["final_accuracy_deployment"] == pytest.approx(18 / 30)  # phases 1..T only
    assert m["final_average_accuracy"] == pytest.approx((0.5 + 0.5 + 0.8) / 3)
    assert m["average_incremental_accuracy"] == pytest.approx((0.9 + 0.8 + 0.575) / 3)
    # Avalanche StreamForgetting: accuracy right after learning phase j minus the last one, j < T
    assert m["forgetting_per_phase"] == pytest.approx([0.9 - 0.5, 0.9 - 0.5])
    assert m["forgetting"] == pytest.approx(0.4)
    assert m["bwt"] == pytest.approx(-0.4)


def test_metrics_no_forgetting_and_positive_backward_transfer():
    m = summarize([[5, None], [10, 10]], [10, 10])
    assert m["forgetting"] == pytest.approx(-0.5) and m["bwt"] == pytest.approx(0.5)
    assert m["final_accuracy"] == 1.0


def test_metrics_reject_missing_seen_entries():
    with pytest.raises(ValueError):
        summarize([[5, None], [None, 3]], [10, 10])


def test_strategies():
    assert Strategy("latent").frozen_extractor and Strategy("latent").uses_buffer
    assert not Strategy("native").frozen_extractor and Strategy("native").uses_buffer
    assert not Strategy("none").uses_buffer
    assert not Strategy("native", joint=True).uses_buffer and Strategy("latent", joint=True).frozen_extractor
    with pytest.raises(UserError):
        Strategy("bogus")


def test_replay_mix_balances_classes_per_epoch():
    # one new class of 140 samples, 9 old classes with 8 stored samples each
    x_new, y_new = np.zeros((140, 3)), np.full(140, 9)
    x_buf, y_buf = np.ones((72, 3)), np.repeat(np.arange(9), 8)
    assert replay_repeats(140, 1, 72, 9) == round(140 / 8) == 18
    x, y, k = replay_mix(x_new, y_new, x_buf, y_buf)
    assert k == 18 and len(x) == len(y) == 140 + 18 * 72
    per_class = np.bincount(y)
    assert per_class[9] == 140 and np.all(per_class[:9] == 144)
    assert x[y == 9].sum() == 0 and np.all(x[y != 9] == 1)
    # a buffer richer than the new data is replayed once
    assert replay_repeats(10, 1, 500, 5) == 1
    x, y, k = replay_mix(x_new, y_new, x_buf[:0], y_buf[:0])
    assert k == 0 and len(y) == 140


def test_masked_head_predicts_only_seen_classes():
    from bnn_edge.cil.classifier import masked_head_model, set_seen
    from bnn_edge.models import get_preset

    model = masked_head_model(get_preset("tiny"), 256, 10)
    z = np.where(np.random.default_rng(0).random((200, 256)) < 0.5, -1.0, 1.0).astype(np.float32)
    for seen in (1, 3, 10):
        set_seen(model, seen)
        logits = model.predict(z, verbose=0)
        assert np.all(np.argmax(logits, -1) < seen)
        if seen < 10:
            assert np.all(logits[:, seen:] < -1e8) and np.all(np.abs(logits[:, :seen]) < 100)
