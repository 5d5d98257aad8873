"""Repetitions and dynamic time warping between the user and the trainer.

Repetitions are excursions of the motion away from its rest pose. Alignment uses
multivariate DTW (dtaidistance's C implementation) on normalised features with a
Sakoe-Chiba window, after a piecewise-linear warp through known anchors (repetition
boundaries or beats): DTW then only fixes timing *within* a repetition, and cannot
hide an error by matching, say, a lower arm to an earlier phase of the trainer's
raise. Time before the first anchor and after the last (a late start, an early stop)
is left unmatched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from dtaidistance import dtw_ndim

FEATURE_SCALE_DEG = 90.0  # features are divided by this before DTW


def moving_average(values: np.ndarray, frames: int) -> np.ndarray:
    """``(T,)`` centred moving average over ``frames`` frames, ends padded with the edge."""
    if frames <= 1:
        return values
    padded = np.pad(values, frames // 2, mode="edge")
    return np.convolve(padded, np.ones(frames) / frames, mode="valid")[: len(values)]


def activity(features: np.ndarray, fps: float) -> np.ndarray:
    """``(T,)`` distance (deg) of each frame from the start pose (the median of the first
    0.3 s: a session starts in the movement's rest position), smoothed over 5 frames."""
    rest = np.median(features[: max(3, int(0.3 * fps))], axis=0)
    return moving_average(np.linalg.norm(features - rest, axis=1), 5)


def segment_reps(features: np.ndarray, fps: float, min_rep_s: float = 0.4) -> list[tuple[int, int]]:
    """``[start, end)`` frames of each repetition.

    A repetition is a run where the motion is more than 35% of its peak away from rest;
    it extends to the middle of the calm stretch (below 20%) on each side, or up to
    half a second into it at the ends of the recording.
    """
    signal = activity(features, fps)
    peak = np.percentile(signal, 98)
    if peak < 5.0:  # less than 5 degrees of movement: nothing to count
        return []
    active = signal > 0.35 * peak
    calm = signal < 0.2 * peak
    cores = []
    t, frames = 0, len(signal)
    while t < frames:
        if not active[t]:
            t += 1
            continue
        start = t
        while start > 0 and not calm[start - 1]:
            start -= 1
        while t < frames and not calm[t]:
            t += 1
        if (t - start) / fps >= min_rep_s:
            cores.append((start, t))
    margin = int(0.5 * fps)
    reps = []
    for i, (start, end) in enumerate(cores):
        before = (cores[i - 1][1] + start) // 2 if i else max(0, start - margin)
        after = (end + cores[i + 1][0]) // 2 if i + 1 < len(cores) else min(frames, end + margin)
        reps.append((before, after))
    return reps


@dataclass
class Alignment:
    """How the user's frames map onto the reference.

    Attributes:
        ref_index: ``(T_user,)`` matched reference frame for every user frame.
        matched: ``(T_user,)`` False for user frames outside the warping path (before
            the start or after the end under psi relaxation).
        tempo: ``(T_user,)`` local speed relative to the reference (1 = same, 2 = twice
            as fast), smoothed over a second.
        cost: Mean DTW cost per path step (normalised feature units).
    """

    ref_index: np.ndarray
    matched: np.ndarray
    tempo: np.ndarray
    cost: float


def align(
    user: np.ndarray,
    user_fps: float,
    reference: np.ndarray,
    ref_fps: float,
    anchors: tuple[np.ndarray, np.ndarray] | None = None,
    window: int | None = None,
) -> Alignment:
    """Align ``user`` features ``(T_u, F)`` to ``reference`` features ``(T_r, F)``.

    Args:
        anchors: ``(user_frames, reference_frames)`` known correspondences (repetition
            boundaries, beats), increasing. The user is first resampled onto the
            reference timeline through them (piecewise linear), so DTW only has to fix
            small timing differences and cannot "explain away" a lower arm or a
            shallower squat by matching it to another phase. Default: the two ends.
        window: Sakoe-Chiba window in reference frames (default 10% of ``T_r``).

    User frames before the first anchor or after the last (a late start, an early stop,
    walking up to the phone) are left unmatched.
    """
    if user_fps <= 0 or ref_fps <= 0:
        raise ValueError(f"fps must be positive, got user {user_fps}, reference {ref_fps}")
    t_user, t_ref = len(user), len(reference)
    if anchors is None:
        anchors = (np.array([0.0, t_user - 1]), np.array([0.0, t_ref - 1]))
    user_anchor, ref_anchor = (np.asarray(a, dtype=np.float64) for a in anchors)
    positions = np.clip(np.interp(np.arange(t_ref), ref_anchor, user_anchor), 0, t_user - 1)
    resampled = np.stack(
        [np.interp(positions, np.arange(t_user), user[:, f]) for f in range(user.shape[1])], axis=1
    )
    window = max(3, int(window if window is not None else 0.1 * t_ref))
    path, distance = dtw_ndim.warping_path(
        np.ascontiguousarray(resampled / FEATURE_SCALE_DEG, dtype=np.double),
        np.ascontiguousarray(reference / FEATURE_SCALE_DEG, dtype=np.double),
        use_c=True,
        window=window,
        include_distance=True,
    )
    path = np.asarray(path)
    user_positions = positions[path[:, 0]]
    order = np.argsort(user_positions, kind="stable")
    ref_index = np.interp(np.arange(t_user), user_positions[order], path[order, 1])
    ref_index = ref_index.round().astype(int)
    frames = np.arange(t_user)
    matched = (frames >= user_anchor[0]) & (frames <= user_anchor[-1])
    step = np.gradient(ref_index.astype(float)) * (user_fps / ref_fps)
    tempo = moving_average(step, max(1, int(user_fps)))
    return Alignment(ref_index, matched, tempo, float(distance) / max(len(path), 1))
