"""Checking and cleaning 2D keypoint sequences before lifting.

Phone keypoints arrive as ``(T, J, 2)`` pixels with scores ``(T, J)`` in [0, 1]. A joint
that was not seen is NaN or has a low score. This module turns such a sequence into a
complete one: missing values are filled by linear interpolation in time from the same
joint's neighbours (held constant at the ends); a joint never seen in the whole sequence
is placed at the centre of the visible joints of each frame.
"""

from __future__ import annotations

import numpy as np

from pose3d.skeleton import Layout, convert_layout, get_layout

DEFAULT_MIN_SCORE = 0.3


def validate_keypoints(
    keypoints: np.ndarray, scores: np.ndarray | None, layout: str | Layout
) -> tuple[np.ndarray, np.ndarray, Layout]:
    """Check shapes and values; return float32 keypoints, scores and the layout.

    Args:
        keypoints: ``(T, J, 2)`` pixels; NaN marks a missing joint.
        scores: ``(T, J)`` confidences in [0, 1], or ``None`` (all 1).
        layout: Layout name of axis 1 (``"coco17"`` or ``"mediapipe33"``).

    Raises:
        ValueError: naming the problem (shape, joint count, layout, score range).
    """
    lay = get_layout(layout)
    if lay.parents is not None:
        raise ValueError(f"layout {lay.name!r} is a 3D output layout, not a 2D input layout")
    try:
        points = np.asarray(keypoints, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"keypoints must be numeric: {exc}") from None
    if points.ndim != 3 or points.shape[2] != 2:
        raise ValueError(f"keypoints must have shape (T, J, 2), got {points.shape}")
    if points.shape[0] < 1:
        raise ValueError("too few frames: got 0, need at least 1")
    if points.shape[1] != lay.num_joints:
        raise ValueError(
            f"layout {lay.name!r} has {lay.num_joints} joints but keypoints have {points.shape[1]}"
        )
    if scores is None:
        conf = np.ones(points.shape[:2], dtype=np.float32)
    else:
        conf = np.asarray(scores, dtype=np.float32)
        if conf.shape != points.shape[:2]:
            raise ValueError(f"scores must have shape {points.shape[:2]}, got {conf.shape}")
        finite = conf[np.isfinite(conf)]
        if finite.size and (finite.min() < 0 or finite.max() > 1):
            raise ValueError("scores must lie in [0, 1]")
        conf = np.nan_to_num(conf, nan=0.0)
    return points, conf, lay


def missing_mask(keypoints: np.ndarray, scores: np.ndarray, min_score: float) -> np.ndarray:
    """``(T, J)`` boolean: True where a joint is non-finite or scored below ``min_score``."""
    return ~np.isfinite(keypoints).all(axis=-1) | (scores < min_score)


def fill_missing(keypoints: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Fill missing joints of ``(T, J, C)`` by per-joint linear interpolation in time.

    A joint missing in every frame takes the centroid of the frame's present joints.
    Raises ``ValueError`` when every joint of every frame is missing.
    """
    if missing.all():
        raise ValueError("every keypoint is missing or below the score threshold")
    filled = np.array(keypoints, dtype=np.float32, copy=True)
    frames = np.arange(filled.shape[0])
    never_seen = []
    for joint in range(filled.shape[1]):
        present = ~missing[:, joint]
        if not present.any():
            never_seen.append(joint)
            continue
        if present.all():
            continue
        for axis in range(filled.shape[2]):
            filled[:, joint, axis] = np.interp(
                frames, frames[present], filled[present, joint, axis]
            )
    if never_seen:
        seen = [j for j in range(filled.shape[1]) if j not in never_seen]
        centroid = filled[:, seen].mean(axis=1)
        filled[:, never_seen] = centroid[:, None, :]
    return filled


def resample(sequence: np.ndarray, source_fps: float, target_fps: float) -> np.ndarray:
    """Linearly resample ``(T, ...)`` from ``source_fps`` to ``target_fps``.

    The output covers the same duration: ``floor((T - 1) * target / source) + 1`` frames.
    """
    if source_fps <= 0 or target_fps <= 0 or not np.isfinite([source_fps, target_fps]).all():
        raise ValueError(f"fps must be positive, got {source_fps} -> {target_fps}")
    length = sequence.shape[0]
    if length == 1 or source_fps == target_fps:
        return sequence
    source_times = np.arange(length) / source_fps
    count = int(np.floor((length - 1) * target_fps / source_fps + 1e-9)) + 1
    return resample_at(sequence, source_times, np.arange(count) / target_fps)


def resample_at(sequence: np.ndarray, times: np.ndarray, new_times: np.ndarray) -> np.ndarray:
    """Linear interpolation of ``(T, ...)`` sampled at ``times`` (s) onto ``new_times`` (s)."""
    flat = sequence.reshape(sequence.shape[0], -1)
    out = np.empty((len(new_times), flat.shape[1]), dtype=sequence.dtype)
    for column in range(flat.shape[1]):
        out[:, column] = np.interp(new_times, times, flat[:, column])
    return out.reshape((len(new_times), *sequence.shape[1:]))


def to_input_layout(
    keypoints: np.ndarray, scores: np.ndarray, layout: Layout, input_layout: str
) -> tuple[np.ndarray, np.ndarray]:
    """Convert keypoints ``(T, J, 2)`` and scores ``(T, J)`` to the model's input layout."""
    points = convert_layout(keypoints, layout, input_layout)
    conf = convert_layout(scores[..., None], layout, input_layout)[..., 0]
    return points, conf


# For each H36M-17 joint, the COCO-17 joints whose detections it is derived from.
_H36M_SCORE_SOURCES = (
    (11, 12), (12,), (14,), (16,), (11,), (13,), (15,), (5, 6, 11, 12), (5, 6), (0,),
    (1, 2, 3, 4), (5,), (7,), (9,), (6,), (8,), (10,),
)  # fmt: skip


def h36m_scores(scores: np.ndarray, layout: str = "coco17") -> np.ndarray:
    """2D confidence ``(T, 17)`` of each lifted H36M-17 joint: the mean score of the COCO-17
    detections it rests on (pelvis: both hips; thorax: both shoulders; ...).

    Args:
        scores: ``(T, J)`` detector scores in ``layout`` (e.g. MediaPipe-33 from the phone).
    """
    coco_scores = convert_layout(np.asarray(scores)[..., None], layout, "coco17")[..., 0]
    gathered = coco_scores[:, _SOURCE_INDEX]  # (T, 17, 4)
    return (gathered * _SOURCE_WEIGHT.astype(gathered.dtype, copy=False)).sum(axis=2)


def _score_sources() -> tuple[np.ndarray, np.ndarray]:
    """``(17, 4)`` source joints of each H36M joint (padded with its first) and their
    weights (1 / sources, 0 on the padding): the means of all joints in one gather, and
    a missing (NaN) score still only spoils the joints resting on it."""
    index = np.array([[*s, *[s[0]] * (4 - len(s))] for s in _H36M_SCORE_SOURCES])
    weight = np.array([[1 / len(s)] * len(s) + [0.0] * (4 - len(s)) for s in _H36M_SCORE_SOURCES])
    return index, weight


_SOURCE_INDEX, _SOURCE_WEIGHT = _score_sources()
