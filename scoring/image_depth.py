"""Squat depth as a coach reads it off the image: are the hips down at the knees, and how
bent are the knees?

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

Some people squat deep by the knee with the hips above the knees (heels up, shins far
forward), so the knee angle is read off the image too (:func:`knee_flexion_seen`): a
thigh or shank turned about the vertical keeps its height in the image, so its drop
below the joint above it, over its standing image length, is the cosine of its tilt
from the vertical whatever the camera's side; the thigh's and the shank's tilts add up
to the knee's flexion where the leg bends in a vertical plane, as in a squat. On CMU
subject 14's deep squats (the lifter's training squatter, 4 views, 2 seeds) the reading
is within -11..+6 deg of the capture's bottom (median -1), where the bundled lifter says
~100 for 157; on simulated squats, whose knees also swing out, it over-reads by a
median 6.5 and at most 24 deg (95th percentile 16; `scripts/image_knee_reading.py`),
hence the margin of :data:`IMAGE_KNEE_MARGIN_DEG`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from pose3d.nan_median import nan_median_rows
from pose3d.skeleton import MEDIAPIPE33
from scoring.checks import DEEP_ENOUGH_KNEE_FLEXION_DEG

# The hips' drop below the knees (shank lengths) that counts as a deep-enough squat
# whatever the view: the hip centre clearly under the knee centre (a thigh at parallel
# puts them level; a floor-level camera can raise the knees' image by ~0.15).
HIPS_BELOW_KNEES = 0.2
MIN_SCORE = 0.5  # landmarks seen less surely than this are not read
LEG_JOINTS = ("hip", "knee", "ankle")  # the landmarks of a leg's knee reading
MIN_FRAMES_S = 0.1  # frames past the mark needed (one noisy frame is not a squat)
# What the image's knee reading may over-read a squat's depth by (deg): about the 95th
# percentile (16) over simulated squats filmed with real MediaPipe's noise (knees swung out,
# so the leg is not quite in a vertical plane); a real squat read past the coach's depth
# by this much is deep enough.
IMAGE_KNEE_MARGIN_DEG = 15.0
SMOOTH_S = 0.2  # the knee reading's running median (noise would make every bottom deeper)
# A repetition's bottom is read off the image only where its knees were seen on this
# share of its frames: a person half out of frame would read as barely bending.
MIN_SEEN_SHARE = 0.8
# How far short of the user's own deepest other repetition (deg) a repetition the image
# shows above the coach's depth must stop to be a shallow squat. Two repetitions of one
# view read alike (the same legs, the same camera), so this is smaller than the reading's
# own error: the least margin that no correct repetition of the development data crosses
# (CMU 14's harness draws, simulated training and validation squats with real
# MediaPipe's noise; 12.5 deg: 2 of 148 correct simulated sessions), finding 79% of the
# simulated shallow repetitions where 25 deg found 52% (scripts/image_knee_reading.py).
IMAGE_SHALLOW_MARGIN_DEG = 15.0
# How much of its range a repetition must go down and come back up to be read: a part of a
# squat the repetition count cut off starts or ends at its deepest (0), while a session's
# last squat cut by the end of the recording on the way up still reads (CMU 14's squats
# joined as HDM05's cuts are: such shallow squats came 24-46% of the way back up).
WHOLE_SQUAT_SHARE = 0.2


def landmark_centre(keypoints: np.ndarray, scores: np.ndarray, joint: str) -> np.ndarray:
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
    lengths (negative above; NaN where the hips or knees are not seen, or no leg length).

    Where no ankle is seen (a phone that frames the user from the shins up), the thigh's
    standing length stands in for the shank's: the two are about equal in people (hip to
    knee ~0.245, knee to ankle ~0.246 of the height), and the hips and knees still show
    whether the squat went deep (CMU 14's squats joined as HDM05's cuts: a view whose
    ankles were out of frame drew a live "sit deeper" on its deep squats).

    Args:
        keypoints: ``(T, 33, 2)`` MediaPipe pixels (NaN where unseen; y grows downward).
        scores: ``(T, 33)`` MediaPipe confidences.
    """
    hips = landmark_centre(keypoints, scores, "hip")
    knees = landmark_centre(keypoints, scores, "knee")
    ankles = landmark_centre(keypoints, scores, "ankle")
    lengths = np.linalg.norm(knees - ankles, axis=1)  # the shank's
    if not np.isfinite(lengths).any():
        lengths = np.linalg.norm(hips - knees, axis=1)  # the thigh's: no ankle seen
        if not np.isfinite(lengths).any():
            return np.full(len(keypoints), np.nan)
    standing = np.nanpercentile(lengths, 90)  # the segment's full image length
    if not standing > 1.0:
        return np.full(len(keypoints), np.nan)
    return (hips[:, 1] - knees[:, 1]) / standing


def hips_reached_knees(drop: np.ndarray, fps: float) -> bool:
    """Whether the hips went clearly below the knees (:data:`HIPS_BELOW_KNEES`) for at
    least :data:`MIN_FRAMES_S` of the frames of ``drop`` (``(T,)``, :func:`hip_drop`)."""
    return _held(drop >= HIPS_BELOW_KNEES, fps)


def _held(passed: np.ndarray, fps: float) -> bool:
    """Whether ``passed`` (``(T,)`` bool) holds on at least :data:`MIN_FRAMES_S` of its
    frames (and 3): one noisy frame is not a squat."""
    return int(np.sum(passed)) >= max(3, round(MIN_FRAMES_S * fps))


def tilt_from_vertical(upper: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """``(T,)`` radians from the vertical of the segment from ``upper`` to ``lower``
    (``(T, 2)`` pixels, y down): the acos of its drop over its standing image length
    (the 90th percentile of its lengths; NaN where either end is unseen)."""
    segment = lower - upper
    lengths = np.linalg.norm(segment, axis=1)
    if not np.isfinite(lengths).any():
        return np.full(len(segment), np.nan)
    standing = np.nanpercentile(lengths, 90)
    if not standing > 1.0:
        return np.full(len(segment), np.nan)
    return np.arccos(np.clip(segment[:, 1] / standing, -1.0, 1.0))


def leg_flexions_seen(keypoints: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """``(2, T)`` each leg's (left, right) knee flexion (deg) read off the image, frame by
    frame: the thigh's and the shank's tilts from the vertical added up (NaN where the
    leg's hip, knee or ankle is not seen surely enough).

    Args:
        keypoints: ``(T, 33, 2)`` MediaPipe pixels (NaN where unseen; y grows downward).
        scores: ``(T, 33)`` MediaPipe confidences.
    """
    legs = []
    for side in ("left", "right"):
        index = [MEDIAPIPE33.index(f"{side}_{joint}") for joint in LEG_JOINTS]
        points = keypoints[:, index].astype(float)
        points[scores[:, index] < MIN_SCORE] = np.nan
        thigh = tilt_from_vertical(points[:, 0], points[:, 1])
        shank = tilt_from_vertical(points[:, 1], points[:, 2])
        legs.append(np.degrees(thigh + shank))
    return np.stack(legs)


def mean_of_seen(rows: np.ndarray) -> np.ndarray:
    """``(T,)`` the mean of ``rows`` ``(L, T)`` (e.g. legs by frame) over those seen in
    each column (NaN where none is)."""
    seen = np.isfinite(rows)
    mean = np.where(seen, rows, 0.0).sum(axis=0) / np.maximum(seen.sum(axis=0), 1)
    mean[~seen.any(axis=0)] = np.nan
    return mean


def running_median(reading: np.ndarray, fps: float) -> np.ndarray:
    """``(T,)`` ``reading`` under a running NaN-median of :data:`SMOOTH_S`."""
    half = max(1, round(SMOOTH_S * fps / 2))
    padded = np.pad(reading, half, constant_values=np.nan)
    return nan_median_rows(sliding_window_view(padded, 2 * half + 1))


def knee_flexion_seen(keypoints: np.ndarray, scores: np.ndarray, fps: float) -> np.ndarray:
    """``(T,)`` knee flexion (deg) read off the image: :func:`leg_flexions_seen` averaged
    over the legs seen in each frame, under a running median of :data:`SMOOTH_S` (NaN
    where no leg is seen).

    Args:
        keypoints: ``(T, 33, 2)`` MediaPipe pixels (NaN where unseen; y grows downward).
        scores: ``(T, 33)`` MediaPipe confidences.
        fps: frames per second.
    """
    return running_median(mean_of_seen(leg_flexions_seen(keypoints, scores)), fps)


def knee_bend_activity(keypoints: np.ndarray, scores: np.ndarray, fps: float) -> np.ndarray | None:
    """``(T,)`` how far the knees bend from their rest (deg), read off the image: the
    reading of :func:`knee_flexion_seen`, frames where no leg is seen filled in between the
    nearest seen ones, less its median over the first 0.3 s (a session starts standing, as
    :func:`scoring.alignment.activity` takes it). ``None`` where fewer than 3 frames show a
    leg. What squat repetitions are counted on where the motion's own peaks miss some
    (:func:`scoring.alignment.segment_reps`)."""
    flexion = knee_flexion_seen(keypoints, scores, fps)
    seen = np.flatnonzero(np.isfinite(flexion))
    if len(seen) < 3:
        return None
    filled = np.interp(np.arange(len(flexion)), seen, flexion[seen])
    return filled - np.median(filled[: max(3, int(0.3 * fps))])


def knees_bent_past(flexion: np.ndarray, threshold_deg: float, fps: float) -> bool:
    """Whether the image's knee reading ``flexion`` (``(T,)`` deg, :func:`knee_flexion_seen`)
    reached ``threshold_deg`` plus :data:`IMAGE_KNEE_MARGIN_DEG` for at least
    :data:`MIN_FRAMES_S` of its frames."""
    return _held(flexion >= threshold_deg + IMAGE_KNEE_MARGIN_DEG, fps)


def rep_bottoms_seen(
    keypoints: np.ndarray, scores: np.ndarray, fps: float, reps: Sequence[tuple[int, int]]
) -> np.ndarray:
    """``(R,)`` each repetition's deepest knee bend (deg) read off the image, NaN where
    its knees were seen on fewer than :data:`MIN_SEEN_SHARE` of its frames ``[start, end)``
    or where it did not go down and come back up (:func:`went_down_and_up`).

    Within a repetition the reading averages the same legs throughout where it can: those
    seen on that share of its frames (:func:`leg_flexions_seen`, each under a running
    median of :data:`SMOOTH_S`). The two legs of one view can read 20-25 deg apart (a
    knee swung out of the vertical plane), and an average that falls back on one leg
    while the other is hidden for a few frames jumps by half that, enough to make a
    repetition read deeper than the next ones.

    Args:
        keypoints: ``(T, 33, 2)`` MediaPipe pixels (NaN where unseen; y grows downward).
        scores: ``(T, 33)`` MediaPipe confidences.
        fps: frames per second.
        reps: each repetition's ``[start, end)`` frames.
    """
    legs = np.stack([running_median(leg, fps) for leg in leg_flexions_seen(keypoints, scores)])
    bottoms = np.full(len(reps), np.nan)
    for number, (start, end) in enumerate(reps):
        if end <= start:
            continue
        rep = legs[:, start:end]
        steady = np.isfinite(rep).mean(axis=1) >= MIN_SEEN_SHARE
        if steady.any():
            reading = rep[steady].mean(axis=0)
        else:  # each leg hidden in turn (a side view): whichever is seen
            reading = mean_of_seen(rep)
            if np.isfinite(reading).mean() < MIN_SEEN_SHARE:
                continue
        if np.isfinite(reading).any() and went_down_and_up(reading):
            bottoms[number] = np.nanmax(reading)
    return bottoms


def went_down_and_up(reading: np.ndarray) -> bool:
    """Whether a repetition's knee reading ``(N,)`` (deg, NaN where unread) went down to
    its deepest frame and came back up, each by at least :data:`WHOLE_SQUAT_SHARE` of its
    range. Where the repetition count cut a squat in two (CMU 14's squats joined as HDM05's
    cuts are, a view whose legs read 40-80 deg when standing: a "repetition" from the end
    of one squat's rise to the next one's descent), a part that starts or ends at its
    deepest is not a squat of its own, and its deepest frame would read as a shallow one
    (a false "sit deeper" on a correct session)."""
    bottom = int(np.nanargmax(reading))
    deepest = reading[bottom]
    reach = deepest - np.nanmin(reading)
    down = deepest - np.nanmin(reading[: bottom + 1])
    up = deepest - np.nanmin(reading[bottom:])
    return bool(min(down, up) >= WHOLE_SQUAT_SHARE * reach)


def own_reaches(bottoms: np.ndarray) -> np.ndarray:
    """``(R,)`` for each repetition, the deepest image bottom (deg) of the others in
    ``bottoms`` (``(R,)``, :func:`rep_bottoms_seen`); NaN where none was read."""
    reaches = np.full(len(bottoms), np.nan)
    for number in range(len(bottoms)):
        others = np.delete(bottoms, number)
        if np.isfinite(others).any():
            reaches[number] = np.nanmax(others)
    return reaches


def short_of_own_reach(
    bottoms: np.ndarray, reaches: np.ndarray, margin_deg: float = IMAGE_SHALLOW_MARGIN_DEG
) -> np.ndarray:
    """``(R,)`` bool: the repetitions the image shows under the coach's depth
    (:data:`~scoring.checks.DEEP_ENOUGH_KNEE_FLEXION_DEG`) and at least ``margin_deg``
    short of the user's own reach (``reaches``, :func:`own_reaches`, of ``bottoms``);
    False where either was not read."""
    with np.errstate(invalid="ignore"):
        return (reaches - bottoms >= margin_deg) & (bottoms < DEEP_ENOUGH_KNEE_FLEXION_DEG)
