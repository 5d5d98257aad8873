"""Live lifting at scale: cached causal inference against the full-window stream (issue 21).

The bundled causal lifter (receptive field 81), ``B`` phone streams each sending ``k``
new frames per tick, for B = 1, 20, 100, 200 and k = 1, 5. Two tables:

* ``stream_lifter``: a whole tick (validation, gap filling, normalisation, the network),
  three ways: ``base``, the baseline commit's ``LiftStream.push_many`` once per stream
  (the strided twin over a receptive-field window per frame: the ``pose3d/lifter.py`` of
  ``--baseline``, run on this tree's other modules); ``each``, this tree's
  ``push_many`` once per stream (cached layers); ``batched``, one
  :func:`~pose3d.lifter.lift_streams` call for all B streams. Milliseconds per tick (min
  and median over the repetitions), microseconds per frame (medians), and base / new
  ratios of the medians.
* ``stream_lifter_backends``: the cached network pass alone (``advance`` over B streams'
  caches and k frames each) with its layer products in numpy (float32 BLAS), in torch,
  and in ONNX Runtime (one session per layer): the measurement that chose torch for
  passes of 16 rows or more and numpy for fewer (numpy alone until session 36, when a
  slower host made its BLAS 2x torch's).

Repetitions are interleaved (every variant once per round, the order rotating), so that
a slower moment of the machine falls on all of them. BLAS, torch and ONNX Runtime run on
``--threads`` threads (1: the API's setting, concurrent requests share the cores).

    python -m bench.stream_lifter   # bench/results/stream_lifter{,_backends}.{json,md}
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import onnx
import onnxruntime
import torch
from onnx import TensorProto, helper, numpy_helper
from threadpoolctl import threadpool_limits

from bench.common import report
from pose3d.cached_stream import CachedCausalModel, StreamMemory, _CausalLayer
from pose3d.lifter import Lifter, lift_streams

REPO = Path(__file__).resolve().parent.parent
BASELINE = "57a64f5"  # the last commit whose LiftStream lifts a whole window per frame
STREAMS = (1, 20, 100, 200)
NEW_FRAMES = (1, 5)
SIZE = (1080, 1920)
TICK_VARIANTS = ("base", "each", "batched")
BACKENDS = ("numpy", "torch", "onnxruntime")
TICK_COLUMNS = [
    "streams",
    "frames",
    "base_min_ms",
    "base_median_ms",
    "each_min_ms",
    "each_median_ms",
    "batched_min_ms",
    "batched_median_ms",
    "base_us_per_frame",
    "batched_us_per_frame",
    "base/each",
    "base/batched",
]
BACKEND_COLUMNS = [
    "streams",
    "frames",
    *(f"{b}_{s}_ms" for b in BACKENDS for s in ("min", "median")),
    "torch/numpy",
    "onnxruntime/numpy",
]


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout


def baseline_lifter_module(commit: str) -> ModuleType:
    """``pose3d/lifter.py`` of ``commit`` as a module of its own (``baseline_lifter``)."""
    name = "baseline_lifter"
    module = ModuleType(name)
    module.__file__ = str(REPO / "pose3d" / "lifter.py")  # its bundled models are ours
    sys.modules[name] = module  # NamedTuple and dataclass machinery look modules up
    source = _git("show", f"{commit}:pose3d/lifter.py")
    exec(compile(source, f"{commit}:pose3d/lifter.py", "exec"), module.__dict__)
    return module


def phone_motion(streams: int, frames: int) -> np.ndarray:
    """``(streams, frames, 17, 2)`` smooth COCO-17 pixel sequences in a 1080x1920 frame,
    one person per stream."""
    rng = np.random.default_rng(0)
    base = rng.uniform([300, 500], [800, 1500], size=(streams, 1, 17, 2))
    phase = rng.uniform(0, 6, size=(streams, 1, 17, 1))
    t = np.arange(frames)[None, :, None, None]
    return (base + 40 * np.sin(t / 6 + phase)).astype(np.float32)


class NumpyLayers(CachedCausalModel):
    """The cached network with every layer product in numpy's float32 BLAS (the package's
    choice until session 36; since, only for passes of a few rows)."""

    torch_min_rows = sys.maxsize


class TorchLayers(CachedCausalModel):
    """The cached network with every layer product in torch, however few the rows."""

    torch_min_rows = 0


class OnnxLayers(CachedCausalModel):
    """The cached network with each layer's products in an ONNX Runtime session."""

    def __init__(self, model: torch.nn.Module, threads: int) -> None:
        super().__init__(model)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = threads
        self.sessions = {
            id(layer.taps): onnxruntime.InferenceSession(
                _layer_graph(layer).SerializeToString(), options, providers=["CPUExecutionProvider"]
            )
            for layer in self.layers
        }

    def _layer(self, index: int, taps: np.ndarray, x: np.ndarray) -> np.ndarray:
        layer = self.layers[index]
        feeds = {"taps": taps} if layer.pointwise is None else {"taps": taps, "x": x}
        return self.sessions[id(layer.taps)].run(None, feeds)[0]


def _layer_graph(layer: _CausalLayer) -> onnx.ModelProto:
    """One layer as ONNX: ``relu(taps @ W + b)``, plus ``x + relu(. @ W1 + b1)`` for a block."""
    inputs = [helper.make_tensor_value_info("taps", TensorProto.FLOAT, ["n", layer.taps.shape[0]])]
    weights = [numpy_helper.from_array(layer.taps, "w"), numpy_helper.from_array(layer.bias, "b")]
    nodes = [
        helper.make_node("Gemm", ["taps", "w", "b"], ["z"]),
        helper.make_node("Relu", ["z"], ["y"]),
    ]
    if layer.pointwise is not None:
        channels = layer.pointwise[0].shape[0]
        inputs.append(helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", channels]))
        weights += [
            numpy_helper.from_array(a, n)
            for a, n in zip(layer.pointwise, ("w1", "b1"), strict=True)
        ]
        nodes += [
            helper.make_node("Gemm", ["y", "w1", "b1"], ["z1"]),
            helper.make_node("Relu", ["z1"], ["y1"]),
            helper.make_node("Add", ["x", "y1"], ["out"]),
        ]
    else:
        nodes.append(helper.make_node("Identity", ["y"], ["out"]))
    out = helper.make_tensor_value_info("out", TensorProto.FLOAT, ["n", layer.taps.shape[1]])
    graph = helper.make_graph(nodes, "layer", inputs, [out], weights)
    opset = [helper.make_opsetid("", 18)]
    return helper.make_model(graph, opset_imports=opset, ir_version=9)  # ORT reads <= 13


def _interleaved(calls: dict[str, Callable[[], object]], rounds: int) -> dict[str, np.ndarray]:
    """Seconds of each call per round, every call once per round, the order rotating (one
    warm-up round first)."""
    names = list(calls)
    for name in names:
        calls[name]()
    seconds = {name: np.empty(rounds) for name in names}
    for round_ in range(rounds):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            started = time.perf_counter()
            calls[name]()
            seconds[name][round_] = time.perf_counter() - started
    return seconds


def measure_ticks(lifter: Lifter, old: ModuleType, streams: int, k: int, rounds: int) -> dict:
    """One row of ``stream_lifter``: B streams x k frames per tick, three ways."""
    motion = phone_motion(streams, (rounds + 2) * k + lifter.receptive_field)
    old_lifter = old.Lifter(lifter.model, lifter.metadata)
    made = {
        "base": [old_lifter.stream(image_size=SIZE, warmup_frames=1) for _ in range(streams)],
        "each": [lifter.stream(image_size=SIZE, warmup_frames=1) for _ in range(streams)],
        "batched": [lifter.stream(image_size=SIZE, warmup_frames=1) for _ in range(streams)],
    }
    sent = dict.fromkeys(made, 0)
    for name, group in made.items():  # past the warm-up: the window full, caches settled
        for stream, frames in zip(group, motion, strict=True):
            stream.push_many(frames[: lifter.receptive_field])
        sent[name] = lifter.receptive_field

    def tick(name: str) -> Callable[[], object]:
        def run() -> object:
            start, sent[name] = sent[name], sent[name] + k
            batches = [(frames[start : start + k], None) for frames in motion]
            if name == "batched":
                return lift_streams(made[name], batches)
            return [s.push_many(*b) for s, b in zip(made[name], batches, strict=True)]

        return run

    seconds = _interleaved({name: tick(name) for name in TICK_VARIANTS}, rounds)
    row: dict[str, int | float] = {"streams": streams, "frames": k}
    for name in TICK_VARIANTS:
        row[f"{name}_min_ms"] = round(float(seconds[name].min()) * 1e3, 3)
        row[f"{name}_median_ms"] = round(float(np.median(seconds[name])) * 1e3, 3)
    for name in ("base", "batched"):
        row[f"{name}_us_per_frame"] = round(row[f"{name}_median_ms"] * 1e3 / (streams * k), 1)
    for name in ("each", "batched"):
        row[f"base/{name}"] = round(row["base_median_ms"] / row[f"{name}_median_ms"], 2)
    return row


def measure_backends(
    networks: dict[str, CachedCausalModel], streams: int, k: int, rounds: int
) -> dict:
    """One row of ``stream_lifter_backends``: the network pass alone, per backend."""
    rng = np.random.default_rng(1)
    first = rng.uniform(-1, 1, (streams, networks["numpy"].cache_shapes[0][1]))
    caches = networks["numpy"].initial_caches(first.astype(np.float32))
    frames = [rng.uniform(-1, 1, (k, first.shape[1])).astype(np.float32) for _ in caches]
    calls = {}
    for name, network in networks.items():
        memories = [StreamMemory(c) for c in caches]
        calls[name] = lambda network=network, memories=memories: network.advance(memories, frames)
    seconds = _interleaved(calls, rounds)
    row: dict[str, int | float] = {"streams": streams, "frames": k}
    for name in BACKENDS:
        row[f"{name}_min_ms"] = round(float(seconds[name].min()) * 1e3, 3)
        row[f"{name}_median_ms"] = round(float(np.median(seconds[name])) * 1e3, 3)
    for name in ("torch", "onnxruntime"):
        row[f"{name}/numpy"] = round(row[f"{name}_median_ms"] / row["numpy_median_ms"], 2)
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=BASELINE, help="commit of the window stream")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved repetitions")
    parser.add_argument("--threads", type=int, default=1, help="BLAS/torch/ORT threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    lifter = Lifter.from_checkpoint()
    old = baseline_lifter_module(args.baseline)
    context = {
        "baseline": _git("rev-parse", "--short", args.baseline).strip(),
        "new": _git("describe", "--always", "--dirty").strip(),
        "model": lifter.metadata.version,
        "receptive_field": lifter.receptive_field,
        "rounds": args.rounds,
        "threads": args.threads,
        "onnxruntime": onnxruntime.__version__,
    }
    networks = {
        "numpy": NumpyLayers(lifter.model),
        "torch": TorchLayers(lifter.model),
        "onnxruntime": OnnxLayers(lifter.model, args.threads),
    }
    configs = [(b, k) for b in STREAMS for k in NEW_FRAMES]
    with threadpool_limits(args.threads, user_api="blas"):
        backends = [measure_backends(networks, b, k, args.rounds) for b, k in configs]
        ticks = [measure_ticks(lifter, old, b, k, args.rounds) for b, k in configs]
    report(
        "stream_lifter_backends",
        "Cached network pass per tick by backend (ms)",
        backends,
        BACKEND_COLUMNS,
        context,
    )
    report(
        "stream_lifter",
        f"Live lifting per tick: {context['baseline']} window stream vs cached",
        ticks,
        TICK_COLUMNS,
        context,
    )


if __name__ == "__main__":
    main()
