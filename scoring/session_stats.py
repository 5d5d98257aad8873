"""Per-session statistics for drift monitoring: what scoring saw and what it said.

One flat ``{name: float}`` per scored session, computed the same way for production
sessions (the API stores them, ``session_stats``, and exports them to Prometheus) and
for the training clips (``coach drift-reference``), so the two distributions can be
compared statistic by statistic (``coach dataflow drift``).

Inputs (what the phone sent and what the lifter made of it):

=========================  =======  ============================================================
name                       unit     what
=========================  =======  ============================================================
``confidence_mean``        0-1      mean 2D detector confidence over every joint of every frame
``confidence_p10``         0-1      10th percentile over frames of the frame's mean confidence
``missing_joint_share``    0-1      share of (frame, joint) unseen or below the lifter's
                                    ``DEFAULT_MIN_SCORE`` (what the lifter fills in)
``swap_repaired_share``    0-1      share of frames whose left/right labels the front end undid
``other_person_share``     0-1      share of frames the front end blanked (someone else)
``camera_yaw_deg``         deg      median over frames of the angle between the person's
                                    facing and the camera axis (0 facing it, 90 side-on, 180
                                    back; unsigned), from the lifted hips and spine
``camera_distance``        ratio    median over frames of the confident keypoints' bounding
                                    box, its longer side (px) over the image height (px): the
                                    body's size in the picture, smaller the farther away
``fps``                    1/s      frame rate of the keypoints
``body_height_m``          m        shin + thigh (mean of both sides) + pelvis-to-head chain,
                                    each bone its median lifted length
``movement_m_per_s``       m/s      mean speed of the joints relative to the pelvis
``duration_s``             s        session length
=========================  =======  ============================================================

Outputs (what scoring said):

=================================  ========  =================================================
``score``                          0-100     the overall score
``cues_per_min.<kind>``            1/min     cues of each error kind (every kind, zeros too)
``detector_p_mean.<kind>``         0-1       mean learned-detector probability over the units
``detector_p_max.<kind>``          0-1       the largest; only kinds the detector judged
=================================  ========  =================================================

A statistic that cannot be computed for a session (no frame with two confident
keypoints for ``camera_distance``) is left out rather than given a made-up value.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pose3d.keypoints import DEFAULT_MIN_SCORE
from pose3d.skeleton import H36M17, bone_lengths
from scoring.checks import ALL_KINDS
from scoring.features import facing_yaw

INPUT_STATISTICS = (
    "confidence_mean",
    "confidence_p10",
    "missing_joint_share",
    "swap_repaired_share",
    "other_person_share",
    "camera_yaw_deg",
    "camera_distance",
    "fps",
    "body_height_m",
    "movement_m_per_s",
    "duration_s",
)
CUES_PER_MIN = "cues_per_min"
DETECTOR_P_MEAN = "detector_p_mean"
DETECTOR_P_MAX = "detector_p_max"
# H36M-17 bones (indices into H36M17.bones) of the standing-height chain.
_SHIN_THIGH = {"right": (1, 2), "left": (4, 5)}  # hip-knee, knee-ankle
_TRUNK_HEAD = (6, 7, 8, 9)  # pelvis-spine, spine-thorax, thorax-neck, neck-head


class ScoredInput(NamedTuple):
    """The 2D a session was scored from, and what the 2D front end repaired.

    Attributes:
        keypoints: ``(T, J, 2)`` pixels as received, NaN where unseen.
        scores: ``(T, J)`` detector confidences in [0, 1] as received.
        image_size: ``(width, height)`` pixels.
        fps: Frames per second.
        swap_repaired_frames: Frames whose left/right labels the front end exchanged back.
        other_person_frames: Frames the front end blanked because they showed someone else.
    """

    keypoints: np.ndarray
    scores: np.ndarray
    image_size: tuple[int, int]
    fps: float
    swap_repaired_frames: int = 0
    other_person_frames: int = 0


def session_statistics(
    seen: ScoredInput,
    poses: np.ndarray,
    report: dict,
    detector_probabilities: dict[str, np.ndarray] | None = None,
) -> dict[str, float]:
    """The session's statistics (module docstring: names and units).

    Args:
        seen: The 2D as received and the front end's repairs.
        poses: ``(T, 17, 3)`` lifted H36M-17 poses, metres, camera space, at ``seen.fps``.
        report: The report's JSON (``score``, ``errors``, ``duration_s``).
        detector_probabilities: Per error kind, the learned detector's ``(U,)``
            probabilities (:attr:`scoring.report.SessionReport.detector_probabilities`).
    """
    stats = _input_statistics(seen, np.asarray(poses, dtype=np.float64))
    stats.update(_output_statistics(report, detector_probabilities or {}))
    return {name: round(float(value), 6) for name, value in stats.items()}


def _input_statistics(seen: ScoredInput, poses: np.ndarray) -> dict[str, float]:
    keypoints = np.asarray(seen.keypoints, dtype=np.float64)
    scores = np.nan_to_num(np.asarray(seen.scores, dtype=np.float64), nan=0.0)
    frames = len(scores)
    seen_joint = np.isfinite(keypoints).all(axis=-1) & (scores >= DEFAULT_MIN_SCORE)
    stats = {
        "confidence_mean": scores.mean(),
        "confidence_p10": np.percentile(scores.mean(axis=1), 10),
        "missing_joint_share": 1.0 - seen_joint.mean(),
        "swap_repaired_share": seen.swap_repaired_frames / frames,
        "other_person_share": seen.other_person_frames / frames,
        "camera_yaw_deg": np.median(facing_yaw(poses)),
        "fps": seen.fps,
        "body_height_m": _body_height(poses),
        # Lifted poses are root-relative: this is the body's own motion, not walking about.
        "movement_m_per_s": np.linalg.norm(np.diff(poses, axis=0), axis=-1).mean() * seen.fps,
        "duration_s": frames / seen.fps,
    }
    distance = _camera_distance(keypoints, seen_joint, seen.image_size[1])
    if distance is not None:
        stats["camera_distance"] = distance
    return stats


def _body_height(poses: np.ndarray) -> float:
    """Standing height without the feet (m): median bone lengths along ankle-to-head."""
    lengths = np.median(bone_lengths(poses, H36M17), axis=0)  # (16,) m
    legs = np.mean([lengths[list(bones)].sum() for bones in _SHIN_THIGH.values()])
    return float(legs + lengths[list(_TRUNK_HEAD)].sum())


def _camera_distance(
    keypoints: np.ndarray, seen_joint: np.ndarray, image_height: int
) -> float | None:
    """Median over frames with two confident joints of the bounding box's longer side
    over the image height; None without such a frame."""
    usable = seen_joint.sum(axis=1) >= 2
    if not usable.any():
        return None
    points = np.where(seen_joint[usable, :, None], keypoints[usable], np.nan)
    spans = np.nanmax(points, axis=1) - np.nanmin(points, axis=1)  # (T', 2) px
    return float(np.median(spans.max(axis=1)) / image_height)


def _output_statistics(report: dict, probabilities: dict[str, np.ndarray]) -> dict[str, float]:
    minutes = max(float(report["duration_s"]), 1e-9) / 60.0
    counts = dict.fromkeys(ALL_KINDS, 0)
    for error in report["errors"]:
        if error["kind"] in counts:  # a kind this code does not know stays out: bounded names
            counts[error["kind"]] += 1
    stats = {"score": float(report["score"])}
    stats |= {f"{CUES_PER_MIN}.{kind}": count / minutes for kind, count in counts.items()}
    for kind, values in probabilities.items():
        if kind in counts and len(values):
            stats[f"{DETECTOR_P_MEAN}.{kind}"] = float(np.mean(values))
            stats[f"{DETECTOR_P_MAX}.{kind}"] = float(np.max(values))
    return stats
