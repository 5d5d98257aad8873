"""Measures of the body in 2D keypoints that a left/right label swap does not change.

Both repairs of the front end (:mod:`pose2d.identity`, :mod:`pose2d.swaps`) look at a
sequence before its labels can be trusted, so they measure the body through what is
the same whichever side is called left: the midpoint of each left/right pair, the
torso's axis (hip midpoint to shoulder midpoint) and its length, the unit of every
distance they compare.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import median_filter

from pose3d.skeleton import Layout

_SCALE_WINDOW_S = 2.0  # the torso's length is a running median over this long


def visible(keypoints: np.ndarray, scores: np.ndarray, min_score: float) -> np.ndarray:
    """``(T, J)`` bool: keypoints ``(T, J, 2)`` px that are finite and scored at least
    ``min_score`` in ``scores`` ``(T, J)``."""
    return np.isfinite(keypoints).all(axis=-1) & (scores >= min_score)


def pair_midpoints(
    keypoints: np.ndarray, seen: np.ndarray, layout: Layout
) -> tuple[np.ndarray, np.ndarray]:
    """Points whose position no left/right swap changes: the midpoint of every pair of
    ``layout``, then every unpaired joint (the nose).

    Args:
        keypoints: ``(T, J, 2)`` px.
        seen: ``(T, J)`` bool, the joints to use.

    Returns:
        ``(points (T, P, 2) px, seen (T, P) bool)``; a midpoint is seen when both of its
        joints are (its coordinates are NaN otherwise).
    """
    left, right = list(layout.left), list(layout.right)
    unpaired = sorted(set(range(layout.num_joints)) - set(left) - set(right))
    both = seen[:, left] & seen[:, right]
    mids = np.where(both[..., None], (keypoints[:, left] + keypoints[:, right]) / 2, np.nan)
    alone = np.where(seen[:, unpaired, None], keypoints[:, unpaired], np.nan)
    return (
        np.concatenate([mids, alone], axis=1),
        np.concatenate([both, seen[:, unpaired]], axis=1),
    )


def torso_axis(keypoints: np.ndarray, seen: np.ndarray, layout: Layout) -> np.ndarray:
    """``(T, 2)`` px from the hips' midpoint to the shoulders' midpoint; NaN in frames
    where any of the four joints is not ``seen`` ``(T, J)``."""
    shoulders = [layout.index("left_shoulder"), layout.index("right_shoulder")]
    hips = [layout.index("left_hip"), layout.index("right_hip")]
    ok = seen[:, shoulders + hips].all(axis=1)
    axis = keypoints[:, shoulders].mean(axis=1) - keypoints[:, hips].mean(axis=1)
    return np.where(ok[:, None], axis, np.nan)


def torso_scale(axis: np.ndarray, fps: float) -> np.ndarray:
    """``(T,)`` px: the torso's length, a running median over about two seconds.

    ``axis`` ``(T, 2)`` is :func:`torso_axis`. Frames without a torso are interpolated
    from the measured ones; a sequence that never shows one falls back to 1 px (it has no
    body to compare, and every caller then finds no evidence either way). Bending toward
    the camera shortens the torso in the image, and the window spans such movements.
    """
    length = np.linalg.norm(axis, axis=-1)
    measured = np.flatnonzero(np.isfinite(length) & (length > 0))
    if measured.size == 0:
        return np.ones(len(axis))
    filled = np.interp(np.arange(len(axis)), measured, length[measured])
    window = max(1, round(_SCALE_WINDOW_S * fps) | 1)
    return median_filter(filled, size=window, mode="nearest")


def last_seen(points: np.ndarray, seen: np.ndarray, max_age: int) -> tuple[np.ndarray, np.ndarray]:
    """Each point's last seen position before each frame.

    Args:
        points: ``(T, N, 2)`` px.
        seen: ``(T, N)`` bool.
        max_age: How many frames back a sighting still counts.

    Returns:
        ``(before (T, N, 2) px, found (T, N) bool)``: the position at the latest frame
        ``t - max_age <= u < t`` where the point was seen, and whether there was one.
    """
    frames = np.arange(len(points))[:, None]
    latest = np.maximum.accumulate(np.where(seen, frames, -1), axis=0)
    previous = np.full_like(latest, -1)
    previous[1:] = latest[:-1]
    found = (previous >= 0) & (frames - previous <= max_age)
    before = points[np.maximum(previous, 0), np.arange(points.shape[1])[None, :]]
    return before, found
