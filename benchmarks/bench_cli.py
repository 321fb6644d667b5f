"""Start-up cost of the commands that need no TensorFlow: ``bnn-edge --help`` and ``bnn-edge inspect PACK``.

Wall time and maximum resident set size of the whole process, as ``/usr/bin/time -v`` reports them
(the kernel's ``ru_maxrss`` of the child, read with ``os.wait4``). Each command runs ``repeats``
times; the figures are the medians. Target (issue 16): under 0.5 s and 150 MB each.

``make bench`` runs it through benchmarks/run.py. Alone, it merges its figures into an existing
results.json (``cli_help_seconds``, ``cli_help_max_rss_mb``, ``inspect_seconds``,
``inspect_max_rss_mb`` and the ``cli`` section)::

    python benchmarks/bench_cli.py [--pack FILE.bnnpack] [--results benchmarks/results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DEFAULT_PACKS = (BENCH / "work" / "tiny" / "export" / "model.bnnpack",
                 ROOT / "firmware" / "fuzz" / "corpus" / "pack" / "golden_bconv_3x3_same_c16_bits.bnnpack")
LIMIT_SECONDS = 0.5
LIMIT_MB = 150.0


def bnn_edge_command() -> list[str]:
    """The installed ``bnn-edge`` entry point next to this Python, else ``python -m bnn_edge.cli``."""
    exe = Path(sys.executable).parent / "bnn-edge"
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "bnn_edge.cli"]


def measure(argv: Sequence[str]) -> tuple[float, float, int, float]:
    """Run ``argv`` once (stdout discarded): ``(wall seconds, max RSS in MB, exit status, CPU seconds)``."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.stderr is not None:
        proc.stderr.close()
    return wall, usage.ru_maxrss / 1024.0, proc.returncode, usage.ru_utime + usage.ru_stime  # ru_maxrss: KiB


def bench(argv: Sequence[str], repeats: int = 5) -> dict[str, Any]:
    """Median wall time, max RSS and CPU time (user + system: what a loaded machine does not inflate much)
    of ``repeats`` runs of ``argv``, after one warm-up run (disk cache)."""
    measure(argv)
    runs = [measure(argv) for _ in range(repeats)]
    bad = [r[2] for r in runs if r[2] != 0]
    if bad:
        raise SystemExit(f"bench_cli: {' '.join(argv)} exited with {bad[0]}")
    return {
        "seconds": statistics.median(r[0] for r in runs),
        "max_rss_mb": statistics.median(r[1] for r in runs),
        "cpu_seconds": statistics.median(r[3] for r in runs),
        "seconds_all": [round(r[0], 4) for r in runs],
        "max_rss_mb_all": [round(r[1], 1) for r in runs],
    }


def cli_startup(pack: Path | None = None, repeats: int = 5) -> dict[str, Any]:
    """``--help`` and ``inspect PACK`` figures plus the flat headline keys."""
    pack = pack or next(p for p in DEFAULT_PACKS if p.is_file())
    cmd = bnn_edge_command()
    help_ = bench(cmd + ["--help"], repeats)
    insp = bench(cmd + ["inspect", str(pack)], repeats)
    shown = " ".join(Path(c).name if i == 0 else c for i, c in enumerate(cmd))
    try:
        pack_shown = str(pack.resolve().relative_to(ROOT))
    except ValueError:
        pack_shown = str(pack)
    help_["cmd"] = f"/usr/bin/time -v {shown} --help"
    insp["cmd"] = f"/usr/bin/time -v {shown} inspect {pack_shown}"
    return {
        "cli_help_seconds": help_["seconds"],
        "cli_help_max_rss_mb": help_["max_rss_mb"],
        "inspect_seconds": insp["seconds"],
        "inspect_max_rss_mb": insp["max_rss_mb"],
        "cli": {"help": help_, "inspect": insp, "repeats": repeats, "loadavg_1min": round(os.getloadavg()[0], 2), "limit_seconds": LIMIT_SECONDS,
                "limit_max_rss_mb": LIMIT_MB,
                "within_limits": all(r["seconds"] < LIMIT_SECONDS and r["max_rss_mb"] < LIMIT_MB for r in (help_, insp))},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pack", type=Path, default=None, help="pack to inspect (default: the bench's tiny export, "
                                                            "else a committed golden pack)")
    ap.add_argument("--results", type=Path, default=BENCH / "results.json", help="results.json to merge into")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    r = cli_startup(args.pack, args.repeats)
    results = json.loads(args.results.read_text()) if args.results.is_file() else {}
    results.update(r)
    args.results.write_text(json.dumps(results, indent=2, default=str) + "\n")
    for k in ("cli_help_seconds", "cli_help_max_rss_mb", "inspect_seconds", "inspect_max_rss_mb"):
        print(f"{k} = {r[k]:.3g}")
    print(f"within {LIMIT_SECONDS} s and {LIMIT_MB:g} MB: {str(r['cli']['within_limits']).lower()} -> {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
