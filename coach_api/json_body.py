"""JSON request bodies that carry keypoint frames, parsed without trusting their size.

``json.loads`` builds every value as a Python object before anything is validated: a
7.6 MiB body of ``[[[]], ...]`` grew the process by 670 MB. Here the body is streamed
through ijson's C parser once: the frames at one path go straight into a numpy array
``(T, J, 3)`` (NaN for ``null``) whose frame count, joints and value types are checked
as they arrive, and the parse stops at the first frame over the limit; everything else
(a few small fields) is built as usual, but its number of values and its nesting depth
are capped. Memory is bounded by the limits, not by what a client sends.

Bodies written the usual way take a faster road to the same result: their frames are read
in one go (:mod:`coach_api.frames_text`, ~25 ms instead of ~200 ms for a 60-s session)
and only the rest is streamed. Every other body, and every error, takes the streaming one.
"""

from __future__ import annotations

import ijson
import numpy as np
from ijson.common import ObjectBuilder

from coach_api.frames_text import PLACEHOLDER_VALUE, split_usual_frames

MAX_OTHER_VALUES = 100_000  # values outside the frames (beat times: up to 20,000)
MAX_DEPTH = 16  # nesting outside the frames (the documents we take have 3 levels)
ROW = 3  # [x, y, score]


class BodyError(ValueError):
    """The body is not what the route takes; ``field`` names where (``$`` the whole)."""

    def __init__(self, field: str, message: str, status: int = 422) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message, self.status = field, message, status


class _Frames:
    """Collects ``[[x, y, score], ...]`` frames into a growing ``(T, J, 3)`` array."""

    def __init__(self, field: str, max_frames: int, max_joints: int) -> None:
        self.field, self.max_frames, self.max_joints = field, max_frames, max_joints
        self.values = np.full((min(max_frames, 256), max_joints, ROW), np.nan)
        self.joints: list[int] = []  # joints per frame so far
        self.entry = 0  # entries seen in the current joint

    def _where(self, *parts: int) -> str:
        return self.field + "".join(f"[{p}]" for p in parts)

    def frame(self, event: str) -> None:
        t = len(self.joints)
        if event == "start_array":
            if t == self.max_frames:
                raise BodyError(self.field, f"more than {self.max_frames} frames", 413)
            if t == len(self.values):  # grow by doubling, up to the limit
                grown = min(2 * t, self.max_frames)
                extra = np.full((grown - t, self.max_joints, ROW), np.nan)
                self.values = np.concatenate([self.values, extra])
            self.joints.append(0)
        elif event != "end_array":
            raise BodyError(self._where(t), "must be a list of joints [x, y, score]")

    def joint(self, event: str) -> None:
        t, j = len(self.joints) - 1, self.joints[-1]
        if event == "start_array":
            if j == self.max_joints:
                raise BodyError(self._where(t), f"has more than {self.max_joints} joints")
            self.entry = 0
        elif event == "end_array":
            if self.entry != ROW:
                raise BodyError(self._where(t, j), "must be [x, y, score]")
            self.joints[-1] = j + 1
        else:
            raise BodyError(self._where(t, j), "must be [x, y, score]")

    def value(self, event: str, value: object) -> None:
        t, j, k = len(self.joints) - 1, self.joints[-1], self.entry
        if k == ROW:
            raise BodyError(self._where(t, j), "must be [x, y, score]")
        if event == "number":
            try:
                self.values[t, j, k] = float(value)
            except OverflowError:  # an integer with hundreds of digits
                raise BodyError(self._where(t, j, k), "must be a finite number") from None
        elif event != "null":
            raise BodyError(self._where(t, j, k), "must be a number (or null if unseen)")
        self.entry = k + 1

    def array(self) -> np.ndarray:
        """The frames ``(T, J, 3)``; every frame must have the same number of joints."""
        counts = set(self.joints)
        if len(counts) > 1:
            t = next(i for i, n in enumerate(self.joints) if n != self.joints[0])
            raise BodyError(
                self._where(t), f"has {self.joints[t]} joints, frame 0 has {self.joints[0]}"
            )
        joints = counts.pop() if counts else 0
        return self.values[: len(self.joints), :joints]


def read_body_with_frames(
    raw: bytes, frames_at: str, max_frames: int, max_joints: int = 33
) -> tuple[object, np.ndarray | None]:
    """Decode the JSON document ``raw``, taking the array at ``frames_at`` (a dotted path
    such as ``keypoints.frames``) as keypoint frames.

    Returns the document with ``[]`` in place of the frames, and the frames ``(T, J, 3)``
    (``None`` when the document has no array there). Raises :class:`BodyError` naming the
    field for malformed JSON, frames that are not lists of ``[x, y, score]`` numbers, more
    than ``max_frames`` frames (413) and oversized or too deeply nested other content.
    """
    usual = split_usual_frames(raw, frames_at.rsplit(".", 1)[-1], max_frames, max_joints)
    if usual is not None:
        rest, frames = usual
        try:
            document, _ = _stream(rest, frames_at, max_frames, max_joints)
        except BodyError:
            document = None  # the streaming road below words what is wrong
        if _take_placeholder(document, frames_at):
            return document, frames
    return _stream(raw, frames_at, max_frames, max_joints)


def _take_placeholder(document: object, frames_at: str) -> bool:
    """Put ``[]`` where the frames were, if the placeholder of the frames' text is at
    ``frames_at`` (else the text read was not the frames at that path)."""
    *parents, name = frames_at.split(".")
    for key in parents:
        document = document.get(key) if isinstance(document, dict) else None
    if not isinstance(document, dict) or document.get(name) != PLACEHOLDER_VALUE:
        return False
    document[name] = []
    return True


def _stream(
    raw: bytes, frames_at: str, max_frames: int, max_joints: int
) -> tuple[object, np.ndarray | None]:
    """:func:`read_body_with_frames` for any body: one pass of ijson's parser."""
    frame_at, joint_at, value_at = (
        f"{frames_at}.item",
        f"{frames_at}.item.item",
        f"{frames_at}.item.item.item",
    )
    frames: _Frames | None = None
    inside = False  # within the frames array
    builder, others, depth = ObjectBuilder(), 0, 0
    try:
        for prefix, event, value in ijson.parse(raw, use_float=True):
            if inside:
                if prefix == value_at:
                    frames.value(event, value)
                elif prefix == joint_at:
                    frames.joint(event)
                elif prefix == frame_at:
                    frames.frame(event)
                elif prefix == frames_at and event == "end_array":
                    inside = False
                    builder.event("start_array", None)  # the placeholder []
                    builder.event("end_array", None)
                continue
            if prefix == frames_at and event == "start_array":
                if frames is not None:
                    raise BodyError(frames_at, "is given twice")
                frames, inside = _Frames(frames_at, max_frames, max_joints), True
                continue
            others += 1
            if others > MAX_OTHER_VALUES:
                raise BodyError("$", f"has more than {MAX_OTHER_VALUES} values", 413)
            if event in ("start_map", "start_array"):
                depth += 1
                if depth > MAX_DEPTH:
                    raise BodyError(prefix or "$", f"nests deeper than {MAX_DEPTH} levels")
            elif event in ("end_map", "end_array"):
                depth -= 1
            builder.event(event, value)
    except ijson.JSONError as exc:
        raise BodyError("$", f"is not valid JSON ({str(exc)[:80]})") from None
    if not hasattr(builder, "value"):
        raise BodyError("$", "is empty; a JSON object is required")
    return builder.value, None if frames is None else frames.array()
