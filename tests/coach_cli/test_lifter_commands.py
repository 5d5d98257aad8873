"""`coach train`, `coach evaluate`, `coach bundle` and `coach demo` on tiny data."""

import json
import shutil

import pytest
from typer.testing import CliRunner

from coach_cli.main import app
from lab.evaluate import bundle_default
from pose3d import lifter as lifter_module
from pose3d.checkpoint import load_checkpoint
from pose3d.training import TrainConfig
from tests.pose3d.test_training import shards  # noqa: F401 - the tiny shards fixture

runner = CliRunner()


@pytest.mark.slow
def test_train_evaluate_bundle(shards, tmp_path, monkeypatch):  # noqa: F811
    result = runner.invoke(
        app,
        [
            "train",
            "--shards",
            str(shards),
            "--out",
            str(tmp_path / "run"),
            "--filter-widths",
            "3,3",
            "--channels",
            "16",
            "--epochs",
            "1",
            "--samples-per-epoch",
            "512",
            "--batch-size",
            "128",
            "--threads",
            "1",
            "--version",
            "tiny-1",
        ],
    )
    assert result.exit_code == 0, result.output
    checkpoint = tmp_path / "run" / "best.pt"
    from synthetic_data.bvh import write_bvh
    from synthetic_data.generator import ClipRequest, generate_clip

    bvh = write_bvh(
        generate_clip(ClipRequest(seed=2, movement="squat", duration_s=1.5)), tmp_path / "m.bvh"
    )
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--checkpoint",
            str(checkpoint),
            "--baseline",
            str(checkpoint),
            "--shards",
            str(shards),
            "--bvh",
            str(bvh),
            "--cameras",
            "2",
            "--flip-test",
            "--out",
            str(tmp_path / "rep"),
        ],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "rep" / "metrics.json").read_text())
    flipped = "tiny-1 (3,3) + test-time flip"
    assert list(metrics) == ["tiny-1 (3,3)", flipped, "mean training pose"]  # same label once
    assert metrics[flipped]["overall"]["frames"] == metrics["tiny-1 (3,3)"]["overall"]["frames"]
    assert metrics[flipped]["overall"]["mpjpe"] != metrics["tiny-1 (3,3)"]["overall"]["mpjpe"]
    report = (tmp_path / "rep" / "report.md").read_text()
    assert "BVH file(s) filmed" in report and "## MPJPE / P-MPJPE by camera yaw" in report

    target = tmp_path / "models" / "default.pt"
    bundle_default(checkpoint, tmp_path / "rep", target=target, flip_test=True)
    flip_bundled = load_checkpoint(target)  # records the flip-averaged row
    assert flip_bundled.metadata.flip_test
    assert flip_bundled.metadata.metrics["mpjpe_mm"] == metrics[flipped]["overall"]["mpjpe"]
    bundle_default(checkpoint, tmp_path / "rep", target=target)
    bundled = load_checkpoint(target)
    assert "optimizer" not in bundled.raw and not bundled.metadata.flip_test
    assert bundled.metadata.metrics["mpjpe_mm"] == metrics["tiny-1 (3,3)"]["overall"]["mpjpe"]
    assert (
        json.loads((target.parent / "default.json").read_text())["command"]
        == "scripts/train_default.sh"
    )
    monkeypatch.setattr(lifter_module, "DEFAULT_CHECKPOINT", target)
    result = runner.invoke(app, ["demo", "--out", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert "Score" in result.output and "MPJPE" in result.output
    assert (tmp_path / "demo" / "session.html").read_text().startswith("<!doctype html>")


def test_demo_without_a_bundled_model_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(lifter_module, "DEFAULT_CHECKPOINT", tmp_path / "none.pt")
    result = runner.invoke(app, ["demo", "--out", str(tmp_path)])
    assert result.exit_code != 0 and "no default lifter is bundled" in result.output


def test_train_refuses_an_unknown_posture_before_reading_any_shard(tmp_path):
    empty = tmp_path / "shards"  # never read: the option is refused first
    empty.mkdir()
    options = ["--rare-pose-power", "0.5", "--rare-posture", "arms"]
    result = runner.invoke(
        app, ["train", "--shards", str(empty), "--out", str(tmp_path / "run"), *options]
    )
    message = " ".join(result.output.replace("│", " ").split())  # rich's box, any width
    assert result.exit_code == 2 and "'arms' is not one of" in message
    assert not (tmp_path / "run").exists()
    with pytest.raises(ValueError, match="rare_posture must be one of"):
        TrainConfig(shards=str(empty), out=str(tmp_path / "run"), rare_posture="arms")


def test_evaluate_needs_data(tmp_path):
    result = runner.invoke(app, ["evaluate", "--checkpoint", __file__, "--out", str(tmp_path)])
    assert result.exit_code != 0 and "--shards and/or --bvh" in result.output


@pytest.mark.slow
def test_an_offline_model_is_bundled_beside_the_default(shards, tmp_path):  # noqa: F811
    runner.invoke(
        app,
        [
            "train",
            "--shards",
            str(shards),
            "--out",
            str(tmp_path / "run"),
            "--filter-widths",
            "3",
            "--channels",
            "8",
            "--no-causal",
            "--epochs",
            "1",
            "--samples-per-epoch",
            "256",
            "--batch-size",
            "64",
            "--threads",
            "1",
        ],
    )
    checkpoint = tmp_path / "run" / "best.pt"
    runner.invoke(
        app,
        [
            "evaluate",
            "--checkpoint",
            str(checkpoint),
            "--shards",
            str(shards),
            "--out",
            str(tmp_path / "rep"),
        ],
    )
    shutil.copytree(tmp_path / "rep", tmp_path / "synthetic")
    target = bundle_default(
        checkpoint,
        tmp_path / "rep",
        target=tmp_path / "models" / "offline.pt",
        command="scripts/train_real.sh",
        extra_reports=[tmp_path / "synthetic"],
    )
    sidecar = json.loads((target.parent / "offline.json").read_text())
    assert sidecar["command"] == "scripts/train_real.sh" and not sidecar["flip_test"]
    assert sidecar["more_metrics"]["synthetic"] == sidecar["metrics"]
    report = (target.parent / "REPORT-offline.md").read_text()
    assert "(offline-mpjpe_by_movement.png)" in report
    assert "(offline-synthetic-mpjpe_by_movement.png)" in report
    assert (target.parent / "offline-synthetic-mpjpe_by_movement.png").is_file()
    assert not load_checkpoint(target).metadata.architecture["causal"]
    with pytest.raises(ValueError, match="no row lifted with test-time flip"):
        bundle_default(checkpoint, tmp_path / "rep", target=target, flip_test=True)
