"""Helpers shared by the benchmarks: machine description, timing, result files."""

from __future__ import annotations

import io
import json
import os
import platform
import subprocess
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

RESULTS_DIR = Path(__file__).parent / "results"


def host_speed(repeats: int = 5) -> dict[str, float]:
    """This host's speed on three fixed probes, one thread each (min of ``repeats``): a
    pure-Python loop (ms), a small numpy call (µs: a live check is ~1,000 of them), and
    the float32 GEMM of a live lifting round (``(300, 768) @ (768, 256)``, GFLOP/s) in
    numpy and in torch. The "AMD EPYC" cores this project is measured on have differed by
    2-3x between sessions (docs/benchmarks.md), so a figure is compared with another
    session's only through these."""
    import torch
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    left = rng.standard_normal((300, 768), dtype=np.float32)
    right = rng.standard_normal((768, 256), dtype=np.float32)
    small = rng.standard_normal(100)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1, user_api="blas"):
            loop = time_calls(lambda: sum(i * i for i in range(100_000)), repeats).min()
            call = time_calls(lambda: [np.add(small, 1.0) for _ in range(1000)], repeats).min()
            gemm_numpy = time_calls(lambda: left @ right, repeats).min()
            pair = torch.from_numpy(left), torch.from_numpy(right)
            gemm_torch = time_calls(lambda: torch.mm(*pair), repeats).min()
    finally:
        torch.set_num_threads(threads)
    flop = 2 * left.shape[0] * left.shape[1] * right.shape[1]
    return {
        "python_loop_ms": round(float(loop) * 1e3, 2),
        "numpy_call_us": round(float(call) * 1e3, 2),  # 1000 calls: ms per batch = µs per call
        "numpy_gemm_gflops": round(flop / float(gemm_numpy) / 1e9, 1),
        "torch_gemm_gflops": round(flop / float(gemm_torch) / 1e9, 1),
    }


def describe_machine() -> dict[str, str | int | float]:
    """CPU model, core count, memory and library versions of this machine, and its speed
    on fixed probes (:func:`host_speed`)."""
    cpu = platform.processor() or "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import torch

    return {
        "cpu": cpu,
        "cores": os.cpu_count() or 0,
        "memory_gib": round(memory_gib, 1),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "date": time.strftime("%Y-%m-%d"),
    } | host_speed()


def time_calls(fn: Callable[[], object], repeats: int) -> np.ndarray:
    """Wall-clock seconds of ``repeats`` calls of ``fn`` (after one warm-up call)."""
    fn()
    durations = np.empty(repeats)
    for i in range(repeats):
        start = time.perf_counter()
        fn()
        durations[i] = time.perf_counter() - start
    return durations


def time_each(fn: Callable[[object], object], inputs) -> np.ndarray:
    """Wall-clock seconds of ``fn(x)`` for each ``x`` in ``inputs`` (no warm-up)."""
    durations = np.empty(len(inputs))
    for i, x in enumerate(inputs):
        start = time.perf_counter()
        fn(x)
        durations[i] = time.perf_counter() - start
    return durations


def markdown_table(rows: list[dict], columns: list[str]) -> str:
    """Render ``rows`` as a GitHub markdown table with the given column order."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(str(row[c]) for c in columns) + " |")
    return "\n".join(lines)


def write_results(name: str, machine: dict, rows: list[dict], columns: list[str]) -> Path:
    """Write ``bench/results/<name>.json`` and ``<name>.md``; return the JSON path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps({"machine": machine, "rows": rows}, indent=2) + "\n")
    machine_line = ", ".join(f"{k}: {v}" for k, v in machine.items())
    table = markdown_table(rows, columns)
    (RESULTS_DIR / f"{name}.md").write_text(f"Machine: {machine_line}\n\n{table}\n")
    return path


def report(
    name: str, title: str, rows: list[dict], columns: list[str], context: dict | None = None
) -> Path:
    """Print ``rows`` as a table titled ``title`` and record them with the machine and
    ``context`` (e.g. the commits compared; :func:`write_results`); return the JSON path."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row[c]) for c in columns))
    Console().print(table)
    path = write_results(name, describe_machine() | (context or {}), rows, columns)
    print(f"wrote {path}")
    return path


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """User + system CPU seconds process ``pid`` has used (all its threads), or its thread
    ``thread`` (``pid`` itself: the main thread), from ``/proc`` (Linux)."""
    stat = Path(f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat")
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def resident_bytes(pid: int) -> int:
    """Resident memory of process ``pid`` in bytes, from ``/proc`` (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def export_tree(commit: str, folder: Path) -> Path:
    """The source tree of ``commit`` of this repository, written into ``folder`` (nothing
    in the repository changes: no worktree, no checkout): a benchmark's baseline."""
    repo = Path(__file__).resolve().parent.parent
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit], cwd=repo, check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder
