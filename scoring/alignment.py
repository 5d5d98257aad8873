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

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from dtaidistance import dtw_ndim
from scipy.signal import find_peaks, peak_prominences

from scoring.activity_track import LEVEL_PERCENTILE, SMOOTHING

if TYPE_CHECKING:  # scoring.image_activity builds on this module's rules
    from scoring.image_activity import ImageTrack

FEATURE_SCALE_DEG = 90.0  # features are divided by this before DTW
REP_HEIGHT = 0.35  # a repetition's peak rises at least this share of the session's peak
# A repetition's peak stands this share of the session's peak above its troughs: a
# squat's wobble at the bottom or a pause half-way up is not a repetition of its own.
REP_PROMINENCE = 0.3
MIN_ACTIVITY_DEG = 5.0  # a session moving less than this has no repetitions
MIN_KNEE_BEND_DEG = 20.0  # knees that bend less than this in the image count nothing
# A knee-bend peak stands out from the troughs beside it by at least this much (deg):
# twice the image reading's 95th-percentile error (scoring.image_depth's
# IMAGE_KNEE_MARGIN_DEG), so a dip the reading's noise can make at the bottom of a
# shallow bend does not split one squat into two (design notes, session 43).
MIN_KNEE_PROMINENCE_DEG = 30.0
# A knee-bend peak in the image may lead or lag the repetition peak found in the motion
# by this much (the bend peaks at the bottom; the body's displacement can peak later).
KNEE_PEAK_WINDOW_S = 0.4


def moving_average(values: np.ndarray, frames: int) -> np.ndarray:
    """``(T,)`` centred moving average over ``frames`` frames, ends padded with the edge."""
    if frames <= 1:
        return values
    padded = np.pad(values, frames // 2, mode="edge")
    return np.convolve(padded, np.ones(frames) / frames, mode="valid")[: len(values)]


def activity(features: np.ndarray, fps: float) -> np.ndarray:
    """``(T,)`` distance (deg) of each frame from the start pose (the median of the first
    0.3 s: a session starts in the movement's rest position), smoothed over SMOOTHING
    frames."""
    rest = np.median(features[: max(3, int(0.3 * fps))], axis=0)
    return moving_average(np.linalg.norm(features - rest, axis=1), SMOOTHING)


def segment_reps(
    features: np.ndarray,
    fps: float,
    min_rep_s: float = 0.4,
    image: ImageTrack | None = None,
    knee_bend: np.ndarray | None = None,
) -> list[tuple[int, int]]:
    """``[start, end)`` frames of each repetition.

    A repetition is a peak of the activity (:func:`activity`) that rises at least
    :data:`REP_HEIGHT` of the session's peak and stands out from the lower of the troughs
    on either side by :data:`REP_PROMINENCE` of it, at least ``min_rep_s`` after the last
    one. Between two repetitions the boundary is the middle of the trough (the frames
    within 10% of the peak of its lowest point); the first starts in the calm before it
    (below 20%) and the last ends in the calm after it, up to half a second in.

    Peaks and troughs rather than a return to the start pose: between real repetitions
    people often do not come all the way back (a jumping jack's legs stay apart, a
    lifted pose drifts), so a "calm" threshold merged them into one.

    ``image``, for lifted poses, is the body's displacement in the phone's image over the
    same frames (:class:`scoring.image_activity.ImageTrack`): a peak of the lifted
    activity counts only where the image shows it too, and where the image's own peaks
    hold those and more, they are the repetitions (:meth:`ImageTrack.peaks_beyond
    <scoring.image_activity.ImageTrack.peaks_beyond>`: the lifter can flatten a real
    squat until no peak stands out; the image shows each).

    ``knee_bend``, for squats filmed by the phone, is how far the knees bend in the
    image over the same frames (``(T,)`` deg from rest,
    :func:`scoring.image_depth.knee_bend_activity`): where its own peaks hold every
    repetition peak found so far and more, they are the repetitions
    (:func:`knee_bend_peaks`). A quarter squat among deep ones moves the body and the
    lifted angles less than a third as much as they do, under :data:`REP_HEIGHT`, so it
    went uncounted, merged into a neighbour or cut off the end, and no "sit deeper" came
    for the worst repetition of all; its knees still bend two thirds as far.
    """
    signal = activity(features, fps)
    level = activity_level(signal)
    if level < MIN_ACTIVITY_DEG:  # nothing to count
        return []
    peaks = rep_peaks(signal, level, fps, min_rep_s)
    if image is not None:
        peaks = image.shown(peaks)
        seen = image.peaks_beyond(peaks, min_rep_s)
        if seen is not None:
            signal, level, peaks = image.activity.signal.view, image.level(), seen
    if knee_bend is not None:
        bends = knee_bend_peaks(knee_bend, peaks, fps, min_rep_s)
        if bends is not None:
            signal, level, peaks = knee_bend, activity_level(knee_bend), bends
    if peaks.size == 0:
        return []
    bounds = [first_rep_start(signal, int(peaks[0]), level, fps)]
    bounds += [trough_middle(signal, int(a), int(b), level) for a, b in itertools.pairwise(peaks)]
    reversed_end = _calm_before(signal[::-1], len(signal) - 1 - int(peaks[-1]), 0.2 * level,
                                int(0.5 * fps))  # fmt: skip
    bounds.append(len(signal) - reversed_end)
    return [(int(a), int(b)) for a, b in itertools.pairwise(bounds)]


def knee_bend_peaks(
    knee_bend: np.ndarray, peaks: np.ndarray, fps: float, min_rep_s: float = 0.4
) -> np.ndarray | None:
    """The peaks of the image's knee bend ``(T,)`` (deg from rest) by the repetition rules
    (:func:`rep_peaks`, on its own level, each standing out by
    :data:`MIN_KNEE_PROMINENCE_DEG`) where they are the repetitions rather than
    ``peaks`` (frames): when they are more and one of them lies within
    :data:`KNEE_PEAK_WINDOW_S` of each of ``peaks``. Else ``None``: the knees add the
    squats the motion's peaks left out, they do not overrule them. Knees bending less
    than :data:`MIN_KNEE_BEND_DEG` give nothing."""
    level = activity_level(knee_bend)
    if level < MIN_KNEE_BEND_DEG:
        return None
    bends = rep_peaks(knee_bend, level, fps, min_rep_s)
    bends = bends[peak_prominences(knee_bend, bends)[0] >= MIN_KNEE_PROMINENCE_DEG]
    if len(bends) <= len(peaks):
        return None
    window = KNEE_PEAK_WINDOW_S * fps
    if any(np.abs(bends - peak).min() > window for peak in peaks):
        return None
    return bends


def activity_level(signal: np.ndarray) -> float:
    """The session's peak activity (deg): the 98th percentile of ``signal``, which the
    repetition thresholds are shares of (a stray frame does not set it)."""
    return float(np.percentile(signal, LEVEL_PERCENTILE))


def rep_peaks(signal: np.ndarray, level: float, fps: float, min_rep_s: float = 0.4) -> np.ndarray:
    """Frames of the repetitions' peaks in ``signal`` ``(T,)`` deg, for a session whose
    peak activity is ``level`` (:func:`segment_reps` has the rules)."""
    peaks, _ = find_peaks(
        signal,
        height=REP_HEIGHT * level,
        prominence=REP_PROMINENCE * level,
        distance=max(1, int(min_rep_s * fps)),
        width=min_rep_s * fps / 2,
    )
    return peaks


def trough_middle(signal: np.ndarray, left: int, right: int, level: float) -> int:
    """The boundary between repetitions peaking at frames ``left`` and ``right``: the
    middle of the frames of the trough between them within 10% of ``level`` of its
    lowest point."""
    trough = signal[left:right]
    low = np.flatnonzero(trough <= trough.min() + 0.1 * level)
    return int(left + (low[0] + low[-1] + 1) // 2)


def first_rep_start(signal: np.ndarray, peak: int, level: float, fps: float) -> int:
    """Where the first repetition (peaking at frame ``peak``) starts: half a second into
    the calm (below 20% of ``level``) before it."""
    return _calm_before(signal, peak, 0.2 * level, int(0.5 * fps))


def _calm_before(signal: np.ndarray, peak: int, calm: float, margin: int) -> int:
    """Where a repetition peaking at frame ``peak`` starts: ``margin`` frames into the
    calm (``signal`` below ``calm``) before it, or the recording's start."""
    quiet = np.flatnonzero(signal[:peak] < calm)
    return max(0, int(quiet[-1]) + 1 - margin) if quiet.size else 0


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
