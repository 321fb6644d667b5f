#!/usr/bin/env python3
"""Image-folder loading: first load (decode every file) against the second (the cache), same machine.

Usage: ``python benchmarks/bench_folder.py [DIR] [--repeat N]``. Without ``DIR`` a folder of 10 classes
x 600 random 32x32 JPEGs is generated in a temporary directory. The cache goes to a fresh temporary
directory (``BNN_EDGE_CACHE_DIR``), so the first load always decodes. The second load is timed ``N``
times (the median is reported). Results are merged into ``benchmarks/folder_results.json`` under the
folder's name, with the command; the target is ``second_load_speedup >= 5``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "folder_results.json"


def generate(root: Path, classes: int = 10, per_class: int = 600, size: int = 32) -> Path:
    """Random JPEGs: ``root/train/<class>/*.jpg`` (5/6) and ``root/test/<class>/*.jpg`` (1/6)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for c in range(classes):
        for split, n in (("train", per_class * 5 // 6), ("test", per_class // 6)):
            d = root / split / f"class{c:02d}"
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(d / f"{i:05d}.jpg")
    return root


def bench(folder: Path, repeat: int) -> dict:
    from bnn_edge.datasets.folder import load_image_folder

    with tempfile.TemporaryDirectory() as cache:
        os.environ["BNN_EDGE_CACHE_DIR"] = cache
        t0 = time.perf_counter()
        first = load_image_folder(folder, verbose=False)
        t_first = time.perf_counter() - t0
        assert not first.from_cache
        seconds = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            again = load_image_folder(folder, verbose=False)
            seconds.append(time.perf_counter() - t0)
            assert again.from_cache
        cache_bytes = sum(p.stat().st_size for p in Path(cache).rglob("*.npz"))
    n = len(first.x_train) + len(first.x_test)
    t_second = statistics.median(seconds)
    return {
        "images": n, "classes": len(first.class_names), "shape": list(first.x_train.shape[1:]),
        "first_load_s": round(t_first, 3), "second_load_s": round(t_second, 3),
        "second_load_s_all": [round(s, 3) for s in seconds],
        "second_load_speedup": round(t_first / t_second, 2), "cache_bytes": cache_bytes,
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "loadavg_1min": round(os.getloadavg()[0], 2),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", default=None)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.folder) if args.folder else generate(Path(tmp) / "generated")
        res = bench(folder, args.repeat)
    res["cmd"] = "python benchmarks/bench_folder.py" + (f" {args.folder}" if args.folder else "") + f" --repeat {args.repeat}"
    name = Path(args.folder).name if args.folder else "generated-10x600-jpeg32"
    old = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    old[name] = res
    RESULTS.write_text(json.dumps(old, indent=2) + "\n")
    print(json.dumps({name: res}, indent=2))
    return 0 if res["second_load_speedup"] >= 5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
