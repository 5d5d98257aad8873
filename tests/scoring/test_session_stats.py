"""Drift statistics of one session: the units and values a monitor relies on."""

from __future__ import annotations

import numpy as np
import pytest

from pose3d.camera import world_to_camera
from scoring.checks import ALL_KINDS
from scoring.session_stats import INPUT_STATISTICS, ScoredInput, session_statistics
from synthetic_data.cameras import clip_camera_yaw_deg
from synthetic_data.detector import film
from synthetic_data.generator import ClipRequest, generate_clip


@pytest.fixture(scope="module")
def filmed():
    """A 2-rep squat at 30 fps filmed by one phone about 57 deg off the person's facing: the
    2D, the camera-space 3D (m) and the camera's true yaw from the person's facing (deg,
    unsigned)."""
    clip = generate_clip(ClipRequest(seed=20, movement="squat", num_reps=2, num_cameras=1))
    camera = clip.cameras[0]
    seen = film(clip, camera, np.random.default_rng(0), layout="mediapipe33")
    poses = world_to_camera(clip.h36m17().astype(np.float64), camera.rotation, camera.position)
    poses = poses - poses[:, :1]  # root-relative, as the lifter's
    true_yaw = float(np.median(np.abs(clip_camera_yaw_deg(clip, camera))))
    return clip, seen, poses, true_yaw


def _report(score: float, duration_s: float, kinds: list[str]) -> dict:
    errors = [{"kind": kind} for kind in kinds]
    return {"score": score, "duration_s": duration_s, "errors": errors}


def test_the_inputs_come_out_in_their_units(filmed):
    clip, seen, poses, true_yaw = filmed
    received = ScoredInput(seen.keypoints, seen.scores, seen.image_size, clip.fps, 6, 3)
    duration = len(poses) / clip.fps
    stats = session_statistics(received, poses, _report(71.5, duration, []))
    assert set(INPUT_STATISTICS) <= set(stats)
    assert stats["fps"] == clip.fps and stats["duration_s"] == pytest.approx(duration, abs=1e-6)
    assert stats["swap_repaired_share"] == pytest.approx(6 / len(poses), abs=1e-6)
    assert stats["other_person_share"] == pytest.approx(3 / len(poses), abs=1e-6)
    assert abs(stats["camera_yaw_deg"] - true_yaw) < 12, (stats["camera_yaw_deg"], true_yaw)
    assert 0.1 < stats["movement_m_per_s"] < 2  # a squat moves the joints, at human speeds
    assert 1.2 < stats["body_height_m"] < 2.0
    assert 0 < stats["camera_distance"] < 1.5
    assert 0 < stats["confidence_p10"] <= stats["confidence_mean"] <= 1
    assert 0 <= stats["missing_joint_share"] < 0.5


def test_a_still_body_does_not_move_and_one_facing_away_shows_its_yaw(filmed):
    clip, seen, poses, _ = filmed
    still = np.repeat(poses[:1], len(poses), axis=0)
    # The same body turned about the camera's vertical (y) to face away: yaw 180 - yaw.
    turned = still @ np.diag([-1.0, 1.0, -1.0])
    received = ScoredInput(seen.keypoints, seen.scores, seen.image_size, clip.fps)
    report = _report(90.0, len(poses) / clip.fps, [])
    front = session_statistics(received, still, report)
    back = session_statistics(received, turned, report)
    assert front["movement_m_per_s"] == 0
    assert 40 < front["camera_yaw_deg"] < 75
    assert back["camera_yaw_deg"] == pytest.approx(180 - front["camera_yaw_deg"], abs=1e-3)
    assert back["body_height_m"] == pytest.approx(front["body_height_m"], abs=1e-6)


def test_the_outputs_count_cues_per_minute_and_summarise_the_detector(filmed):
    clip, seen, poses, _ = filmed
    received = ScoredInput(seen.keypoints, seen.scores, seen.image_size, clip.fps)
    report = _report(64.0, 30.0, ["rounded_back", "rounded_back", "shallow_squat", "new_kind"])
    probabilities = {"rounded_back": np.array([0.2, 0.9, 0.4]), "off_beat": np.array([])}
    stats = session_statistics(received, poses, report, probabilities)
    assert stats["score"] == 64.0
    assert stats["cues_per_min.rounded_back"] == 4.0  # 2 cues in half a minute
    assert stats["cues_per_min.shallow_squat"] == 2.0
    assert {f"cues_per_min.{kind}" for kind in ALL_KINDS} <= set(stats)
    assert not any("new_kind" in name for name in stats)  # the names stay a bounded set
    assert stats["detector_p_mean.rounded_back"] == pytest.approx(0.5)
    assert stats["detector_p_max.rounded_back"] == 0.9
    assert "detector_p_mean.off_beat" not in stats  # judged nothing: no made-up value
