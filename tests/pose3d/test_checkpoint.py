import numpy as np
import pytest
import torch

from pose3d.checkpoint import LifterMetadata, infer_architecture, load_checkpoint, save_checkpoint
from pose3d.lifter import Lifter
from tests.conftest import make_model


def test_round_trip_keeps_weights_metadata_and_outputs(tmp_path, keypoints):
    model = make_model((3, 3), causal=True)
    metadata = LifterMetadata(
        architecture=model.hyperparameters, fps=30, version="1.2", metrics={"mpjpe_mm": 41.5}
    )
    path = save_checkpoint(tmp_path / "ckpt.pt", model, metadata, epoch=7)
    loaded = load_checkpoint(path)
    assert loaded.metadata == metadata
    assert loaded.raw["epoch"] == 7
    assert loaded.model.causal
    x = torch.randn(1, 20, 17, 2)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x), model(x))
    assert not list(tmp_path.glob("*.tmp")), "temporary file left behind"


def test_original_format_checkpoint_loads_and_lifts_identically(tmp_path, keypoints):
    model = make_model((3, 3, 3), channels=32)
    traj = make_model((3, 3, 3), channels=32)
    # The original project's layout: no 'coach' key, optimizer state and extras beside.
    torch.save(
        {"epoch": 80, "lr": 1e-5, "model_pos": model.state_dict(), "model_traj": traj.state_dict()},
        tmp_path / "pretrained_h36m_detectron_coco.bin",
    )
    loaded = load_checkpoint(tmp_path / "pretrained_h36m_detectron_coco.bin")
    assert loaded.metadata.architecture["filter_widths"] == [3, 3, 3]
    assert loaded.metadata.architecture["channels"] == 32
    assert (loaded.metadata.input_layout, loaded.metadata.output_layout) == ("coco17", "h36m17")
    ours = Lifter(model, LifterMetadata(architecture=model.hyperparameters))
    theirs = Lifter.from_checkpoint(tmp_path / "pretrained_h36m_detectron_coco.bin")
    np.testing.assert_allclose(
        theirs.lift(keypoints, image_size=(1080, 1920)),
        ours.lift(keypoints, image_size=(1080, 1920)),
        atol=1e-6,
    )


def test_infer_architecture_from_shapes():
    model = make_model((3, 5, 3), channels=24)
    arch = infer_architecture(model.state_dict())
    assert arch == {**model.hyperparameters, "causal": False}


def test_bad_checkpoints_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "missing.pt")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match=r"cannot read checkpoint .*corrupt\.pt"):
        load_checkpoint(corrupt)
    torch.save({"weights": {}}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="no 'model_pos'"):
        load_checkpoint(tmp_path / "other.pt")
    model = make_model((3, 3))
    bad_meta = LifterMetadata(architecture={**model.hyperparameters, "channels": 32})
    save_checkpoint(tmp_path / "mismatch.pt", model, bad_meta)
    with pytest.raises(ValueError, match="weights do not match"):
        load_checkpoint(tmp_path / "mismatch.pt")
