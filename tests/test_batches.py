"""Bounded batches (:mod:`bnn_edge.batches`): every engine gives on small batches exactly what it
gives on one batch of everything (simulator and firmware bit-identical, Keras and LCE equal).

The fast tests use the golden packs (no TensorFlow model); the others share the session's
digits/tiny run and export (``conftest``) or ``test_simulate``'s style of pre-trained export.
"""

from __future__ import annotations

import numpy as np
import pytest

from bnn_edge import batches
from bnn_edge.batches import batch_slices, keras_predict, map_batches, sim_batches
from bnn_edge.sim.interpreter import run_pack

HUGE = 10**9  # one batch of everything: the unbatched computation


def test_batch_slices_cover_in_order_and_respect_inner() -> None:
    assert [(s.start, s.stop) for s in batch_slices(10, 4)] == [(0, 4), (4, 8), (8, 10)]
    assert [(s.start, s.stop) for s in batch_slices(10, 5, inner=4)] == [(0, 4), (4, 8), (8, 10)]
    assert [(s.start, s.stop) for s in batch_slices(10, 3, inner=4)] == [(0, 4), (4, 8), (8, 10)]
    assert list(batch_slices(0, 4)) == []
    with pytest.raises(ValueError):
        list(batch_slices(3, 0))


def test_map_batches_rows_structure_and_empty() -> None:
    x = np.arange(30).reshape(10, 3)
    rows = np.array([9, 2, 5, 5, 0])
    calls = []

    def fn(xb):
        calls.append(len(xb))
        return {"a": xb * 2, "b": (xb[:, :1], None)}

    out = map_batches(fn, x, rows=rows, batch=2)
    assert calls == [2, 2, 1]
    assert np.array_equal(out["a"], x[rows] * 2) and np.array_equal(out["b"][0], x[rows][:, :1])
    assert out["b"][1] is None
    empty = map_batches(lambda xb: xb + 1, x, rows=np.zeros(0, np.int64), batch=2)
    assert empty.shape == (0, 3)


def test_sim_batches_bit_identical_on_golden_packs() -> None:
    """Every golden pack (each op, each padding/stride/group case, whole models): batches of 1
    and 2 images give the very bits of one run_pack on all of them."""
    from bnn_edge.codegen.golden import build_cases

    for case in build_cases():
        x = np.asarray(case.inputs)
        if x.ndim == len(case.pack.tensors[case.pack.input_tensor].storage_shape):
            x = x[None]
        whole = run_pack(case.pack, x)
        for b in (1, 2):
            got = sim_batches(case.pack, x, batch=b)
            assert got["output"].dtype == whole["output"].dtype
            assert np.array_equal(got["output"], whole["output"]), case.name
            if whole["latent"] is None:
                assert got["latent"] is None
            else:
                assert np.array_equal(got["latent"], whole["latent"]), case.name


@pytest.mark.slow
def test_sim_batches_on_digits_with_rows(tiny_export) -> None:
    from bnn_edge.data import load_digits
    from converters.bnnpack import read_pack

    pack = read_pack((tiny_export / "model.bnnpack").read_bytes())
    d = load_digits()
    rows = np.flatnonzero(np.isin(d.y_train, [1, 3, 8]))
    whole = run_pack(pack, d.x_train[rows])
    got = sim_batches(pack, d.x_train, rows=rows, batch=7)
    assert np.array_equal(got["output"], whole["output"]) and np.array_equal(got["latent"], whole["latent"])


@pytest.mark.slow
def test_keras_and_lce_batches_equal_one_batch(tiny_run, tiny_export, monkeypatch) -> None:
    """Keras predictions, latents and the whole reference check of `export` do not change when
    the batches are small (the batches Keras and LCE run themselves stay where they were)."""
    from bnn_edge.data import load_digits
    from bnn_edge.export import reference_check
    from bnn_edge.models import extractor_of
    from bnn_edge.train import load_run
    from converters.bnnpack import read_pack

    model, run = load_run(tiny_run)
    x = load_digits().x_test
    whole = model.predict(x.astype(np.float32), batch_size=4, verbose=0)
    assert np.array_equal(keras_predict(model, x, batch=9, keras_batch=4), whole)  # 9 -> chunks of 8
    ext = extractor_of(model)
    assert np.array_equal(keras_predict(ext, x, batch=HUGE), ext.predict(x.astype(np.float32), batch_size=256, verbose=0))

    pack = read_pack((tiny_export / "model.bnnpack").read_bytes())
    tflite = (tiny_export / "model.tflite").read_bytes()
    levels, vmax = int(run["preset"]["levels"]), int(run["vmax"])
    monkeypatch.setattr(batches, "BATCH_IMAGES", HUGE)
    one = reference_check(model, tflite, pack, x, levels, vmax)
    monkeypatch.setattr(batches, "BATCH_IMAGES", 1)  # rounded up to each engine's inner batch (Keras 256, LCE 64)
    small = reference_check(model, tflite, pack, x, levels, vmax)
    assert one == small and one["reference"] == "lce" and one["argmax_agreement"] == 1.0


@pytest.mark.slow
def test_run_batches_equal_one_batch(tiny_export, tmp_path) -> None:
    """`bnn-edge run` on the host: 3 firmware builds of 7, 7 and 6 images give what one of 20 gives."""
    from bnn_edge.device.firmware import run_export

    one = run_export(tiny_export, target="host", images=20, build_dir=tmp_path / "one", batch_images=HUGE)
    small = run_export(tiny_export, target="host", images=20, build_dir=tmp_path / "small", batch_images=7)
    assert one["bit_exact"] is True and small["bit_exact"] is True
    for k in ("images", "accuracy", "reference_accuracy", "latent_bits_compared", "arena_bytes"):
        assert one[k] == small[k], k
    assert small["image"]["flash_bytes"] < one["image"]["flash_bytes"]  # 7 embedded images, not 20


@pytest.mark.slow
def test_cil_latents_batched(tiny_run, monkeypatch) -> None:
    """`cil`'s latent extraction (HeadLearner.represent) in batches of 256 = one predict of everything."""
    from bnn_edge.cil.learners import HeadLearner
    from bnn_edge.data import load_digits
    from bnn_edge.models import get_preset
    from bnn_edge.train import load_run

    model, _ = load_run(tiny_run)
    learner = HeadLearner(get_preset("tiny"), model, 10)
    x = load_digits().x_train  # 1437 images: 6 batches of at most 256
    monkeypatch.setattr(batches, "BATCH_IMAGES", 1)
    z = learner.represent(x)
    whole = learner.extractor.predict(x.astype(np.float32), batch_size=256, verbose=0)
    assert z.dtype == np.float32 and np.array_equal(z, whole)
