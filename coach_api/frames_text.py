"""The frames of a keypoint body read in one go, when their text has the usual shape.

Streaming the frames through ijson (:mod:`coach_api.json_body`) costs a parser event and
a Python call per bracket and number: ~200 ms of CPU for a 60-s session, most of what
reading a request costs. Bodies as phones and ``json.dumps`` write them (numbers and
``null`` in ``[x, y, score]`` triples, at most a space after each comma, no escapes
anywhere in the body) are read here instead: the frames' brackets and commas are
compared byte for byte with those of T frames of J joints, then the numbers are
converted by orjson (JSON's numbers only: no ``+1``, ``01``, ``.5`` or ``NaN``), a block
of frames at a time so that the Python floats in memory stay few. Anything else gives
``None``: the streaming parser then reads the body, and words what is wrong with it.
"""

from __future__ import annotations

import re

import numpy as np
import orjson

# Stands for the frames while the rest of the body is parsed. No client can send it: it
# is written with an escape, and bodies with escapes are not read here.
PLACEHOLDER = b'"\\u0000frames"'
PLACEHOLDER_VALUE = "\x00frames"
VALUE_BYTES = b"0123456789.-+eEnul"  # what numbers and null are written with
FRAME_BYTES = VALUE_BYTES + b"[],"
AS_V = bytes.maketrans(VALUE_BYTES, b"v" * len(VALUE_BYTES))
BLOCK = 1024  # frames converted at a time (~100,000 Python floats)


def split_usual_frames(
    raw: bytes, key: str, max_frames: int, max_joints: int
) -> tuple[bytes, np.ndarray] | None:
    """``raw`` with the array of its one ``"key": [...]`` replaced by :data:`PLACEHOLDER`,
    and that array as frames ``(T, J, 3)`` (NaN for ``null``); ``None`` unless the body
    has the usual shape, with 1 to ``max_frames`` frames of 1 to ``max_joints`` joints."""
    name = b'"%s"' % key.encode()
    if b"\\" in raw or raw.count(name) != 1:
        return None
    found = re.search(re.escape(name) + rb"\s*:\s*\[", raw)
    if found is None:
        return None
    start = found.end() - 1
    end = raw.find(b"]]]", start) + 3  # the first "]]]" closes the frames (if usual)
    if end < 3:
        return None
    frames = _usual_frames(raw[start:end], max_frames, max_joints)
    if frames is None:
        return None
    return raw[:start] + PLACEHOLDER + raw[end:], frames


def _usual_frames(text: bytes, max_frames: int, max_joints: int) -> np.ndarray | None:
    """The frames ``(T, J, 3)`` of the array ``text``, if it is T frames of J joints of
    three numbers or nulls; else ``None``."""
    compact = text.replace(b", ", b",")
    if compact.translate(None, FRAME_BYTES):  # other spacing, strings, objects, true...
        return None
    skeleton = compact.translate(None, VALUE_BYTES)  # "[[[,,],[,,]],[[,,],[,,]]]"
    joints = skeleton[: skeleton.find(b"]]")].count(b"[") - 2  # in the first frame
    frame = b"[" + b",".join([b"[,,]"] * joints) + b"]"
    count = (len(skeleton) - 1) // (len(frame) + 1)
    if not (0 < joints <= max_joints and 0 < count <= max_frames):
        return None
    if skeleton != b"[" + b",".join([frame] * count) + b"]":
        return None
    del skeleton  # each copy of the text goes once checked (a few at a time at most)
    marked = compact.translate(AS_V)
    if b"v[" in marked or b"]v" in marked:  # a value outside a joint: "[1[", "]2,"
        return None
    del marked
    rows = compact[3:-3].split(b"]],[[")  # one per frame: "x,y,s],[x,y,s],..."
    frames = np.empty((count, joints, 3))
    for first in range(0, count, BLOCK):
        numbers = b",".join(rows[first : first + BLOCK]).translate(None, b"[]")
        try:
            values = orjson.loads(b"[" + numbers + b"]")
        except orjson.JSONDecodeError:  # not JSON numbers (an empty slot, "1.", "nul")
            return None
        block = np.array(values, dtype=np.float64)  # None (null) -> NaN
        frames[first : first + BLOCK] = block.reshape(-1, joints, 3)
    return frames
