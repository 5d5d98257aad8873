"""Where the knees are: measures of caving in and of travelling past the toes.

The joint angles (:mod:`scoring.features`) are computed frame by frame from the hips,
which are often hidden, and jitter, at the bottom of a squat. These measures take the
body's axes from the whole session instead.

A lifter trained on natural motion pulls a caving or over-bent knee back towards the
average pose (it keeps a small part of the valgus angle's change, and less than half of
the knee's sideways travel), but the 2D landmarks it lifted from still show it: seen
from the front, the knee leaves the hip-ankle line towards the body's midline; seen
from the side, the knee bends further and travels past the toes. The 2D measures are
ratios of image lengths, so they do not depend on distance or image size. All are
measures of the user alone (the trainer was filmed from elsewhere): the detector compares
them between the user's own repetitions.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import median_filter

from pose3d.nan_median import nan_median_rows
from pose3d.skeleton import H36M17, MEDIAPIPE33


def _filled(points: np.ndarray) -> np.ndarray:
    """``(T, 2)`` points with NaN frames interpolated (all NaN if none is seen)."""
    frames = np.arange(len(points))
    valid = np.isfinite(points).all(axis=1)
    if not valid.any():
        return np.full_like(points, np.nan)
    return np.stack([np.interp(frames, frames[valid], points[valid, i]) for i in (0, 1)], axis=1)


def _smooth(values: np.ndarray, fps: float) -> np.ndarray:
    if not np.isfinite(values).all():
        return values
    return median_filter(values, size=max(3, int(0.2 * fps)) | 1, mode="nearest")


def image_measures(keypoints: np.ndarray, scores: np.ndarray, side: str, fps: float) -> dict:
    """One knee's 2D measures, each ``(T,)``, and ``confidence`` ``(T,)``.

    Args:
        keypoints: ``(T, 33, 2)`` MediaPipe pixels (NaN where unseen; y grows downward).
        scores: ``(T, 33)`` MediaPipe confidences.

    Returns:
        ``inward``: how far the knee is from the ankle towards the other hip, per
        shank length (front view: caving in); ``off_line``: the knee's distance from the
        hip-ankle line towards the other hip, per hip-ankle length; ``bend``: the knee's image angle
        (degrees, 0 straight); ``past_toes``: how far the knee is ahead of the toes along
        the foot, per shank length (side view); ``confidence``: mean score of the hip,
        knee and ankle.
    """
    other = "right" if side == "left" else "left"
    names = ("hip", "knee", "ankle", "heel", "foot_index")
    point = {n: _filled(keypoints[:, MEDIAPIPE33.index(f"{side}_{n}")]) for n in names}
    other_hip = _filled(keypoints[:, MEDIAPIPE33.index(f"{other}_hip")])
    hip, knee, ankle = point["hip"], point["knee"], point["ankle"]
    leg = ankle - hip
    leg_length = np.linalg.norm(leg, axis=1) + 1e-9
    along = leg / leg_length[:, None]
    offset = (knee - hip) - ((knee - hip) * along).sum(axis=1, keepdims=True) * along
    # Hips are often hidden (and jittery) at the bottom of a squat: take the sideways
    # direction and the scale from the whole session, not frame by frame.
    across = nan_median_rows((other_hip - hip).T)
    across /= np.linalg.norm(across) + 1e-9
    shank_rest = np.nanpercentile(np.linalg.norm(knee - ankle, axis=1), 90) + 1e-9
    thigh, shank = hip - knee, ankle - knee
    shank_length = np.linalg.norm(shank, axis=1) + 1e-9
    cos = (thigh * shank).sum(axis=1) / (np.linalg.norm(thigh, axis=1) + 1e-9) / shank_length
    foot = point["foot_index"] - point["heel"]
    foot /= np.linalg.norm(foot, axis=1, keepdims=True) + 1e-9
    joints = [MEDIAPIPE33.index(f"{side}_{n}") for n in ("hip", "knee", "ankle")]
    return {
        "inward": _smooth(((knee - ankle) * across).sum(axis=1) / shank_rest, fps),
        "off_line": _smooth((offset * across).sum(axis=1) / leg_length, fps),
        "bend": _smooth(180.0 - np.degrees(np.arccos(np.clip(cos, -1, 1))), fps),
        "past_toes": _smooth(((knee - point["foot_index"]) * foot).sum(axis=1) / shank_length, fps),
        "confidence": scores[:, joints].mean(axis=1),
    }


def pose_measures(poses: np.ndarray, side: str) -> dict:
    """One knee's position in 3D poses ``(T, 17, 3)`` (metres, any frame), each ``(T,)``.

    Returns:
        ``inward``: the knee's offset from the hip-ankle line towards the other side of
        the body, per thigh length; ``ahead``: its offset from the ankle in the direction the
        person faces, per thigh length. The body's axes are the session's median
        hip-to-hip and pelvis-to-thorax directions.
    """
    joint = {
        name: poses[:, H36M17.index(name)] for name in ("left_hip", "right_hip", "pelvis", "thorax")
    }
    hip, knee, ankle = (poses[:, H36M17.index(f"{side}_{n}")] for n in ("hip", "knee", "ankle"))
    right = np.median(joint["right_hip"] - joint["left_hip"], axis=0)
    up = np.median(joint["thorax"] - joint["pelvis"], axis=0)
    right /= np.linalg.norm(right) + 1e-9
    up -= (up @ right) * right
    up /= np.linalg.norm(up) + 1e-9
    forward = np.cross(up, right)
    thigh = np.median(np.linalg.norm(knee - hip, axis=1)) + 1e-9
    along = ankle - hip
    along /= np.linalg.norm(along, axis=1, keepdims=True) + 1e-9
    off_line = (knee - hip) - ((knee - hip) * along).sum(axis=1, keepdims=True) * along
    towards_midline = right if side == "left" else -right
    return {
        "inward": off_line @ towards_midline / thigh,
        "ahead": (knee - ankle) @ forward / thigh,
    }
