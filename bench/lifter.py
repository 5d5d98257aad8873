"""Lifter speed: whole-sequence frames/s and streaming per-frame latency.

For filter widths 3,3,3 / 3,3,3,3 / 3,3,3,3,3 at 256 / 512 / 1024 channels, with torch
limited to 1 and 2 threads, measures on randomly initialised models (speed does not
depend on the weights):

* ``seq_fps``: frames/s of :meth:`Lifter.lift` on a 60-s, 30-fps sequence (1800 frames);
* ``stream_p50_ms`` / ``stream_p99_ms``: per-frame latency of :class:`LiftStream`
  (causal model, strided twin, one window per frame);
* ``naive_stream_ms``: the baseline in the same run, the dilated model re-run over the
  whole receptive-field window each frame; ``stream_speedup`` = naive / p50.

Run: ``python -m bench.lifter [--quick]``. Writes ``bench/results/lifter.json`` and
``lifter.md``.
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
import torch
from tqdm import tqdm

from bench.common import report, time_calls, time_each
from pose3d.checkpoint import LifterMetadata
from pose3d.lifter import Lifter
from pose3d.model import TemporalModel

WIDTHS = ([3, 3, 3], [3, 3, 3, 3], [3, 3, 3, 3, 3])
CHANNELS = (256, 512, 1024)
THREADS = (1, 2)
COLUMNS = [
    "filter_widths",
    "receptive_field",
    "channels",
    "params_M",
    "threads",
    "seq_fps",
    "stream_p50_ms",
    "stream_p99_ms",
    "naive_stream_ms",
    "stream_speedup",
]


def _lifter(widths: list[int], channels: int, causal: bool) -> Lifter:
    torch.manual_seed(0)
    model = TemporalModel(17, 2, 17, widths, causal=causal, channels=channels)
    return Lifter(model, LifterMetadata(architecture=model.hyperparameters, fps=30.0))


def _keypoints(frames: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    base = rng.uniform([300, 500], [800, 1500], size=(17, 2))
    t = np.arange(frames)[:, None, None]
    return (base + 30 * np.sin(t / 7 + rng.uniform(0, 6, (1, 17, 1)))).astype(np.float32)


def measure(widths: list[int], channels: int, threads: int, quick: bool) -> dict:
    """Benchmark one configuration; returns one result row."""
    torch.set_num_threads(threads)
    size = (1080, 1920)
    sequence = _keypoints(600 if quick else 1800)
    offline = _lifter(widths, channels, causal=False)
    seq_seconds = np.median(time_calls(lambda: offline.lift(sequence, image_size=size), 2))

    causal = _lifter(widths, channels, causal=True)
    stream = causal.stream(image_size=size, warmup_frames=1)
    pushes = 40 if quick else 150
    frames = _keypoints(pushes + 10)
    for frame in frames[:10]:
        stream.push(frame)
    latencies = time_each(stream.push, frames[10:])

    rf = causal.receptive_field
    window = torch.randn(1, rf, 17, 2)
    with torch.inference_mode():
        naive = time_calls(lambda: causal.model(window), 5 if quick else 20)
    p50 = float(np.percentile(latencies, 50))
    params = sum(p.numel() for p in offline.model.parameters())
    return {
        "filter_widths": ",".join(map(str, widths)),
        "receptive_field": rf,
        "channels": channels,
        "params_M": round(params / 1e6, 2),
        "threads": threads,
        "seq_fps": round(len(sequence) / seq_seconds),
        "stream_p50_ms": round(p50 * 1e3, 2),
        "stream_p99_ms": round(float(np.percentile(latencies, 99)) * 1e3, 2),
        "naive_stream_ms": round(float(np.median(naive)) * 1e3, 2),
        "stream_speedup": round(float(np.median(naive)) / p50, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter sequences, fewer pushes")
    args = parser.parse_args(argv)
    configs = list(itertools.product(WIDTHS, CHANNELS, THREADS))
    rows = [measure(w, c, t, args.quick) for w, c, t in tqdm(configs, desc="lifter configs")]
    report("lifter", "Lifter speed", rows, COLUMNS)


if __name__ == "__main__":
    main()
