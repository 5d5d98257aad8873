"""The keypoint-sequence JSON the phone sends (API bodies, ``coach score`` inputs, fixtures)::

    {"layout": "mediapipe33", "fps": 30.0, "image_width": 1080, "image_height": 1920,
     "frames": [[[x, y, score], ...one per joint...], ...one per frame...]}

``x``, ``y`` in pixels, ``score`` in [0, 1]; a joint the phone did not see is
``[null, null, 0]``. Unknown keys are rejected. Errors name the offending field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pose3d.skeleton import get_layout

KEYS = ("layout", "fps", "image_width", "image_height", "frames")
INPUT_LAYOUTS = ("mediapipe33", "coco17")


class SequenceFormatError(ValueError):
    """A malformed keypoint sequence; ``field`` is the JSON path of the problem."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass
class KeypointSequence:
    """A parsed sequence: ``keypoints`` ``(T, J, 2)`` pixels (NaN unseen), ``scores`` ``(T, J)``."""

    layout: str
    fps: float
    image_width: int
    image_height: int
    keypoints: np.ndarray
    scores: np.ndarray

    @property
    def image_size(self) -> tuple[int, int]:
        return self.image_width, self.image_height

    @property
    def num_frames(self) -> int:
        return self.keypoints.shape[0]

    def to_json(self) -> dict:
        frames = []
        for points, scores in zip(self.keypoints, self.scores, strict=True):
            frames.append(
                [
                    [None, None, 0.0]
                    if not np.isfinite(p).all()
                    else [round(float(p[0]), 2), round(float(p[1]), 2), round(float(s), 3)]
                    for p, s in zip(points, scores, strict=True)
                ]
            )
        return {
            "layout": self.layout,
            "fps": self.fps,
            "image_width": self.image_width,
            "image_height": self.image_height,
            "frames": frames,
        }


def _number(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SequenceFormatError(field, f"must be a finite number, got {value!r}")
    return float(value)


def parse_sequence(
    data: object, *, min_frames: int = 1, max_frames: int = 36_000
) -> KeypointSequence:
    """Validate and convert the JSON object ``data`` (already decoded)."""
    if not isinstance(data, dict):
        raise SequenceFormatError("$", "must be a JSON object")
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise SequenceFormatError(unknown[0], f"unknown key (expected only {', '.join(KEYS)})")
    for key in KEYS:
        if key not in data:
            raise SequenceFormatError(key, "is required")
    layout = data["layout"]
    if layout not in INPUT_LAYOUTS:
        raise SequenceFormatError(
            "layout", f"must be one of {', '.join(INPUT_LAYOUTS)}, got {layout!r}"
        )
    joints = get_layout(layout).num_joints
    fps = _number(data["fps"], "fps")
    if fps <= 0 or fps > 240:
        raise SequenceFormatError("fps", f"must be in (0, 240], got {fps}")
    size = []
    for key in ("image_width", "image_height"):
        value = _number(data[key], key)
        if value <= 0 or value != int(value):
            raise SequenceFormatError(key, f"must be a positive integer, got {data[key]!r}")
        size.append(int(value))
    frames = data["frames"]
    if not isinstance(frames, list):
        raise SequenceFormatError("frames", "must be a list of frames")
    if not min_frames <= len(frames) <= max_frames:
        raise SequenceFormatError(
            "frames", f"needs {min_frames} to {max_frames} frames, got {len(frames)}"
        )
    keypoints = np.full((len(frames), joints, 2), np.nan, dtype=np.float32)
    scores = np.zeros((len(frames), joints), dtype=np.float32)
    for t, frame in enumerate(frames):
        if not isinstance(frame, list) or len(frame) != joints:
            got = len(frame) if isinstance(frame, list) else type(frame).__name__
            raise SequenceFormatError(
                f"frames[{t}]", f"must list {joints} joints for {layout}, got {got}"
            )
        for j, joint in enumerate(frame):
            field = f"frames[{t}][{j}]"
            if not isinstance(joint, list) or len(joint) != 3:
                raise SequenceFormatError(field, "must be [x, y, score]")
            x, y, score = joint
            score = _number(score, f"{field}[2]")
            if not 0 <= score <= 1:
                raise SequenceFormatError(f"{field}[2]", f"score must be in [0, 1], got {score}")
            if x is None and y is None:
                continue
            keypoints[t, j] = (_number(x, f"{field}[0]"), _number(y, f"{field}[1]"))
            scores[t, j] = score
    if not np.isfinite(keypoints).any():
        raise SequenceFormatError("frames", "every joint of every frame is missing")
    return KeypointSequence(layout, fps, size[0], size[1], keypoints, scores)
