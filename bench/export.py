"""Phone artifacts: size, ONNX Runtime latency and parity of the bundled lifter.

Exports the bundled model with each quantisation (none / fp16 / int8) in both formats,
then for the ONNX streaming variant measures per-frame latency (one window in, newest
pose out; ONNX Runtime CPU, 1 thread; p50/p99 over 500 calls) and parity against
torch on held-out synthetic windows (test split shards when given, else freshly
simulated clips). Baseline in the same run: torch's own streaming latency (1 thread).
Targets: <= 4 MB per artifact, <= 2 ms per frame, max |error| <= 1e-4 at fp32 and
MPJPE change <= 1 mm at fp16 / int8.

Run: ``python -m bench.export [--shards data/shards]`` (writes ``bench/results/export.*``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from bench.common import report
from mobile_export.export import export_all
from mobile_export.parity import onnx_stream_parity, stream_windows
from mobile_export.variants import StreamingLifter
from pose3d.lifter import Lifter
from pose3d.shards import load_split

COLUMNS = [
    "artifact",
    "quantization",
    "size_MB",
    "p50_ms",
    "p99_ms",
    "max_abs_error",
    "mpjpe_change_mm",
]


def _latency(run, windows: np.ndarray) -> tuple[float, float]:
    for w in windows[:20]:
        run(w[None])
    durations = []
    for w in windows[:500]:
        start = time.perf_counter()
        run(w[None])
        durations.append(time.perf_counter() - start)
    return float(np.percentile(durations, 50)) * 1e3, float(np.percentile(durations, 99)) * 1e3


def _records(shards: Path | None):
    if shards is not None:
        return load_split(shards, "test")[:40]
    from dataflow_jobs.records import film_clip
    from synthetic_data.batch import plan_requests
    from synthetic_data.generator import generate_clip

    return [
        r
        for q in plan_requests(24, seed=77, duration_s=5.0)
        for r in film_clip(generate_clip(q), 1, 3)
    ]


def main(argv: list[str] | None = None) -> None:
    import onnxruntime as ort

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=Path, default=None)
    args = parser.parse_args(argv)
    lifter = Lifter.from_checkpoint()
    model = lifter.model
    windows, targets = stream_windows(
        _records(args.shards), lifter.receptive_field, per_sequence=25
    )
    torch.set_num_threads(1)
    stream = StreamingLifter(model).eval()

    def torch_run(x):
        with torch.inference_mode():
            return stream(torch.from_numpy(x))

    p50, p99 = _latency(torch_run, windows)
    rows = [
        {
            "artifact": "torch streaming (baseline)",
            "quantization": "none",
            "size_MB": "-",
            "p50_ms": round(p50, 3),
            "p99_ms": round(p99, 3),
            "max_abs_error": 0.0,
            "mpjpe_change_mm": 0.0,
        }
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for quantize in ("none", "fp16", "int8"):
            out = Path(tmp) / quantize
            sidecar = json.loads(export_all(out, ["onnx", "coreml"], quantize).read_text())
            for name, info in sidecar["artifacts"].items():
                row = {
                    "artifact": name,
                    "quantization": quantize,
                    "size_MB": round(info["bytes"] / 2**20, 2),
                    "p50_ms": "-",
                    "p99_ms": "-",
                    "max_abs_error": "-",
                    "mpjpe_change_mm": "-",
                }
                if name == "lifter_stream.onnx":
                    parity = onnx_stream_parity(model, out / name, windows, targets)
                    options = ort.SessionOptions()
                    options.intra_op_num_threads = 1
                    session = ort.InferenceSession(
                        str(out / name), options, providers=["CPUExecutionProvider"]
                    )
                    p50, p99 = _latency(lambda x, s=session: s.run(None, {"keypoints": x}), windows)
                    row |= {
                        "p50_ms": round(p50, 3),
                        "p99_ms": round(p99, 3),
                        "max_abs_error": float(f"{parity['max_abs_error']:.2e}"),
                        "mpjpe_change_mm": round(parity["mpjpe_change_mm"], 3),
                    }
                rows.append(row)
    report("export", f"Phone artifacts of {lifter.metadata.version}", rows, COLUMNS)


if __name__ == "__main__":
    main()
