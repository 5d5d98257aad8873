"""Frame batches sent as binary WebSocket messages (little-endian float32): read exactly as
their JSON is, refused for the same faults with the same answers, and sized before use;
and streams started together checkpoint at different times.
"""

from __future__ import annotations

import numpy as np
import pytest

from coach_api.live_messages import Progress
from coach_api.routes.live import _first_checkpoint_s, _progress_text
from pose3d.sequence_json import parse_sequence, sequence_from_array, values_from_float32
from tests.coach_api.test_live_hardening import _refused, _start, _token, _trainer_routine

HEADER_KEYS = ("layout", "fps", "image_width", "image_height")


def _binary(frames: list) -> bytes:
    """JSON frames as a phone's float32 batch: NaN for a null x or y."""
    values = np.array(
        [[[np.nan if v is None else v for v in joint] for joint in frame] for frame in frames],
        dtype="<f4",
    )
    return values.tobytes()


@pytest.fixture(scope="module")
def frames(user_payload) -> list:
    """30 of the user's frames (MediaPipe-33), two joints unseen in one of them."""
    batch = [[list(joint) for joint in frame] for frame in user_payload["frames"][:30]]
    batch[4][27] = [None, None, 0.0]
    batch[4][28] = [None, None, 0.1]
    return batch


def test_a_binary_batch_reads_as_its_json(user_payload, frames):
    header = {k: user_payload[k] for k in HEADER_KEYS}
    from_json = parse_sequence({**header, "frames": frames}, max_frames=120)
    values = values_from_float32(_binary(frames), 33, 120)
    from_bytes = sequence_from_array(*header.values(), values, max_frames=120)
    np.testing.assert_array_equal(from_bytes.keypoints, from_json.keypoints)
    np.testing.assert_array_equal(from_bytes.scores, from_json.scores)
    assert np.isnan(from_bytes.keypoints[4, 27]).all() and from_bytes.scores[4, 27] == 0


@pytest.mark.parametrize(
    ("size", "ok"),
    [
        (0, False),
        (33 * 12, True),
        (33 * 12 * 120, True),
        (33 * 12 * 121, False),
        (33 * 12 + 4, False),
    ],
    ids=["empty", "one frame", "120 frames", "121 frames", "a frame and a value"],
)
def test_a_binary_batch_must_be_whole_frames_within_the_limit(size, ok):
    data = np.zeros(size // 4, "<f4").tobytes()
    if ok:
        assert values_from_float32(data, 33, 120).shape == (size // (33 * 12), 33, 3)
    else:
        with pytest.raises(ValueError, match="little-endian float32"):
            values_from_float32(data, 33, 120)


@pytest.mark.parametrize("frames_count", [0, 7, 36_000])
def test_the_progress_text_is_what_its_model_serialises(frames_count):
    model = Progress(type="progress", frames=frames_count)
    assert _progress_text(frames_count) == model.model_dump_json(exclude_none=True)


@pytest.fixture(scope="module")
def client(shared_client):
    return shared_client


@pytest.fixture(scope="module")
def stream_start(client, trainer_payload, user_payload) -> dict:
    """A start message for a published routine, with the user's stream header."""
    routine = _trainer_routine(client, trainer_payload, published=True)
    header = {k: user_payload[k] for k in HEADER_KEYS}
    return _start(_token(client), routine, **header)


def _progress(socket) -> int:
    message = socket.receive_json()
    while message["type"] in ("rep", "checkpoint"):
        message = socket.receive_json()
    assert message["type"] == "progress", message
    return message["frames"]


def test_binary_and_json_batches_stream_alike(client, stream_start, frames):
    counts = {}
    for kind in ("json", "binary"):
        with client.websocket_connect("/v1/live") as socket:
            socket.send_json(stream_start)
            assert socket.receive_json()["type"] == "ready"
            counts[kind] = []
            for first in (0, 10, 20):
                batch = frames[first : first + 10]
                if kind == "json":
                    socket.send_json({"type": "frames", "frames": batch})
                else:
                    socket.send_bytes(_binary(batch))
                counts[kind].append(_progress(socket))
    assert counts["binary"] == counts["json"] and counts["json"][-1] > counts["json"][0]


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        (np.zeros(33 * 3 + 1, "<f4").tobytes(), "frames", "bytes a frame"),
        (np.full((1, 33, 3), 2.0, "<f4").tobytes(), "frames[0][0][2]", "score must be in [0, 1]"),
        (np.array([[[np.nan, 1.0, 0.5]] * 33], "<f4").tobytes(), "frames[0][0][0]", "both"),
    ],
    ids=["not whole frames", "score of 2", "x unseen, y seen"],
)
def test_a_bad_binary_batch_is_refused_naming_the_fault(client, stream_start, data, field, words):
    with client.websocket_connect("/v1/live") as socket:
        socket.send_json(stream_start)
        assert socket.receive_json()["type"] == "ready"
        socket.send_bytes(data)
        error = _refused(socket)
    assert error["code"] == "invalid_input" and error["field"] == field
    assert words in error["message"]


def test_an_oversized_binary_batch_is_refused_unread(client, stream_start, monkeypatch):
    monkeypatch.setattr(client.app.state.settings, "live_max_message_bytes", 1000)
    with client.websocket_connect("/v1/live") as socket:
        socket.send_json(stream_start)
        assert socket.receive_json()["type"] == "ready"
        socket.send_bytes(b"\0" * 1001)
        error = _refused(socket)
    assert error["code"] == "message_too_large"


def test_first_checkpoints_are_spread_over_the_interval(settings):
    settings.live_checkpoint_s = 5.0
    firsts = [_first_checkpoint_s(settings) for _ in range(200)]
    assert min(firsts) >= 0.5 and max(firsts) <= 5.0  # 10-100% of the interval
    assert max(firsts) - min(firsts) > 3.0  # streams started together save apart
    settings.live_checkpoint_spread = False
    assert _first_checkpoint_s(settings) == 5.0


def test_after_the_first_checkpoint_a_stream_saves_every_interval(
    client, stream_start, user_payload, monkeypatch
):
    monkeypatch.setattr(client.app.state.settings, "live_checkpoint_s", 1.0)
    monkeypatch.setattr("coach_api.routes.live.random.uniform", lambda low, high: 0.25)
    saved = []
    with client.websocket_connect("/v1/live") as socket:
        socket.send_json(stream_start)
        assert socket.receive_json()["type"] == "ready"
        frames = user_payload["frames"]
        for first in range(0, 80, 5):
            socket.send_bytes(_binary(frames[first : first + 5]))
            message = socket.receive_json()
            while message["type"] != "progress":
                saved += [message["frames"]] if message["type"] == "checkpoint" else []
                message = socket.receive_json()
    # A quarter of a second (7.5 frames) -> at 10 frames, then every 30 frames.
    assert saved[:2] == [10, 40]
