"""Heels lifting, seen in the phone's 2D foot landmarks (MediaPipe heel and foot index).

H36M-17 poses have no feet, so a heel rising off the floor is invisible in 3D. MediaPipe
reports each heel and the tip of each foot: when a heel lifts, it rises in the image
relative to the toes. The signal is that rise, median-filtered over half a second
(detector jitter on the feet is large), relative to the session's median (the feet are
flat most of the time), in units of the shank's image length (knee to
ankle) at rest, which keeps it independent of distance and image size (the shank's
length while squatting would not: it foreshortens as the knees travel forward).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import median_filter

from pose3d.skeleton import MEDIAPIPE33

FULL_SCALE = 0.25  # rise / shank length of a severity-1 heel lift (25 deg plantar flexion)
CUE = "Keep your heels on the floor"
MOVEMENTS = frozenset({"squat"})  # the movements whose heels are judged


def heel_height(
    keypoints: np.ndarray, scores: np.ndarray, side: str, fps: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """``(T,)`` height of one heel above its toes, in shank lengths at rest (median
    filtered), and ``(T,)`` its confidence; ``None`` when the foot or shank is unseen.

    Args:
        keypoints: ``(T, 33, 2)`` MediaPipe pixels (NaN where unseen; y grows downward).
        scores: ``(T, 33)`` MediaPipe confidences.
    """
    index = {
        name: MEDIAPIPE33.index(f"{side}_{name}")
        for name in ("heel", "foot_index", "knee", "ankle")
    }
    heel, toe = keypoints[:, index["heel"]], keypoints[:, index["foot_index"]]
    start = slice(0, max(3, int(0.3 * fps)))
    shanks = np.linalg.norm(
        keypoints[start, index["knee"]] - keypoints[start, index["ankle"]], axis=1
    )
    height = toe[:, 1] - heel[:, 1]
    valid = np.isfinite(height)
    if not valid.any() or not np.isfinite(shanks).any():  # the foot or the shank unseen
        return None
    shank = np.nanmedian(shanks)
    if not shank > 1:
        return None
    frames = np.arange(len(height))
    height = np.interp(frames, frames[valid], height[valid]) / shank
    height = median_filter(height, size=max(3, int(0.5 * fps)), mode="nearest")
    confidence = scores[:, [index["heel"], index["foot_index"]]].mean(axis=1)
    return height, confidence


def heel_rise(
    keypoints: np.ndarray, scores: np.ndarray, side: str, fps: float, rest: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(T,)`` heel rise of one foot (shank lengths above its resting height) and ``(T,)``
    its confidence; zeros for both when unseen. ``rest``: the resting height
    (:func:`heel_height`) from a longer stretch of the same session; by default the
    median over these frames (the feet are flat most of the time)."""
    measured = heel_height(keypoints, scores, side, fps)
    if measured is None:
        return np.zeros(len(keypoints)), np.zeros(len(keypoints))
    height, confidence = measured
    return height - (np.median(height) if rest is None else rest), confidence
