"""``coach export``: the bundled (or any) lifter as Core ML and ONNX artifacts + a sidecar.

Artifacts, per format, in ``--out``:

* ``lifter_stream.onnx`` / ``LifterStream.mlpackage``: live variant, input
  ``keypoints`` ``(1, R, 17, 2)`` (the last R frames, normalised), output ``pose``
  ``(1, 17, 3)`` (newest frame, metres, root at the origin).
* ``lifter_window.onnx`` (any ``T >= R``) / ``LifterWindow.mlpackage`` (fixed
  ``T = R + 89``: 90 poses per call; the app slides it with an overlap of ``R - 1``):
  offline variant, ``(1, T, 17, 2)`` in, ``(1, T - R + 1, 17, 3)`` out.
* ``lifter.json``: the sidecar the app reads (see :func:`sidecar`): which model it is (the
  registered version, or ``bundled``; the checkpoint's own label), the oldest app that runs
  it, shapes and layouts, and each artifact's SHA-256.

``coach export --out`` writes the bundled model (version ``bundled``) into one folder;
``coach export-phone`` (``coach_cli.phone_rollout``) writes registered versions side by
side, one folder each, for the API to serve the champion or a pinned version.

Quantisation: ``none`` (fp32), ``fp16`` (Core ML's default: fp16 weights and compute,
fp32 inputs and outputs; ONNX: fp16 weights with fp32 I/O) or ``int8`` (Core ML linear
8-bit weights; ONNX Runtime dynamic int8 quantisation).
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from pathlib import Path

import numpy as np
import torch

from mobile_export.variants import StreamingLifter, WindowedLifter
from pose3d.checkpoint import LifterMetadata, load_checkpoint
from pose3d.lifter import DEFAULT_CHECKPOINT
from pose3d.skeleton import get_layout

FORMATS = ("onnx", "coreml")
QUANTIZATIONS = ("none", "fp16", "int8")
ONNX_OPSET = 18
WINDOW_OUTPUTS = 90  # poses per call of the windowed variant (Core ML's fixed window)
BUNDLED_VERSION = "bundled"
# The first app release that runs the bundled lifter (lifecycle.bundled's card says the same).
BUNDLED_MIN_APP_VERSION = "1.0.0"
APP_VERSION = re.compile(r"[0-9]{1,6}\.[0-9]{1,6}\.[0-9]{1,6}")


def _files(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in _files(path))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    for file in _files(path):
        digest.update(file.read_bytes())
    return digest.hexdigest()


def export_onnx(
    model: torch.nn.Module, example: torch.Tensor, path: Path, dynamic_frames: bool, quantize: str
) -> Path:
    """Export ``model`` to ONNX at ``path`` (one self-contained file)."""
    warnings.filterwarnings("ignore", category=UserWarning)
    dynamic = (
        ({1: torch.export.Dim("frames", min=example.shape[1], max=100_000)},)
        if dynamic_frames
        else None
    )
    output = "poses" if dynamic_frames else "pose"
    fp32 = path.with_suffix(".fp32.onnx") if quantize != "none" else path
    torch.onnx.export(
        model,
        (example,),
        str(fp32),
        input_names=["keypoints"],
        output_names=[output],
        opset_version=ONNX_OPSET,
        dynamo=True,
        dynamic_shapes=dynamic,
        external_data=False,
        verbose=False,
    )
    if quantize == "fp16":
        import onnx
        from onnxruntime.transformers.float16 import convert_float_to_float16

        onnx.save(convert_float_to_float16(onnx.load(str(fp32)), keep_io_types=True), str(path))
    elif quantize == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(fp32), str(path), weight_type=QuantType.QInt8)
    if fp32 != path:
        fp32.unlink()
    return path


def export_coreml(
    model: torch.nn.Module,
    example: torch.Tensor,
    path: Path,
    output: str,
    quantize: str,
    metadata: dict,
) -> Path:
    """Convert ``model`` to an ML Program ``.mlpackage`` at ``path`` (via torch.export)."""
    import coremltools as ct

    warnings.filterwarnings("ignore")
    exported = torch.export.export(model.eval(), (example,)).run_decompositions({})
    shape = tuple(example.shape)
    precision = ct.precision.FLOAT32 if quantize == "none" else ct.precision.FLOAT16
    mlmodel = ct.convert(
        exported,
        inputs=[ct.TensorType(name="keypoints", shape=shape, dtype=np.float32)],
        outputs=[ct.TensorType(name=output, dtype=np.float32)],
        convert_to="mlprogram",
        minimum_deployment_target=ct.target.iOS16,
        compute_precision=precision,
    )
    if quantize == "int8":
        from coremltools.optimize.coreml import (
            OpLinearQuantizerConfig,
            OptimizationConfig,
            linear_quantize_weights,
        )

        config = OptimizationConfig(global_config=OpLinearQuantizerConfig(mode="linear_symmetric"))
        mlmodel = linear_quantize_weights(mlmodel, config)
    mlmodel.author = "Fitness coach"
    mlmodel.license = "Proprietary; trained on the project's own synthetic data"
    mlmodel.version = metadata["model_version"]
    mlmodel.short_description = (
        "Lifts normalised 2D COCO-17 keypoints to 3D H36M-17 poses (metres, root-relative)."
    )
    mlmodel.input_description["keypoints"] = "Normalised 2D keypoints: X / w * 2 - [1, h / w]"
    mlmodel.output_description[output] = "3D poses in camera space, metres, pelvis at the origin"
    for key, value in metadata.items():
        mlmodel.user_defined_metadata[key] = value if isinstance(value, str) else json.dumps(value)
    mlmodel.save(str(path))
    return path


def sidecar(
    metadata: LifterMetadata,
    receptive_field: int,
    artifacts: dict[str, dict],
    version: str = BUNDLED_VERSION,
    min_app_version: str = BUNDLED_MIN_APP_VERSION,
) -> dict:
    """What the app needs to run the artifacts, with their checksums. ``version`` is the
    registered version (``"3"``) or ``"bundled"``; ``model_version`` the checkpoint's own
    label; ``min_app_version`` (``X.Y.Z``) the oldest app that runs these artifacts."""
    input_layout, output_layout = (
        get_layout(metadata.input_layout),
        get_layout(metadata.output_layout),
    )
    return {
        "version": version,
        "model_version": metadata.version,
        "min_app_version": min_app_version,
        "receptive_field": receptive_field,
        "causal": bool(metadata.architecture.get("causal", False)),
        "fps": metadata.fps,
        "input": {
            "name": "keypoints",
            "layout": input_layout.name,
            "joints": list(input_layout.joint_names),
            "normalization": metadata.normalization,
            "shape_stream": [1, receptive_field, input_layout.num_joints, 2],
            "shape_window": [1, "T >= receptive_field", input_layout.num_joints, 2],
        },
        "output": {
            "layout": output_layout.name,
            "joints": list(output_layout.joint_names),
            "units": "metres, camera space (x right, y down, z forward), pelvis at origin",
            "shape_stream": [1, output_layout.num_joints, 3],
            "shape_window": [1, "T - receptive_field + 1", output_layout.num_joints, 3],
        },
        "metrics": metadata.metrics,
        "training_fingerprint": metadata.training_fingerprint,
        "artifacts": artifacts,
    }


def export_all(
    out: Path,
    formats: list[str],
    quantize: str,
    checkpoint: Path | None = None,
    model_version: str = BUNDLED_VERSION,
    min_app_version: str = BUNDLED_MIN_APP_VERSION,
) -> Path:
    """Export every variant in every format into ``out``; returns the sidecar's path.
    ``model_version`` (the registered version, or ``"bundled"``) and ``min_app_version``
    (``X.Y.Z``) go into the sidecar and the Core ML metadata."""
    if not APP_VERSION.fullmatch(min_app_version):
        raise ValueError(f"min_app_version must be X.Y.Z (numbers), not {min_app_version!r}")
    for name in formats:
        if name not in FORMATS:
            raise ValueError(f"unknown format {name!r}; expected one of {', '.join(FORMATS)}, all")
    if quantize not in QUANTIZATIONS:
        raise ValueError(
            f"unknown quantization {quantize!r}; expected one of {', '.join(QUANTIZATIONS)}"
        )
    path = Path(checkpoint) if checkpoint is not None else DEFAULT_CHECKPOINT
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    loaded = load_checkpoint(path)
    model, metadata = loaded.model.eval(), loaded.metadata
    rf = model.receptive_field()
    out.mkdir(parents=True, exist_ok=True)
    stream, window_frames = StreamingLifter(model).eval(), rf + WINDOW_OUTPUTS - 1
    window = WindowedLifter(model, window_frames).eval()  # fixed window for Core ML
    dynamic_window = WindowedLifter(model, None).eval()  # any length for ONNX
    stream_input = torch.zeros(1, rf, 17, 2)
    window_input = torch.zeros(1, window_frames, 17, 2)
    user_metadata = {
        "model_version": metadata.version,
        "registered_version": model_version,
        "min_app_version": min_app_version,
        "receptive_field": str(rf),
        "fps": str(metadata.fps),
        "input_layout": metadata.input_layout,
        "output_layout": metadata.output_layout,
        "normalization": metadata.normalization,
    }
    artifacts: dict[str, dict] = {}
    if "onnx" in formats:
        for name, module, example, dynamic in (
            ("lifter_stream.onnx", stream, stream_input, False),
            ("lifter_window.onnx", dynamic_window, window_input, True),
        ):
            export_onnx(module, example, out / name, dynamic, quantize)
            artifacts[name] = {"format": "onnx", "opset": ONNX_OPSET, "quantization": quantize}
    if "coreml" in formats:
        for name, module, example, output in (
            ("LifterStream.mlpackage", stream, stream_input, "pose"),
            ("LifterWindow.mlpackage", window, window_input, "poses"),
        ):
            export_coreml(module, example, out / name, output, quantize, user_metadata)
            artifacts[name] = {
                "format": "coreml-mlprogram",
                "minimum_ios": "16",
                "quantization": quantize,
                "input_frames": int(example.shape[1]),
            }
    for name, info in artifacts.items():
        info["sha256"] = _sha256(out / name)
        info["bytes"] = _size(out / name)
    target = out / "lifter.json"
    described = sidecar(metadata, rf, artifacts, model_version, min_app_version)
    target.write_text(json.dumps(described, indent=1) + "\n")
    return target
