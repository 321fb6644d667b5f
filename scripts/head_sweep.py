"""Sweep the on-device head's learning hyper-parameters on an export's Split scenario.

    python scripts/head_sweep.py RUN_DIR EXPORT_DIR '[{"temp_shift": 6, "replay_k": 4}, ...]' \
        [--tasks 5] [--buffer-kb 16] [--w1 trained|random] [--seed 0] [--out FILE.jsonl]

Each grid entry overrides fields of :class:`bnn_edge.sim.head.HeadConfig` (``epochs``, ``lr_mul``,
``lr_shift``, ``replay_k``, ``temp_shift``: the ``simulate --head-*`` options). The integer head
and its float reference run the same stream as ``bnn-edge simulate`` (no C run: pass the winner
to ``simulate`` for that). The latents come from the run's Keras extractor (seconds instead of the
simulator's minutes) and are checked bit for bit against the pack's simulator on 256 test images
first; they are cached beside the export (``head_sweep_latents.npz``). One JSON line per entry.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402


def latents(run_dir: Path, export_dir: Path, pack, run: dict) -> dict[str, np.ndarray]:
    cache = export_dir / "head_sweep_latents.npz"
    if cache.exists():
        with np.load(cache, allow_pickle=False) as d:
            return {k: d[k] for k in d.files}
    from bnn_edge.batches import keras_predict, sim_batches
    from bnn_edge.data import load_run_dataset
    from bnn_edge.models.build import extractor_of
    from bnn_edge.train import load_run
    from converters.bitpack import pack_bits

    data = load_run_dataset(run)
    model, _ = load_run(run_dir)
    ext = extractor_of(model)
    zt = pack_bits(keras_predict(ext, data.x_train) < 0)
    ze = pack_bits(keras_predict(ext, data.x_test) < 0)
    n = min(256, len(data.x_test))
    ref = np.asarray(sim_batches(pack, data.x_test, rows=np.arange(n))["latent"]).reshape(n, -1).astype(np.uint32)
    if not np.array_equal(ref, ze[:n]):
        raise SystemExit("the Keras extractor's latents differ from the pack's: is RUN_DIR the run EXPORT_DIR came from?")
    out = {"zt": zt, "ze": ze, "yt": data.y_train, "ye": data.y_test}
    np.savez(cache, **out)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("export_dir", type=Path)
    ap.add_argument("grid", help="JSON list of HeadConfig overrides")
    ap.add_argument("--tasks", type=int, default=5)
    ap.add_argument("--buffer-kb", type=float, default=16.0)
    ap.add_argument("--w1", choices=["trained", "random"], default="trained")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="also append the lines to this file")
    a = ap.parse_args()

    from bnn_edge.device.ondevice import HEAD_OPTIONS, _read_export, split_tasks
    from bnn_edge.sim.cil_stream import protocol_stream, run_sim_stream
    from bnn_edge.sim.head import FloatHead, HeadConfig, IntHead, w1_from_pack

    grid = json.loads(a.grid)
    if not isinstance(grid, list) or not all(isinstance(g, dict) and set(g) <= set(HEAD_OPTIONS) for g in grid):
        raise SystemExit(f"grid: expected a JSON list of objects with keys among {', '.join(HEAD_OPTIONS)}")
    pack, _info, run = _read_export(a.export_dir)
    order, pre = [int(c) for c in run["class_order"]], [int(c) for c in run["classes"]]
    groups = split_tasks(order, len(pre), a.tasks)
    pos = {c: i for i, c in enumerate(order)}
    d = latents(a.run_dir, a.export_dir, pack, run)
    w1 = w1_from_pack(pack) if a.w1 == "trained" else None

    def split(z: np.ndarray, y: np.ndarray):
        masks = [np.isin(y, g) for g in groups]
        return [z[m] for m in masks], [np.array([pos[int(c)] for c in y[m]], np.int64) for m in masks]

    tr_x, tr_y = split(d["zt"], d["yt"])
    te_x, te_y = split(d["ze"], d["ye"])
    for over in grid:
        t0 = time.perf_counter()
        cfg = HeadConfig(n_latent=d["zt"].shape[1] * 32, max_classes=len(order), buffer_bytes=int(round(a.buffer_kb * 1024)),
                         seed=a.seed & 0xFFFFFFFF, **({} if w1 is None else {"n_hidden": len(w1)}), **over)
        ps = protocol_stream(cfg, tr_x, tr_y, te_x, te_y, seed=a.seed, commit_after_task=True)
        py, fl = run_sim_stream(ps.stream, IntHead(cfg, w1)), run_sim_stream(ps.stream, FloatHead(cfg, w1))
        line = json.dumps({"w1": a.w1, "seed": a.seed, "head": over, "int": round(ps.final_accuracy(py.predictions), 4),
                           "float": round(ps.final_accuracy(fl.predictions), 4),
                           "seconds": round(time.perf_counter() - t0, 1)})
        print(line, flush=True)
        if a.out is not None:
            with open(a.out, "a") as f:
                f.write(line + "\n")


if __name__ == "__main__":
    main()
