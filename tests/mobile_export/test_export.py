import json
import platform

import numpy as np
import pytest
from typer.testing import CliRunner

from coach_cli.main import app
from mobile_export.export import export_all
from mobile_export.parity import (
    coreml_spec_check,
    onnx_stream_parity,
    onnx_window_parity,
    stream_windows,
)
from pose3d.checkpoint import LifterMetadata, load_checkpoint, save_checkpoint
from tests.conftest import make_model


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    model = make_model((3, 3), causal=True, channels=16)
    metadata = LifterMetadata(
        architecture=model.hyperparameters,
        fps=30,
        version="tiny-export",
        metrics={"mpjpe_mm": 42.0},
    )
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.pt", model, metadata)


@pytest.fixture(scope="module")
def exported(checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    return out, json.loads(export_all(out, ["onnx", "coreml"], "none", checkpoint).read_text())


@pytest.mark.slow
def test_sidecar_describes_every_artifact(exported):
    out, sidecar = exported
    assert sidecar["model_version"] == "tiny-export" and sidecar["receptive_field"] == 9
    assert (sidecar["version"], sidecar["min_app_version"]) == ("bundled", "1.0.0")
    assert sidecar["input"]["layout"] == "coco17" and sidecar["output"]["joints"][0] == "pelvis"
    assert sidecar["input"]["normalization"] == "X / w * 2 - [1, h / w]"
    assert sidecar["metrics"] == {"mpjpe_mm": 42.0} and sidecar["causal"] is True
    assert set(sidecar["artifacts"]) == {
        "lifter_stream.onnx",
        "lifter_window.onnx",
        "LifterStream.mlpackage",
        "LifterWindow.mlpackage",
    }
    for name, info in sidecar["artifacts"].items():
        assert (out / name).exists() and len(info["sha256"]) == 64 and info["bytes"] > 0


@pytest.mark.slow
def test_onnx_matches_torch(checkpoint, exported):
    out, _ = exported
    model = load_checkpoint(checkpoint).model
    windows = np.random.default_rng(0).normal(scale=0.3, size=(20, 9, 17, 2)).astype(np.float32)
    assert onnx_stream_parity(model, out / "lifter_stream.onnx", windows)["max_abs_error"] <= 1e-4
    assert onnx_window_parity(model, out / "lifter_window.onnx", lengths=(9, 50)) <= 1e-4


@pytest.mark.slow
@pytest.mark.parametrize("quantize", ["fp16", "int8"])
def test_quantized_onnx_stays_close(checkpoint, tmp_path, quantize):
    export_all(tmp_path, ["onnx"], quantize, checkpoint)
    model = load_checkpoint(checkpoint).model
    rng = np.random.default_rng(0)
    windows = rng.normal(scale=0.3, size=(30, 9, 17, 2)).astype(np.float32)
    targets = rng.normal(scale=0.2, size=(30, 17, 3)).astype(np.float32)
    result = onnx_stream_parity(model, tmp_path / "lifter_stream.onnx", windows, targets)
    assert abs(result["mpjpe_change_mm"]) <= 1.0 and result["max_abs_error"] < 0.05


@pytest.mark.slow
def test_coreml_programs_are_valid(exported):
    out, _ = exported
    stream = coreml_spec_check(out / "LifterStream.mlpackage")
    assert stream["is_ml_program"]
    assert stream["inputs"] == [
        {"name": "keypoints", "shape": [1, 9, 17, 2], "dtype": "FLOAT32", "enumerated": []}
    ]
    assert stream["outputs"][0]["name"] == "pose" and stream["outputs"][0]["dtype"] == "FLOAT32"
    assert stream["metadata"]["receptive_field"] == "9" and stream["author"] == "Fitness coach"
    assert "conv" in stream["ops"]
    window = coreml_spec_check(out / "LifterWindow.mlpackage")
    assert window["inputs"][0]["shape"] == [1, 98, 17, 2]
    assert window["outputs"][0]["name"] == "poses"


@pytest.mark.slow
@pytest.mark.skipif(platform.system() != "Darwin", reason="Core ML prediction runs only on macOS")
def test_coreml_prediction_matches_torch(checkpoint, exported):
    import coremltools as ct
    import torch

    from mobile_export.variants import StreamingLifter

    out, _ = exported
    model = ct.models.MLModel(str(out / "LifterStream.mlpackage"))
    x = np.random.default_rng(0).normal(scale=0.3, size=(1, 9, 17, 2)).astype(np.float32)
    expected = (
        StreamingLifter(load_checkpoint(checkpoint).model)(torch.from_numpy(x)).detach().numpy()
    )
    assert np.abs(model.predict({"keypoints": x})["pose"] - expected).max() < 1e-3


def test_records_windows_end_at_their_frame():
    from pose3d.shards import SequenceRecord

    record = SequenceRecord(
        "k",
        "c",
        "c/cam0",
        "b",
        "squat",
        30.0,
        "test",
        np.arange(10 * 34, dtype=np.float32).reshape(10, 17, 2),
        np.ones((10, 17)),
        np.zeros((10, 17, 3)),
        np.zeros((10, 3)),
        np.zeros((10, 9)),
        np.zeros(9),
        (1, 1),
    )
    windows, _ = stream_windows([record], 4, per_sequence=10)
    assert windows.shape[1:] == (4, 17, 2)
    assert any(
        np.array_equal(w[-1], record.inputs_2d[0]) and np.array_equal(w[0], record.inputs_2d[0])
        for w in windows
    )


def test_bad_requests_are_explained(checkpoint, tmp_path):
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["export", "--out", str(tmp_path), "--format", "tflite", "--checkpoint", str(checkpoint)],
    )
    assert result.exit_code != 0 and "unknown format 'tflite'" in result.output
    result = runner.invoke(
        app, ["export", "--out", str(tmp_path), "--checkpoint", str(tmp_path / "nope.pt")]
    )
    assert result.exit_code != 0 and "checkpoint not found" in result.output
    result = runner.invoke(
        app,
        ["export", "--out", str(tmp_path), "--quantize", "int4", "--checkpoint", str(checkpoint)],
    )
    assert result.exit_code != 0 and "unknown quantization" in result.output
    with pytest.raises(ValueError, match=r"min_app_version must be X\.Y\.Z"):
        export_all(tmp_path, ["onnx"], "none", checkpoint, "3", "2.0")
