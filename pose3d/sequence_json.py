"""The keypoint-sequence JSON the phone sends (API bodies, ``coach score`` inputs, fixtures)::

    {"layout": "mediapipe33", "fps": 30.0, "image_width": 1080, "image_height": 1920,
     "frames": [[[x, y, score], ...one per joint...], ...one per frame...]}

``x``, ``y`` in pixels, ``score`` in [0, 1]; a joint the phone did not see is
``[null, null, 0]``. Unknown keys are rejected. Errors name the offending field.
"""

from __future__ import annotations

import itertools
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
    """A parsed sequence: ``keypoints`` ``(T, J, 2)`` pixels (NaN unseen), ``scores`` ``(T, J)``;
    ``notes``: what making it did, in plain words for the user (a video's extraction)."""

    layout: str
    fps: float
    image_width: int
    image_height: int
    keypoints: np.ndarray
    scores: np.ndarray
    notes: tuple[str, ...] = ()

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


MIN_FPS, MAX_FPS = 5.0, 240.0  # what phone cameras film at
MAX_IMAGE_SIDE = 16_384  # pixels; larger "images" are not a camera's
# Keypoints may lie outside the image (a joint out of frame), but not by more than this
# many image sizes: beyond it a coordinate is garbage (and 1e300 overflows float32).
MAX_OUTSIDE = 4.0


def _number(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SequenceFormatError(field, f"must be a finite number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:  # an integer with hundreds of digits
        raise SequenceFormatError(field, "must be a finite number, got a huge one") from None
    if not math.isfinite(number):
        raise SequenceFormatError(field, f"must be a finite number, got {value!r}")
    return number


def _image_side(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SequenceFormatError(field, f"must be a positive integer, got {value!r}")
    if not (isinstance(value, int) or (math.isfinite(value) and value == int(value))):
        raise SequenceFormatError(field, f"must be a positive integer, got {value!r}")
    if not 1 <= value <= MAX_IMAGE_SIDE:
        raise SequenceFormatError(field, f"must be in 1..{MAX_IMAGE_SIDE} pixels")
    return int(value)


def check_header(
    layout: object,
    fps: object,
    image_width: object,
    image_height: object,
    *,
    min_fps: float = MIN_FPS,
    max_fps: float = MAX_FPS,
) -> tuple[str, float, int, int]:
    """Validated ``(layout, fps, image_width, image_height)``; SequenceFormatError naming
    the field otherwise."""
    if layout not in INPUT_LAYOUTS:
        shown = repr(layout)[:40]
        raise SequenceFormatError(
            "layout", f"must be one of {', '.join(INPUT_LAYOUTS)}, got {shown}"
        )
    rate = _number(fps, "fps")
    if not min_fps <= rate <= max_fps:
        raise SequenceFormatError("fps", f"must be in [{min_fps:g}, {max_fps:g}], got {rate:g}")
    return (
        layout,
        rate,
        _image_side(image_width, "image_width"),
        _image_side(image_height, "image_height"),
    )


def sequence_from_array(
    layout: object,
    fps: object,
    image_width: object,
    image_height: object,
    frames: np.ndarray,
    *,
    min_frames: int = 1,
    max_frames: int = 36_000,
    min_fps: float = MIN_FPS,
    max_fps: float = MAX_FPS,
) -> KeypointSequence:
    """Validate a sequence whose frames are already numbers: ``frames`` ``(T, J, 3)`` of
    ``[x, y, score]`` (pixels, pixels, [0, 1]), NaN where the JSON had ``null``.

    Checks are vectorised; errors name the first offending field (``frames[5][3][2]``).
    """
    layout, fps, width, height = check_header(
        layout, fps, image_width, image_height, min_fps=min_fps, max_fps=max_fps
    )
    joints = get_layout(layout).num_joints
    if not min_frames <= len(frames) <= max_frames:
        raise SequenceFormatError(
            "frames", f"needs {min_frames} to {max_frames} frames, got {len(frames)}"
        )
    if frames.ndim != 3 or frames.shape[1:] != (joints, 3):
        got = frames.shape[1] if frames.ndim == 3 else "?"
        raise SequenceFormatError("frames[0]", f"must list {joints} joints for {layout}, got {got}")
    x, y, score = frames[..., 0], frames[..., 1], frames[..., 2]
    _first_bad(~np.isfinite(score), "[2]", "score must be a number")
    _first_bad((score < 0) | (score > 1), "[2]", "score must be in [0, 1]")
    half = "x and y must both be numbers, or both null for an unseen joint"
    _first_bad(np.isnan(x) & ~np.isnan(y), "[0]", half)
    _first_bad(np.isnan(y) & ~np.isnan(x), "[1]", half)
    _first_bad(np.isinf(x) | np.isinf(y), "", "coordinates must be finite")
    limit = MAX_OUTSIDE * max(width, height)
    outside = (np.abs(x - width / 2) > limit) | (np.abs(y - height / 2) > limit)
    _first_bad(outside, "", f"coordinates must be within {MAX_OUTSIDE:g} image sizes")
    seen = ~np.isnan(x)
    if not seen.any():
        raise SequenceFormatError("frames", "every joint of every frame is missing")
    keypoints = np.where(seen[..., None], frames[..., :2], np.nan).astype(np.float32)
    scores = np.where(seen, score, 0.0).astype(np.float32)
    return KeypointSequence(layout, fps, width, height, keypoints, scores)


FLOAT32_BYTES = 4
BINARY_VALUES = "<f4"  # little-endian float32, what phones' Float32 arrays hold


def values_from_float32(data: bytes, joints: int, max_frames: int) -> np.ndarray:
    """``(T, joints, 3)`` float64 of frames sent as bytes: little-endian float32, frame
    by frame, joint by joint, ``[x, y, score]`` (NaN x and y for an unseen joint, where
    the JSON has ``null``). Only the size is checked here: :func:`sequence_from_array`
    checks the values, as for JSON. SequenceFormatError ``frames`` when the bytes are not
    1 to ``max_frames`` whole frames."""
    frame_bytes = joints * 3 * FLOAT32_BYTES
    count, rest = divmod(len(data), frame_bytes)
    if rest or not 1 <= count <= max_frames:
        raise SequenceFormatError(
            "frames",
            f"a binary batch is 1 to {max_frames} frames of {joints} joints x [x, y, score] "
            f"as little-endian float32 ({frame_bytes} bytes a frame), got {len(data)} bytes",
        )
    return np.frombuffer(data, BINARY_VALUES).astype(np.float64).reshape(count, joints, 3)


def _first_bad(bad: np.ndarray, suffix: str, message: str) -> None:
    """Raise naming the first ``(frame, joint)`` where ``bad`` ``(T, J)`` is true."""
    if bad.any():
        t, j = np.argwhere(bad)[0]
        raise SequenceFormatError(f"frames[{t}][{j}]{suffix}", message)


_PLAIN_NUMBERS = {int, float}  # not bool (an int subclass), not str


def _plain_values(frames: list, joints: int) -> np.ndarray | None:
    """``(T, joints, 3)`` float64 of ``frames`` (NaN for a null x or y) when every frame
    is a list of ``joints`` ``[x, y, score]`` lists of plain numbers or nulls (x and y
    only) that float64 holds; ``None`` otherwise (:func:`_checked_values` names the fault).
    One pass in C over the values instead of a Python call each (the live socket parses
    every phone's frames)."""
    if not all(type(frame) is list and len(frame) == joints for frame in frames):
        return None
    points = list(itertools.chain.from_iterable(frames))
    if not all(type(point) is list and len(point) == 3 for point in points):
        return None
    flat = list(itertools.chain.from_iterable(points))
    types = set(map(type, flat))
    nulls = type(None) in types
    if not types - {type(None)} <= _PLAIN_NUMBERS or (nulls and any(p[2] is None for p in points)):
        return None  # not a number (a score must be one)
    try:
        values = np.array([0.0 if v is None else v for v in flat] if nulls else flat, np.float64)
    except OverflowError:  # an integer with hundreds of digits
        return None
    if not np.isfinite(values).all():  # NaN or Infinity, which Python's JSON accepts
        return None
    if nulls:
        values[np.fromiter((v is None for v in flat), bool, len(flat))] = np.nan
    return values.reshape(len(frames), joints, 3)


def _checked_values(frames: list, joints: int, layout: str) -> np.ndarray:
    """``(T, joints, 3)`` float64 of ``frames`` checked value by value; a
    SequenceFormatError naming the first fault."""
    values = np.full((len(frames), joints, 3), np.nan)
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
            for k, value in enumerate(joint):
                if value is not None or k == 2:
                    values[t, j, k] = _number(value, f"{field}[{k}]")
    return values


def parse_sequence(
    data: object,
    *,
    min_frames: int = 1,
    max_frames: int = 36_000,
    min_fps: float = MIN_FPS,
    max_fps: float = MAX_FPS,
) -> KeypointSequence:
    """Validate and convert the JSON object ``data`` (already decoded)."""
    if not isinstance(data, dict):
        raise SequenceFormatError("$", "must be a JSON object")
    unknown = sorted(str(key) for key in set(data) - set(KEYS))
    if unknown:
        raise SequenceFormatError(unknown[0][:40], f"unknown key (expected only {', '.join(KEYS)})")
    for key in KEYS:
        if key not in data:
            raise SequenceFormatError(key, "is required")
    layout, _, _, _ = check_header(
        data["layout"],
        data["fps"],
        data["image_width"],
        data["image_height"],
        min_fps=min_fps,
        max_fps=max_fps,
    )
    joints = get_layout(layout).num_joints
    frames = data["frames"]
    if not isinstance(frames, list):
        raise SequenceFormatError("frames", "must be a list of frames")
    if not min_frames <= len(frames) <= max_frames:
        raise SequenceFormatError(
            "frames", f"needs {min_frames} to {max_frames} frames, got {len(frames)}"
        )
    values = _plain_values(frames, joints)
    if values is None:  # something is off: find it and name it
        values = _checked_values(frames, joints, layout)
    return sequence_from_array(
        layout,
        data["fps"],
        data["image_width"],
        data["image_height"],
        values,
        min_frames=min_frames,
        max_frames=max_frames,
        min_fps=min_fps,
        max_fps=max_fps,
    )
