import json

import numpy as np
import pytest
import torch

from pose3d.camera import Intrinsics, normalize_screen_coordinates, project
from pose3d.checkpoint import load_checkpoint
from pose3d.evaluation import (
    evaluate_constant,
    evaluate_model,
    mean_training_pose,
    summarise,
    write_report,
)
from pose3d.lifter import Lifter
from pose3d.losses import (
    H36M_HIPS,
    labelled_bone_loss,
    project_normalized,
    reprojection_loss,
    root_from_hips,
)
from pose3d.pose_rarity import BIN_DEGREES, posture_angles, rare_pose_weights
from pose3d.shards import load_split
from pose3d.skeleton import COCO17_SHARED, H36M17, H36M17_SHARED
from pose3d.training import TrainConfig, Trainer, evaluate_mpjpe, train
from pose3d.training_data import WindowMix, build_window_set, flip_batch
from tests.conftest import write_tiny_shards


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """Tiny train/val/test shards filmed from simulated clips."""
    return write_tiny_shards(tmp_path_factory.mktemp("shards"), 12, 16, 4, "tiny-fingerprint")


def _config(shards, out, **overrides):
    base = dict(
        shards=str(shards),
        out=str(out),
        filter_widths=[3, 3],
        channels=16,
        epochs=2,
        samples_per_epoch=1024,
        batch_size=128,
        threads=1,
    )
    return TrainConfig(**{**base, **overrides})


@pytest.mark.slow  # trains a lifter
def test_training_learns_and_writes_its_artifacts(shards, tmp_path):
    trainer = Trainer(_config(shards, tmp_path, epochs=3, samples_per_epoch=4096, lr=3e-3))
    before = 1000 * evaluate_mpjpe(trainer.infer_pos, trainer.val_records)
    last = trainer.run()
    assert last["val_mpjpe_mm"] < 0.5 * before
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2, 3]
    assert json.loads(lines[-1])["bn_momentum"] == pytest.approx(0.001)
    assert (tmp_path / "loss.png").read_bytes()[:4] == b"\x89PNG"
    lifter = Lifter.from_checkpoint(tmp_path / "best.pt")
    assert lifter.metadata.training_fingerprint == "tiny-fingerprint"
    assert lifter.causal and lifter.metadata.fps == 30.0


@pytest.mark.slow  # trains a lifter three times
def test_training_is_deterministic_and_resumable(shards, tmp_path):
    train(_config(shards, tmp_path / "a"))
    train(_config(shards, tmp_path / "b"))
    a = load_checkpoint(tmp_path / "a" / "last.pt").model.state_dict()
    b = load_checkpoint(tmp_path / "b" / "last.pt").model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    # One epoch, then resume for the second: the same weights as two epochs straight.
    train(_config(shards, tmp_path / "c", epochs=1))
    train(_config(shards, tmp_path / "c", epochs=2), resume=True)
    c = load_checkpoint(tmp_path / "c" / "last.pt").model.state_dict()
    assert all(torch.equal(a[k], c[k]) for k in a)


def test_semi_supervised_training_uses_unlabelled_sequences(shards, tmp_path):
    trainer = Trainer(
        _config(shards, tmp_path, labelled_fraction=0.5, semi_supervised=True, warmup_epochs=1)
    )
    assert trainer.unlabelled is not None and trainer.unlabelled.num_frames > 0
    last = trainer.run()
    assert last["semi_supervised"] and np.isfinite(last["train_reprojection"])
    assert np.isfinite(last["train_bone"]) and np.isfinite(last["train_trajectory"])
    raw = torch.load(tmp_path / "last.pt", weights_only=True)
    assert "model_traj" in raw and raw["model_traj"]["shrink.weight"].shape[0] == 3


def test_the_bone_loss_prices_a_shrunk_limb_and_not_a_turned_body(shards):
    target = torch.from_numpy(load_split(shards, "test")[0].targets_3d[None, :4])  # (1,4,17,3)
    turn = torch.tensor([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])  # 90 deg yaw
    assert labelled_bone_loss(target @ turn.T + 0.3, target).item() == pytest.approx(0, abs=1e-6)
    shrunk = target.clone()
    thigh = shrunk[..., 2, :] - shrunk[..., 1, :]  # right hip (1) -> knee (2)
    shrunk[..., 2:4, :] -= 0.5 * thigh.unsqueeze(-2)  # the knee halfway up, the shin kept
    expected = 0.5 * torch.linalg.vector_norm(thigh, dim=-1).mean() / 16  # 1 bone of 16
    assert labelled_bone_loss(shrunk, target).item() == pytest.approx(expected.item(), rel=1e-5)


def test_the_bone_weight_adds_the_bone_loss_to_training(shards, tmp_path):
    plain = Trainer(_config(shards, tmp_path / "plain", epochs=1)).run()
    weighted = Trainer(_config(shards, tmp_path / "bones", epochs=1, bone_weight=1.0)).run()
    assert "train_bone_lengths" not in plain
    assert 0 < weighted["train_bone_lengths"] < 1  # metres: a tiny model's lengths are off
    # The same seed and batches: only the bone loss's gradient tells the weights apart.
    a = load_checkpoint(tmp_path / "plain" / "last.pt").model.state_dict()
    b = load_checkpoint(tmp_path / "bones" / "last.pt").model.state_dict()
    assert any(not torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_fine_tuning_starts_from_a_checkpoint_and_adds_shards(shards, tmp_path):
    train(_config(shards, tmp_path / "base", epochs=3, samples_per_epoch=4096, lr=3e-3))
    base = Trainer(_config(shards, tmp_path / "scratch"))
    tuned = Trainer(
        _config(
            shards,
            tmp_path / "tuned",
            extra_shards=[str(shards)],
            init_from=str(tmp_path / "base" / "best.pt"),
        )
    )
    # The extra folder's sequences join the training set; validation stays on --shards.
    assert tuned.labelled.num_frames == 2 * base.labelled.num_frames
    assert len(tuned.val_records) == len(base.val_records)
    start = 1000 * evaluate_mpjpe(tuned.infer_pos, tuned.val_records)
    assert start < 0.7 * 1000 * evaluate_mpjpe(base.infer_pos, base.val_records)
    tuned.run()
    fingerprint = Lifter.from_checkpoint(tmp_path / "tuned" / "best.pt").metadata
    assert fingerprint.training_fingerprint not in ("", "tiny-fingerprint")
    with pytest.raises(ValueError, match="architecture"):  # fewer channels: no way there
        Trainer(
            _config(
                shards, tmp_path / "x", channels=8, init_from=str(tmp_path / "base" / "best.pt")
            )
        )
    # A wider receptive field (one more block) starts from the narrower model's skill.
    wide = Trainer(
        _config(
            shards,
            tmp_path / "wide",
            filter_widths=[3, 3, 3],
            init_from=str(tmp_path / "base" / "best.pt"),
        )
    )
    grown = 1000 * evaluate_mpjpe(wide.infer_pos, wide.val_records)
    assert grown < 0.7 * 1000 * evaluate_mpjpe(base.infer_pos, base.val_records)
    # So does a model with more channels, exactly.
    widened = Trainer(
        _config(
            shards, tmp_path / "widened", channels=32, init_from=str(tmp_path / "base" / "best.pt")
        )
    )
    widened_mm = 1000 * evaluate_mpjpe(widened.infer_pos, widened.val_records)
    assert widened_mm == pytest.approx(start, abs=0.05)  # the base model's, before tuning


def test_source_shares_set_each_batch_mix_whatever_the_folder_sizes(shards, tmp_path):
    records = load_split(shards, "train")
    small = build_window_set(records[:4], 27, causal=False)
    large = build_window_set(records, 27, causal=False)
    large.targets[:] = 9.0  # marks windows drawn from the large source
    rng = np.random.default_rng(0)

    def large_share(mix: WindowMix) -> float:
        batch = mix.sample(rng, 4000)
        assert batch["inputs"].shape == (4000, 27, 17, 2)
        return float(np.mean(batch["targets"][:, 0, 0, 0] == 9.0))

    by_frames = large.num_frames / (small.num_frames + large.num_frames)
    assert abs(large_share(WindowMix([small, large])) - by_frames) < 0.03
    assert abs(large_share(WindowMix([small, large], [3.0, 1.0])) - 0.25) < 0.03
    with pytest.raises(ValueError, match="2 source shares for 3"):
        WindowMix([small, large, small], [0.5, 0.5])
    trainer = Trainer(
        _config(shards, tmp_path / "mix", extra_shards=[str(shards)], source_shares=[0.5, 0.5])
    )
    assert len(trainer.labelled.sources) == 2
    with pytest.raises(ValueError, match="1 source shares for 2"):
        Trainer(_config(shards, tmp_path / "x", extra_shards=[str(shards)], source_shares=[1.0]))


def _squat_poses(frames: int, deep_every: int) -> np.ndarray:
    """Standing poses ``(frames, 17, 3)``, every ``deep_every``-th with both knees bent
    ~130 deg and both hips ~80 deg (thigh forward, shin back)."""
    poses = np.zeros((frames, 17, 3))
    index = H36M17.index
    for side, x in (("left", 0.1), ("right", -0.1)):
        poses[:, index(f"{side}_hip")] = [x, 0.0, 0.0]
        poses[:, index(f"{side}_knee")] = [x, -0.45, 0.0]
        poses[:, index(f"{side}_ankle")] = [x, -0.9, 0.0]
        deep = slice(0, frames, deep_every)
        poses[deep, index(f"{side}_knee")] = [x, -0.08, 0.44]  # thigh forward, a bit down
        poses[deep, index(f"{side}_ankle")] = [x, -0.4, 0.05]  # shin folded back under it
    poses[:, index("thorax")] = [0.0, 0.5, 0.0]
    return poses


def test_rare_postures_are_drawn_more_often_by_their_power():
    poses = _squat_poses(1000, deep_every=50)  # 20 deep frames of 1000
    knee_hip = posture_angles(poses, "legs")
    deep = knee_hip[:, 0] > 120
    assert deep.sum() == 20 and knee_hip[deep, 1].min() > 75
    assert rare_pose_weights(poses, 0.0)[deep].sum() == pytest.approx(0.02)
    assert rare_pose_weights(poses, 1.0)[deep].sum() == pytest.approx(0.5)  # two bins alike
    half = rare_pose_weights(poses, 0.5)
    assert half[deep].sum() == pytest.approx(20 / 20**0.5 / (20 / 20**0.5 + 980 / 980**0.5))
    with pytest.raises(ValueError, match="power must be in"):
        rare_pose_weights(poses, 1.5)
    with pytest.raises(ValueError, match="posture must be one of"):
        rare_pose_weights(poses, 0.5, "arms")


def test_limb_postures_keep_arms_overhead_from_being_drawn_less_often():
    poses = _squat_poses(1000, deep_every=50)
    for side, x in (("left", 0.2), ("right", -0.2)):
        poses[:, H36M17.index(f"{side}_shoulder")] = [x, 0.45, 0.0]
        poses[:, H36M17.index(f"{side}_elbow")] = [x, 0.2, 0.0]  # arms down
        poses[1:200:2, H36M17.index(f"{side}_elbow")] = [x, 0.7, 0.0]  # arms up, legs straight
    overhead = posture_angles(poses)[:, 2] > 120
    assert overhead.sum() == 100
    by_legs = rare_pose_weights(poses, 0.5, "legs")[overhead].sum()
    by_limbs = rare_pose_weights(poses, 0.5, "limbs")[overhead].sum()
    assert by_legs < 0.1 - 1e-3  # the legs' common bin is drawn less than its frames' share
    assert by_limbs > 0.1 + 1e-3  # its own bin: drawn more


def test_a_weighted_window_set_draws_frames_by_their_weights(shards, tmp_path):
    records = load_split(shards, "train")
    plain = build_window_set(records, 9, causal=False)
    rare = build_window_set(records, 9, causal=False, rare_pose_power=1.0)
    assert plain.cumulative_weights is None
    cells = np.floor(posture_angles(rare.targets) / BIN_DEGREES)
    bins = np.unique(cells, axis=0, return_inverse=True)[1]
    drawn = rare.draw(np.random.default_rng(0), 20_000)
    assert drawn.min() >= 0 and drawn.max() < rare.num_frames
    shares = np.bincount(bins.reshape(-1)[drawn]) / len(drawn)  # every posture bin alike
    assert np.abs(shares - 1 / len(shares)).max() < 0.02
    frames = np.bincount(bins.reshape(-1)[plain.draw(np.random.default_rng(0), 20_000)])
    assert frames.max() / frames.min() > 5  # uniform frames leave the bins uneven
    trainer = Trainer(_config(shards, tmp_path / "rare", rare_pose_power=0.5))
    assert trainer.labelled.sources[0].cumulative_weights is not None


def test_bad_training_data_is_explained(tmp_path):
    with pytest.raises(ValueError, match="no training shards"):
        Trainer(_config(tmp_path, tmp_path / "out"))


def test_projection_matches_numpy_and_flip_keeps_geometry(shards):
    intr = Intrinsics(
        fx=1300,
        fy=1310,
        cx=530,
        cy=980,
        width=1080,
        height=1920,
        k1=0.03,
        k2=-0.01,
        p1=0.002,
        p2=-0.001,
    )
    points = np.array([[[0.3, -0.4, 3.0], [-0.5, 0.2, 2.5]]])
    expected = normalize_screen_coordinates(project(points[0], intr), 1080, 1920)
    got = project_normalized(
        torch.tensor(points), torch.tensor(intr.normalized()[None], dtype=torch.float64)
    )
    np.testing.assert_allclose(got[0].numpy(), expected, atol=1e-5)
    # Mirroring 3D, 2D and camera together keeps projection == observation.
    batch = {
        "inputs": np.zeros((1, 1, 17, 2), np.float32),
        "targets": np.zeros((1, 1, 17, 3), np.float32),
        "roots": points[:, None, :1].astype(np.float32),
        "intrinsics": intr.normalized()[None],
    }
    flipped = flip_batch(batch, np.array([True]))
    mirrored = project_normalized(
        torch.tensor(flipped["roots"][:, 0]), torch.tensor(flipped["intrinsics"])
    )
    original = project_normalized(
        torch.tensor(batch["roots"][:, 0]), torch.tensor(batch["intrinsics"])
    )
    np.testing.assert_allclose(mirrored.numpy()[..., 0], -original.numpy()[..., 0], atol=1e-6)
    np.testing.assert_allclose(mirrored.numpy()[..., 1], original.numpy()[..., 1], atol=1e-6)


def test_root_from_hips_places_the_true_pose_on_its_observed_hips(shards):
    """Depth + the observed 2D hip centre recover the camera-space root, so the true
    pose reprojects onto its own (noise-free) 2D with zero loss, despite lens distortion."""
    record = load_split(shards, "train")[0]
    intrinsics = torch.tensor(record.intrinsics[None], dtype=torch.float64)
    poses = torch.tensor(record.targets_3d[None], dtype=torch.float64)  # (1, T, 17, 3)
    root = torch.tensor(record.root_camera[None, :, None], dtype=torch.float64)
    observed = project_normalized(poses[..., H36M17_SHARED, :] + root, intrinsics)
    hips_2d = project_normalized((poses[..., H36M_HIPS, :] + root).mean(dim=-2), intrinsics)
    placed = root_from_hips(root[..., 0, 2], poses, hips_2d, intrinsics)
    np.testing.assert_allclose(placed.numpy(), root.numpy(), atol=1e-6)
    target = torch.zeros((*poses.shape[:2], 17, 2), dtype=torch.float64)
    target[..., COCO17_SHARED, :] = observed
    assert reprojection_loss(poses, placed, intrinsics, target).item() < 1e-6
    # A wrong depth no longer explains the 2D.
    wrong = root_from_hips(root[..., 0, 2] * 0.7, poses, hips_2d, intrinsics)
    assert reprojection_loss(poses, wrong, intrinsics, target).item() > 1e-3


def test_windows_end_at_their_frame_for_causal_models(shards):
    records = load_split(shards, "train")[:2]
    windows = build_window_set(records, receptive_field=9, causal=True)
    batch = windows.batch(np.array([0, records[0].num_frames + 3]))
    np.testing.assert_array_equal(batch["inputs"][0, -1], records[0].inputs_2d[0])
    np.testing.assert_array_equal(batch["inputs"][0, 0], records[0].inputs_2d[0])  # edge padding
    np.testing.assert_array_equal(batch["inputs"][1, -1], records[1].inputs_2d[3])
    np.testing.assert_array_equal(batch["targets"][1, 0], records[1].targets_3d[3])


def test_evaluation_breakdowns_baselines_and_report(shards, tmp_path):
    records = load_split(shards, "test")
    perfect = summarise(evaluate_constant(np.zeros((17, 3)), records))
    assert perfect["overall"]["frames"] == sum(r.num_frames for r in records)
    mean = mean_training_pose(load_split(shards, "train"))
    assert mean.shape == (17, 3) and np.allclose(mean[0], 0)
    from tests.conftest import make_model

    summary = summarise(evaluate_model(make_model((3, 3), causal=True), records))
    assert set(summary) == {
        "overall",
        "dataset",
        "movement",
        "camera_yaw",
        "body_height",
        "noise",
        "per_joint",
    }
    assert sum(v["frames"] for v in summary["movement"].values()) == summary["overall"]["frames"]
    assert summary["per_joint"]["pelvis"] == pytest.approx(0.0, abs=1e-3)  # root-relative
    # A constant pose keeps its bones; an untrained network's bones change length.
    assert perfect["overall"]["bone_drift"] == 0.0 and summary["overall"]["bone_drift"] > 0
    report = write_report({"model": summary, "mean pose": perfect}, tmp_path, "test")
    text = report.read_text()
    assert "| model |" in text and "vs mean pose" in text
    assert "## Bone drift by dataset" in text
    assert (tmp_path / "mpjpe_by_movement.png").exists() and (tmp_path / "metrics.json").exists()


def test_flip_averaged_evaluation_treats_a_mirrored_recording_alike(shards):
    """Test-time flip averaging is mirror-equivariant: the mirrored recording (2D and 3D
    mirrored, left and right exchanged) scores the same; a plain lift need not."""
    from dataclasses import replace

    from pose3d.skeleton import flip_lr
    from tests.conftest import make_model

    records = load_split(shards, "test")[:2]  # inputs in COCO-17, targets in H36M-17
    mirrored = [
        replace(
            r, inputs_2d=flip_lr(r.inputs_2d, "coco17"), targets_3d=flip_lr(r.targets_3d, "h36m17")
        )
        for r in records
    ]
    model = make_model((3, 3), causal=False)
    layouts = ("coco17", "h36m17")
    as_filmed = evaluate_model(model, records, flip=layouts)
    as_mirrored = evaluate_model(model, mirrored, flip=layouts)
    for a, b in zip(as_filmed, as_mirrored, strict=True):
        assert a.mpjpe == pytest.approx(b.mpjpe, rel=1e-4)
    plain = [r.mpjpe for r in evaluate_model(model, records)]
    assert plain != pytest.approx([r.mpjpe for r in as_filmed], rel=1e-4)


def test_results_say_which_database_a_real_person_comes_from():
    from pose3d.evaluation import dataset_of

    assert dataset_of("cmu_002") == "CMU (real)" and dataset_of("hdm05_bd") == "HDM05 (real)"
    assert dataset_of("body-000123") == "simulated"
