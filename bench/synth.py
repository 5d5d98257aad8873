"""Clip generation speed: 10-s, 30-fps clips generated and written, per core.

Baseline in the same run: generation alone (no file writing), to show what the file
format costs. Also 2 worker processes, to show scaling. Target: >= 20 clips/s per core.

Run: ``python -m bench.synth [--clips N]``. Writes ``bench/results/synth.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from bench.common import report
from synthetic_data.batch import generate_batch, plan_requests
from synthetic_data.generator import generate_clip

COLUMNS = ["task", "workers", "clips", "seconds", "clips_per_s", "clips_per_s_per_core"]


def measure(clips: int) -> list[dict]:
    requests = plan_requests(clips, seed=9, duration_s=10.0, num_cameras=1)
    rows = []
    start = time.perf_counter()
    for request in requests:
        generate_clip(request)
    seconds = time.perf_counter() - start
    rows.append(("generate only", 1, seconds))
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            generate_batch(out, requests, workers=workers, with_references=False, progress=False)
            rows.append(("generate + write", workers, time.perf_counter() - start))
    return [
        {
            "task": task,
            "workers": workers,
            "clips": clips,
            "seconds": round(seconds, 2),
            "clips_per_s": round(clips / seconds, 1),
            "clips_per_s_per_core": round(clips / seconds / workers, 1),
        }
        for task, workers, seconds in rows
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=300)
    args = parser.parse_args(argv)
    rows = measure(args.clips)
    report("synth", "Clip generation (10 s at 30 fps)", rows, COLUMNS)


if __name__ == "__main__":
    main()
