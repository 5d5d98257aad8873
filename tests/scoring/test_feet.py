"""Heels lifting in the phone's 2D foot landmarks (scoring.feet)."""

import numpy as np

from pose3d.skeleton import MEDIAPIPE33
from scoring import feet

FPS = 30.0


def _feet(lift_px: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MediaPipe-33 keypoints ``(T, 33, 2)`` of a person standing still, the left heel
    raised by ``lift_px`` ``(T,)`` pixels (shank 200 px), and full scores."""
    frames = len(lift_px)
    keypoints = np.full((frames, 33, 2), 500.0)
    point = {
        name: MEDIAPIPE33.index(f"left_{name}") for name in ("knee", "ankle", "heel", "foot_index")
    }
    keypoints[:, point["knee"]] = [500.0, 1000.0]
    keypoints[:, point["ankle"]] = [500.0, 1200.0]
    keypoints[:, point["foot_index"]] = [560.0, 1230.0]
    keypoints[:, point["heel"]] = np.stack([np.full(frames, 480.0), 1230.0 - lift_px], axis=1)
    return keypoints, np.ones((frames, 33))


def test_a_heel_raised_through_a_whole_stretch_reads_raised_against_the_sessions_rest():
    flat, raised = np.zeros(60), np.full(60, 40.0)  # 40 px = 0.2 shank lengths
    # Within the raised stretch alone its own median is "rest": the lift vanishes.
    rise, confidence = feet.heel_rise(*_feet(raised), "left", FPS)
    assert np.abs(rise).max() < 1e-9 and confidence.min() == 1.0
    # Against the rest measured over the flat frames before it (live: earlier checks).
    rest = float(np.median(feet.heel_height(*_feet(flat), "left", FPS)[0]))
    rise, _ = feet.heel_rise(*_feet(raised), "left", FPS, rest)
    np.testing.assert_allclose(rise, 0.2, atol=1e-6)
    # A session whose heels are flat most of the time finds the lift on its own.
    rise, _ = feet.heel_rise(*_feet(np.r_[flat, flat, raised]), "left", FPS)
    assert rise[-30:].min() > 0.19 and np.abs(rise[:90]).max() < 1e-9


def test_an_unseen_foot_gives_no_rise_and_no_confidence():
    keypoints, scores = _feet(np.zeros(30))
    keypoints[:, MEDIAPIPE33.index("left_heel")] = np.nan
    assert feet.heel_height(keypoints, scores, "left", FPS) is None
    rise, confidence = feet.heel_rise(keypoints, scores, "left", FPS, rest=0.1)
    assert not rise.any() and not confidence.any()
