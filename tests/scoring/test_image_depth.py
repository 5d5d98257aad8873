"""Squat depth read off the phone's image (hips down at the knees), and the shallow-squat
cues it spares where a lifted deep squat came out shallow."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from pose3d.skeleton import MEDIAPIPE33
from scoring.features import F
from scoring.image_depth import HIPS_BELOW_KNEES, hip_drop, hips_reached_knees
from scoring.observed import Landmarks
from scoring.report import ErrorEvent
from scoring.session import spare_deep_squats

SHANK_PX = 100.0  # knee to ankle in the image


def _frames(hip_below_knee: np.ndarray, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """MediaPipe-33 pixels ``(T, 33, 2)`` and scores of someone seen from the front whose
    hips are ``hip_below_knee`` ``(T,)`` shank lengths below their knees (y down)."""
    frames = len(hip_below_knee)
    keypoints = np.full((frames, 33, 2), np.nan)
    for side, x in (("left", 560.0), ("right", 440.0)):
        knee_y = 700.0
        keypoints[:, MEDIAPIPE33.index(f"{side}_knee")] = (x, knee_y)
        keypoints[:, MEDIAPIPE33.index(f"{side}_ankle")] = (x, knee_y + SHANK_PX)
        hips = np.stack([np.full(frames, x * 0.95), knee_y + hip_below_knee * SHANK_PX], axis=1)
        keypoints[:, MEDIAPIPE33.index(f"{side}_hip")] = hips
    scores = np.where(np.isfinite(keypoints[..., 0]), 0.9, 0.0)
    return keypoints * scale, scores


def test_the_hips_drop_below_the_knees_is_read_in_shank_lengths_whatever_the_distance():
    path = np.array([-1.5, -0.8, 0.0, 0.3, 0.0, -1.5])  # standing, down, past, up
    near, scores = _frames(path)
    far, _ = _frames(path, scale=0.4)  # further from the camera: everything smaller
    np.testing.assert_allclose(hip_drop(near, scores), path, atol=1e-9)
    np.testing.assert_allclose(hip_drop(far, scores), path, atol=1e-9)
    scores[:, MEDIAPIPE33.index("left_hip")] = 0.1  # one hip unsure: the other is read
    np.testing.assert_allclose(hip_drop(near, scores), path, atol=0.03)
    scores[:, MEDIAPIPE33.index("right_hip")] = 0.1  # neither: nothing is claimed
    assert np.isnan(hip_drop(near, scores)).all()


def test_a_squat_counts_as_deep_only_with_the_hips_clearly_below_for_several_frames():
    fps = 30.0
    level = np.zeros(30)  # thighs at parallel: level in the image, within a camera's tilt
    assert not hips_reached_knees(level, fps)
    one_frame = level.copy()
    one_frame[15] = 1.0  # one noisy frame is not a squat
    assert not hips_reached_knees(one_frame, fps)
    deep = level.copy()
    deep[10:16] = HIPS_BELOW_KNEES + 0.05
    assert hips_reached_knees(deep, fps)
    assert not hips_reached_knees(np.full(30, np.nan), fps)


def test_shallow_squat_cues_are_spared_where_the_image_shows_the_hips_below_the_knees():
    """The lifter reads every repetition at 80 deg (a front view foreshortens the thighs);
    the image shows rep 1 past parallel, rep 2 only level, rep 3 past but unsurely seen."""
    fps, rep = 30.0, 30
    drop = np.full(3 * rep, -1.0)
    drop[10:20] = 0.4  # rep 1: hips well below the knees
    drop[rep + 10 : rep + 20] = 0.0  # rep 2: level (parallel at best)
    drop[2 * rep + 10 : 2 * rep + 20] = 0.4  # rep 3: below, but the hips are not seen
    keypoints, scores = _frames(drop)
    scores[2 * rep :, [MEDIAPIPE33.index("left_hip"), MEDIAPIPE33.index("right_hip")]] = 0.2
    features = np.zeros((3 * rep, len(F)))
    features[:, [F["knee_flexion_left"], F["knee_flexion_right"]]] = 80.0
    observed = SimpleNamespace(landmarks=Landmarks(keypoints, scores))
    matched = SimpleNamespace(features=features, fps=fps, observed=observed)
    events = [
        ErrorEvent("shallow_squat", "hips", n * rep / fps, (n + 1) * rep / fps, 0.5, 0.9, "cue")
        for n in range(3)
    ] + [ErrorEvent("rounded_back", "spine", 0.0, 1.0, 0.5, 0.9, "cue")]
    kept = spare_deep_squats(events, matched)
    assert [(e.kind, e.start_s) for e in kept] == [
        ("shallow_squat", 1.0),
        ("shallow_squat", 2.0),
        ("rounded_back", 0.0),
    ]
