"""Python-side benchmarks: simulator vs LCE interpreter, training throughput.

Run by ``make bench`` through benchmarks/run.py; results merge into benchmarks/results.json.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

import bnn_edge  # noqa: F401


def _best_of(fn, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def sim_vs_lce(run_dir, export_dir, images: int = 360) -> dict[str, Any]:
    """Seconds per image of the bit-exact simulator and of LCE's interpreter on the same pack/model and images.

    Both run image by image (batch 1, as a device does) on one thread.
    """
    from larq_compute_engine.tflite.python.interpreter import Interpreter

    from bnn_edge.data import load_digits
    from bnn_edge.models.thermometer import thermometer_encode
    from bnn_edge.sim.interpreter import run_pack
    from converters import bnnpack as bp

    pack = bp.read_pack((export_dir / "model.bnnpack").read_bytes())
    x = load_digits().x_test[:images]
    enc = thermometer_encode(x, 16, 16).astype(np.float32)
    interp = Interpreter((export_dir / "model.tflite").read_bytes(), num_threads=1)

    def sim_loop():
        for i in range(len(x)):
            run_pack(pack, x[i : i + 1], validate=False)

    def lce_loop():
        for i in range(len(x)):
            interp.predict(enc[i : i + 1])

    t_sim = _best_of(sim_loop) / len(x)
    t_lce = _best_of(lce_loop) / len(x)
    t_sim_batch = _best_of(lambda: run_pack(pack, x, validate=False)) / len(x)
    return {
        "sim_s_per_image": t_sim,
        "lce_s_per_image": t_lce,
        "sim_batched_s_per_image": t_sim_batch,
        "sim_vs_lce_slowdown": t_sim / t_lce,
        "images": len(x),
    }


def train_throughput(epochs: int = 3) -> dict[str, Any]:
    """Training images per second of the tiny preset on digits (batch 64, 2 CPU cores)."""
    from bnn_edge.data import load_digits
    from bnn_edge.models import build_model, get_preset
    from bnn_edge.train import compile_model

    d = load_digits()
    model = build_model(get_preset("tiny"), 10)
    compile_model(model, 1e-3)
    x, y = d.x_train.astype(np.float32), d.y_train
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)  # warm-up: tracing
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=64, epochs=epochs, verbose=0)
    dt = time.perf_counter() - t0
    return {"train_images_per_s": len(x) * epochs / dt, "train_preset": "tiny", "train_batch": 64}
