"""build-shards throughput on the DirectRunner: clips/s and windows/s, 1 vs 2 workers.

Generates 10-s, 30-fps clips once, then runs ``coach dataflow build-shards`` (4 cameras
per clip, 100-frame windows) in a fresh process per configuration: the in-memory
DirectRunner with one worker (the baseline), and the multi-processing DirectRunner with
one and with two workers. Peak memory is the largest resident set of the job's
processes. Rates use the pipeline's own time (``finished in`` of the job), without the
interpreter start and imports, a fixed cost per process that says nothing about the
pipeline (the whole process time is reported as ``wall_s``).
Targets: >= 20 clips/s with 2 workers, and 2 workers >= 1.6x one.

Run: ``python -m bench.dataflow [--clips N]``. Writes ``bench/results/dataflow.json`` / ``.md``.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import report
from synthetic_data.batch import generate_batch, plan_requests

COLUMNS = [
    "runner",
    "workers",
    "clips",
    "windows",
    "wall_s",
    "pipeline_s",
    "clips_per_s",
    "windows_per_s",
    "speedup_vs_1",
    "peak_rss_mib",
]
MP = ["--direct_running_mode", "multi_processing", "--direct_num_workers"]
CONFIGS = (
    ("in_memory", 1, []),
    ("multi_processing", 1, [*MP, "1"]),
    ("multi_processing", 2, [*MP, "2"]),
)


def run_job(
    clips_dir: Path, out: Path, runner_flags: list[str]
) -> tuple[float, float, dict, float]:
    """Run build-shards in a child process.

    Returns the wall time (with interpreter start and imports), the pipeline's own time
    (as the job reports it), the summary and the peak RSS (MiB).
    """
    command = [
        sys.executable,
        "-c",
        "import sys; from dataflow_jobs.cli import build_shards_main as m; "
        "sys.exit(m(sys.argv[1:]))",
        "--input",
        f"{clips_dir}/*.clip.npz",
        "--output",
        str(out),
        "--cameras-per-clip",
        "4",
        "--window",
        "100",
        "--num-shards",
        "16",
        *runner_flags,
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    pipeline = float(re.search(r"finished in ([0-9.]+) s", done.stdout).group(1))
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    return wall, pipeline, json.loads((out / "summary.json").read_text()), peak


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=200)
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        clips_dir = Path(tmp) / "clips"
        generate_batch(
            clips_dir,
            plan_requests(args.clips, seed=12, duration_s=10.0),
            with_references=False,
            progress=False,
        )
        baseline = None
        for index, (mode, workers, flags) in enumerate(CONFIGS):
            wall, seconds, summary, peak = run_job(clips_dir, Path(tmp) / f"out{index}", flags)
            windows = sum(s["sequences"] for s in summary["shards"])
            rate = args.clips / seconds
            if mode == "multi_processing" and workers == 1:
                baseline = rate
            rows.append(
                {
                    "runner": mode,
                    "workers": workers,
                    "clips": args.clips,
                    "windows": windows,
                    "wall_s": round(wall, 2),
                    "pipeline_s": round(seconds, 2),
                    "clips_per_s": round(rate, 1),
                    "windows_per_s": round(windows / seconds, 1),
                    "speedup_vs_1": round(rate / baseline, 2) if baseline else "-",
                    "peak_rss_mib": round(peak),
                }
            )
    report("dataflow", "build-shards on the DirectRunner (10-s clips, 4 cameras)", rows, COLUMNS)


if __name__ == "__main__":
    main()
