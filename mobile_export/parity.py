"""Do the phone artifacts compute what the server computes?

* ONNX: ONNX Runtime against torch on the same windows: the largest absolute
  difference, and the MPJPE change on held-out sequences with ground truth.
* Core ML: prediction needs macOS; on Linux the converted program is checked instead
  (it loads; inputs, outputs, shapes and dtypes; metadata; the ops it uses).
"""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np
import torch

from mobile_export.variants import StreamingLifter
from pose3d.model import TemporalModel
from pose3d.shards import SequenceRecord


def stream_windows(
    records: list[SequenceRecord], receptive_field: int, per_sequence: int = 40, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Random causal windows ``(N, R, 17, 2)`` of the records and the targets ``(N, 17, 3)``
    of their last frames (sequences edge-padded at the start, as the app does)."""
    rng = np.random.default_rng(seed)
    windows, targets = [], []
    for record in records:
        padded = np.pad(record.inputs_2d, ((receptive_field - 1, 0), (0, 0), (0, 0)), mode="edge")
        for t in rng.integers(0, record.num_frames, size=min(per_sequence, record.num_frames)):
            windows.append(padded[t : t + receptive_field])
            targets.append(record.targets_3d[t])
    return np.stack(windows).astype(np.float32), np.stack(targets).astype(np.float32)


def onnx_stream_parity(
    model: TemporalModel, onnx_path: Path, windows: np.ndarray, targets: np.ndarray | None = None
) -> dict:
    """Max |ONNX - torch| over ``windows`` and, with ``targets``, both MPJPEs (mm)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    stream = StreamingLifter(model).eval()
    with torch.inference_mode():
        expected = np.concatenate([stream(torch.from_numpy(w[None])).numpy() for w in windows])
    got = np.concatenate([session.run(None, {"keypoints": w[None]})[0] for w in windows])
    result = {"max_abs_error": float(np.abs(got - expected).max()), "windows": len(windows)}
    if targets is not None:
        torch_mpjpe = float(np.linalg.norm(expected - targets, axis=-1).mean()) * 1000
        onnx_mpjpe = float(np.linalg.norm(got - targets, axis=-1).mean()) * 1000
        result |= {
            "torch_mpjpe_mm": torch_mpjpe,
            "onnx_mpjpe_mm": onnx_mpjpe,
            "mpjpe_change_mm": onnx_mpjpe - torch_mpjpe,
        }
    return result


def onnx_window_parity(model: TemporalModel, onnx_path: Path, lengths=(90, 300)) -> float:
    """Max |ONNX - torch| of the windowed variant at several window lengths."""
    import onnxruntime as ort

    from mobile_export.variants import WindowedLifter

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(1)
    worst = 0.0
    for frames in lengths:
        x = rng.normal(scale=0.3, size=(1, frames, 17, 2)).astype(np.float32)
        with torch.inference_mode():
            expected = WindowedLifter(model, frames).eval()(torch.from_numpy(x)).numpy()
        worst = max(worst, float(np.abs(session.run(None, {"keypoints": x})[0] - expected).max()))
    return worst


def coreml_spec_check(path: Path) -> dict:
    """Inspect an ``.mlpackage`` without running it (works on Linux)."""
    import coremltools as ct

    model = ct.models.MLModel(str(path), skip_model_load=platform.system() != "Darwin")
    spec = model.get_spec()
    ops = set()
    for function in spec.mlProgram.functions.values():
        for block in function.block_specializations.values():
            ops.update(op.type for op in block.operations)
    array = ct.proto.FeatureTypes_pb2.ArrayFeatureType

    def describe(feature):
        arr = feature.type.multiArrayType
        shapes = (
            [list(s.shape) for s in arr.enumeratedShapes.shapes]
            if arr.HasField("enumeratedShapes")
            else []
        )
        return {
            "name": feature.name,
            "shape": list(arr.shape),
            "dtype": array.ArrayDataType.Name(arr.dataType),
            "enumerated": shapes,
        }

    return {
        "is_ml_program": spec.WhichOneof("Type") == "mlProgram",
        "inputs": [describe(f) for f in spec.description.input],
        "outputs": [describe(f) for f in spec.description.output],
        "metadata": dict(spec.description.metadata.userDefined),
        "author": spec.description.metadata.author,
        "ops": sorted(ops),
    }
