"""Squat depth as a coach reads it off the image: are the hips down at the knees?

A coach judging a squat from a phone video does not measure the knee angle; they look
whether the hip crease drops to the height of the knee. That reading survives the
views where a lifted depth does not: from the front, a thigh pointing at the camera is
foreshortened to nothing and the lifter has to guess how bent the knee is (on real deep
squats the bundled lifter returns 90 deg where the capture says 149 deg,
``docs/real-scoring-eval``), while the hip and knee landmarks still sit level in the
image. The measure is the hip centre's drop below the knee centre, in shank lengths
(knee to ankle, its longest in the stretch: standing), so distance and image size do not
matter. A camera far below or above the hips tilts it by up to ~0.15 shank lengths,
hence the margin of :data:`HIPS_BELOW_KNEES`.
"""

from __future__ import annotations

import numpy as np

from pose3d.skeleton import MEDIAPIPE33

# The hips' drop below the knees (shank lengths) that counts as a deep-enough squat
# whatever the view: the hip centre clearly under the knee centre (a thigh at parallel
# puts them level; a floor-level camera can raise the knees' image by ~0.15).
HIPS_BELOW_KNEES = 0.2
MIN_SCORE = 0.5  # landmarks seen less surely than this are not read
MIN_FRAMES_S = 0.1  # frames past the mark needed (one noisy frame is not a squat)


def _centre(keypoints: np.ndarray, scores: np.ndarray, joint: str) -> np.ndarray:
    """``(T, 2)`` mean of the left and right ``joint`` over the sides seen surely enough
    (NaN where neither is)."""
    index = [MEDIAPIPE33.index(f"{side}_{joint}") for side in ("left", "right")]
    points = keypoints[:, index].astype(float)
    points[scores[:, index] < MIN_SCORE] = np.nan
    seen = np.isfinite(points[..., 1])
    total = np.where(seen[..., None], points, 0.0).sum(axis=1)
    count = seen.sum(axis=1)[:, None]
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def hip_drop(keypoints: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """``(T,)`` how far the hip centre is below the knee centre in the image, in shank
    lengths (negative above; NaN where the hips, knees or shanks are not seen).

    Args:
        keypoints: ``(T, 33, 2)`` MediaPipe pixels (NaN where unseen; y grows downward).
        scores: ``(T, 33)`` MediaPipe confidences.
    """
    hips, knees = _centre(keypoints, scores, "hip"), _centre(keypoints, scores, "knee")
    ankles = _centre(keypoints, scores, "ankle")
    shanks = np.linalg.norm(knees - ankles, axis=1)
    if not np.isfinite(shanks).any():
        return np.full(len(keypoints), np.nan)
    shank = np.nanpercentile(shanks, 90)  # standing: the shank's full image length
    if not shank > 1.0:
        return np.full(len(keypoints), np.nan)
    return (hips[:, 1] - knees[:, 1]) / shank


def hips_reached_knees(drop: np.ndarray, fps: float) -> bool:
    """Whether the hips went clearly below the knees (:data:`HIPS_BELOW_KNEES`) for at
    least :data:`MIN_FRAMES_S` of the frames of ``drop`` (``(T,)``, :func:`hip_drop`)."""
    frames = max(3, round(MIN_FRAMES_S * fps))
    return int(np.sum(drop >= HIPS_BELOW_KNEES)) >= frames
