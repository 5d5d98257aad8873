"""Cold start of the API: seconds from ``coach-api serve`` launched to ``/readyz`` answering.

A replica that starts sooner serves sooner when the platform scales out (Cloud Run) and
when a live stream moves to a new replica. Each run starts a server process on a fresh
data folder (an empty SQLite database to migrate, the bundled models to load), waits for
readiness, reads the process's CPU time and resident memory, and stops it. This tree and
a baseline commit (served from its own source tree) alternate, ``--repeats`` each, and
the table gives min and median of each and their ratio (new / baseline).

Run: ``python -m bench.startup [--baseline COMMIT] [--repeats N]``. Writes
``bench/results/startup.json`` / ``.md``.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import cpu_seconds, export_tree, report, resident_bytes
from coach_client.local_server import free_port, start_server

REPO = Path(__file__).resolve().parent.parent
VARIANTS = ("baseline", "new")
COLUMNS = ["measure", "baseline min", "baseline median", "new min", "new median", "ratio (median)"]


def _start_once(tree: Path, data: Path) -> dict[str, float]:
    """One cold start of the server in ``tree``: wall seconds to ready, its CPU seconds
    by then and its resident MiB."""
    started = time.perf_counter()
    server = start_server(data, free_port(), cwd=tree)
    ready_s = time.perf_counter() - started
    try:
        cpu_s = cpu_seconds(server.pid)
        rss_mib = resident_bytes(server.pid) / 2**20
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {"ready s": ready_s, "CPU s to ready": cpu_s, "resident MiB": rss_mib}


def _rows(runs: dict[str, dict[str, list[float]]]) -> list[dict]:
    rows = []
    for measure, by_variant in runs.items():
        row = {"measure": measure}
        for variant in VARIANTS:
            values = np.array(by_variant[variant])
            row[f"{variant} min"] = round(float(values.min()), 2)
            row[f"{variant} median"] = round(float(np.median(values)), 2)
        row["ratio (median)"] = round(row["new median"] / row["baseline median"], 2)
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default="HEAD", help="commit to compare the tree with")
    parser.add_argument("--repeats", type=int, default=5, help="starts per variant")
    args = parser.parse_args(argv)
    new = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    runs: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        trees = {"baseline": export_tree(args.baseline, folder / "baseline"), "new": REPO}
        for repeat in range(args.repeats):
            order = VARIANTS if repeat % 2 == 0 else VARIANTS[::-1]  # interleaved
            for variant in order:
                measured = _start_once(trees[variant], folder / f"data-{variant}-{repeat}")
                print(f"{variant} run {repeat + 1}: {measured}", flush=True)
                for measure, value in measured.items():
                    runs.setdefault(measure, {v: [] for v in VARIANTS})[variant].append(value)
    context = {"baseline": args.baseline, "new": new, "repeats": args.repeats}
    title = f"API cold start: {new} vs {args.baseline}"
    report("startup", title, _rows(runs), COLUMNS, context)


if __name__ == "__main__":
    main()
