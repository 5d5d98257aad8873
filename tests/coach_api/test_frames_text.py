"""Reading the frames of usual keypoint bodies in one go (coach_api/frames_text.py) gives
exactly what the streaming parser gives; every other body is left to the streaming parser."""

from __future__ import annotations

import json

import numpy as np
import pytest

from coach_api.frames_text import split_usual_frames
from coach_api.json_body import BodyError, _stream, read_body_with_frames

PATH = "keypoints.frames"
MAX_FRAMES, MAX_JOINTS = 50, 33


def _body(frames: list, separators=(", ", ": "), indent=None, **extra) -> bytes:
    keypoints = {"layout": "mediapipe33", "fps": 30.0, "image_width": 1080, "image_height": 1920}
    document = {"routine_id": 7, "keypoints": keypoints | {"frames": frames}} | extra
    return json.dumps(document, separators=separators, indent=indent).encode()


def _frames(count: int = 4, joints: int = 33, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    values = rng.uniform(-500, 1500, (count, joints, 3))
    values[..., 2] = rng.uniform(0, 1, (count, joints))
    frames = values.tolist()
    frames[0][0] = [None, None, 0]  # unseen
    frames[-1][1] = [3, -0.0, 1]  # integers and a negative zero
    frames[-1][2] = [1.5e-05, 2.5e20, 0.25]  # exponents, as json.dumps writes them
    return frames


def _same_as_streaming(raw: bytes) -> None:
    """``read_body_with_frames`` answers exactly as the streaming parser alone does."""
    try:
        expected = _stream(raw, PATH, MAX_FRAMES, MAX_JOINTS)
    except BodyError as error:
        with pytest.raises(BodyError) as raised:
            read_body_with_frames(raw, PATH, MAX_FRAMES, MAX_JOINTS)
        assert (raised.value.field, raised.value.message, raised.value.status) == (
            error.field,
            error.message,
            error.status,
        )
        return
    document, frames = read_body_with_frames(raw, PATH, MAX_FRAMES, MAX_JOINTS)
    assert document == expected[0]
    if expected[1] is None:
        assert frames is None
    else:
        np.testing.assert_array_equal(frames, expected[1])  # NaN where null, bit for bit
        assert frames.dtype == expected[1].dtype


USUAL = {
    "json.dumps": _body(_frames()),
    "compact separators": _body(_frames(), separators=(",", ":")),
    "17 joints": _body(_frames(joints=17)),
    "one frame": _body(_frames(count=1)),
    "most frames": _body(_frames(count=MAX_FRAMES)),
    "beats after the frames": _body(_frames(), beat_times=[0.5, 1.0, 1.5]),
}


@pytest.mark.parametrize("raw", USUAL.values(), ids=USUAL.keys())
def test_usual_bodies_are_read_in_one_go_with_the_same_result(raw):
    assert split_usual_frames(raw, "frames", MAX_FRAMES, MAX_JOINTS) is not None
    _same_as_streaming(raw)


FRAME = "[[1, 2, 0.5], [3, 4, 0.5]]"
OTHERS = {
    # Valid JSON the one-go reader leaves to the streaming parser.
    "pretty-printed": _body(_frames(), indent=2),
    "escapes elsewhere": _body(_frames(), name="Caf\u00e9"),
    "frames elsewhere too": _body(_frames(), other={"frames": [[[1, 2, 3]]]}),
    "frames at another path": json.dumps({"keypoints": {}, "x": {"frames": _frames()}}).encode(),
    "a space before a comma": _body(_frames()).replace(b", 0", b" , 0", 1),
    # Not JSON, or not frames: the streaming parser words the error.
    "plus sign": _body(_frames()).replace(b"[3, ", b"[+3, "),
    "leading zero": _body(_frames()).replace(b"[3, ", b"[03, "),
    "bare fraction": _body(_frames()).replace(b"[3, ", b"[.3, "),
    "trailing dot": _body(_frames()).replace(b"[3, ", b"[3., "),
    "minus null": _body(_frames()).replace(b"[null, ", b"[-null, "),
    "nul": _body(_frames()).replace(b"[null, ", b"[nul, "),
    "NaN": _body(_frames()).replace(b"[3, ", b"[NaN, "),
    "true": _body(_frames()).replace(b"[3, ", b"[true, "),
    "string": _body(_frames()).replace(b"[3, ", b'["3", '),
    "empty slot": _body(_frames()).replace(b"[3, ", b"[, "),
    "value after a joint": _body([[[1, 2, 0.5], [3, 4, 0.5]]] * 3).replace(b"], [", b"]7, [", 1),
    "value before a joint": _body([[[1, 2, 0.5], [3, 4, 0.5]]] * 3).replace(b"], [", b"], 7[", 1),
    "value after the frames": _body([[[1, 2, 0.5]]]).replace(b"]]]", b"]5]]"),
    "value between frames": f'{{"keypoints": {{"frames": [{FRAME}, 7, {FRAME}]}}}}'.encode(),
    "value before a frame": f'{{"keypoints": {{"frames": [1{FRAME}]}}}}'.encode(),
    "two values": _body([[[1, 2]] * 33] * 3),
    "four values": _body([[[1, 2, 0.5, 9]] * 33] * 3),
    "ragged joints": _body([[[1, 2, 0.5]] * 33, [[1, 2, 0.5]] * 32]),
    "too many joints": _body([[[1, 2, 0.5]] * 34] * 3),
    "too many frames": _body(_frames(count=MAX_FRAMES + 1)),
    "deeper": _body([[[[1], 2, 0.5]] * 33] * 3),
    "no frames": _body([]),
    "empty frames": _body([[]] * 3),
    "frames given twice": f'{{"keypoints": {{"frames": [{FRAME}], "frames": []}}}}'.encode(),
    "truncated": _body(_frames())[:-10],
    "placeholder sent": _body("\x00frames"),
}


@pytest.mark.parametrize("raw", OTHERS.values(), ids=OTHERS.keys())
def test_other_bodies_are_read_by_the_streaming_parser(raw):
    _same_as_streaming(raw)


def test_random_edits_of_a_usual_body_read_as_the_streaming_parser_reads_them():
    """Bytes of the frames' own alphabet inserted, deleted or replaced at random: whatever
    the one-go reader accepts, it reads exactly as the streaming parser does."""
    rng = np.random.default_rng(0)
    raw = _body([[[1, 2, 0.5], [3.25, -4, None]], [[5e-05, 6, 1], [7, 8, 0]]] * 2)
    start, end = raw.index(b"[[["), raw.index(b"]]]") + 3
    alphabet = b"0123456789.-+eEnul[], "
    taken = 0
    for _ in range(3000):
        edited = bytearray(raw)
        for _ in range(rng.integers(1, 4)):
            at = int(rng.integers(start, min(end, len(edited))))
            byte = alphabet[rng.integers(len(alphabet))]
            kind = rng.integers(3)
            if kind == 0:
                edited.insert(at, byte)
            elif kind == 1:
                del edited[at]
            else:
                edited[at] = byte
        edited = bytes(edited)
        taken += split_usual_frames(edited, "frames", MAX_FRAMES, MAX_JOINTS) is not None
        _same_as_streaming(edited)
    assert taken > 100  # the one-go reader was tried on valid edits too, not only refused
