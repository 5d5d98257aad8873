"""A live stream cut mid-way goes on on another replica: the rebuilt stream is the one
that stopped (same summary as an uncut one), a finished stream's resume gets its summary
again, a superseded socket can neither checkpoint nor store, and what cannot be resumed
(unknown, another account's, expired) is refused naming ``stream_id``."""

from __future__ import annotations

import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from coach_api.db import LiveStream, Routine
from coach_api.live_streams import decode_chunks, encode_chunk, sweep_expired_streams
from coach_api.main import create_app
from scoring.live import LiveModels, LiveSession
from tests.coach_api.conftest import auth_headers, new_email, published_routine

HEADER_KEYS = ("layout", "fps", "image_width", "image_height")
BATCH = 10
CHECKPOINT_S = 1.0  # 30 frames at 30 fps: several checkpoints in a short clip


@pytest.fixture
def replicas(settings):
    """Two apps on one database and blob store (two replicas), checkpointing each second
    of frames, the first too (not spread: the tests know when each comes)."""
    settings.live_checkpoint_s = CHECKPOINT_S
    settings.live_checkpoint_spread = False
    with TestClient(create_app(settings)) as first, TestClient(create_app(settings)) as second:
        yield first, second


def _token(client: TestClient) -> str:
    return auth_headers(client, new_email())["Authorization"].split()[1]


def _start(token: str, routine_id: int, payload: dict) -> dict:
    header = {key: payload[key] for key in HEADER_KEYS}
    return {"type": "start", "token": token, "routine_id": routine_id, **header}


def _send_frames(socket, frames: list, received: list[dict]) -> None:
    """Send ``frames`` in batches, keeping every message received until each batch's
    ``progress``."""
    for first in range(0, len(frames), BATCH):
        socket.send_json({"type": "frames", "frames": frames[first : first + BATCH]})
        received.append(socket.receive_json())
        while received[-1]["type"] in ("rep", "checkpoint"):
            received.append(socket.receive_json())
        assert received[-1]["type"] == "progress", received[-1]


def _cut_stream(
    client: TestClient,
    token: str,
    routine_id: int,
    payload: dict,
    frames: list,
    received: list[dict],
) -> str:
    """Start a stream, send ``frames`` (messages kept in ``received``) and leave without
    stopping, as a phone losing its connection; the stream's id."""
    with client.websocket_connect("/v1/live") as socket:
        socket.send_json(_start(token, routine_id, payload))
        stream_id = socket.receive_json()["stream_id"]
        _send_frames(socket, frames, received)
    return stream_id


def _finish(socket, received: list[dict]) -> dict:
    """Stop; the summary (reps before it kept in ``received``)."""
    socket.send_json({"type": "stop"})
    received.append(socket.receive_json())
    while received[-1]["type"] == "rep":
        received.append(socket.receive_json())
    assert received[-1]["type"] == "summary", received[-1]
    return received[-1]


def _checkpoints(received: list[dict]) -> list[int]:
    return [m["frames"] for m in received if m["type"] == "checkpoint"]


def _sessions(client: TestClient, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return client.get("/v1/sessions", headers=headers).json()["total"]


def test_a_cut_stream_resumes_on_another_replica_as_if_never_cut(
    replicas, trainer_payload, user_payload
):
    first, second = replicas
    routine_id = published_routine(first, trainer_payload)
    token, frames = _token(first), user_payload["frames"]

    # The same stream, uncut, as the reference.
    uncut: list[dict] = []
    with first.websocket_connect("/v1/live") as socket:
        socket.send_json(_start(token, routine_id, user_payload))
        assert socket.receive_json()["frames"] == 0
        _send_frames(socket, frames, uncut)
        expected = _finish(socket, uncut)

    # Cut two thirds in (no stop: the phone lost its connection), go on on the other.
    before: list[dict] = []
    cut = 2 * len(frames) // 3
    with first.websocket_connect("/v1/live") as socket:
        socket.send_json(_start(token, routine_id, user_payload))
        ready = socket.receive_json()
        _send_frames(socket, frames[:cut], before)
    saved = _checkpoints(before)[-1]
    assert 0 < cut - saved <= CHECKPOINT_S * user_payload["fps"] + BATCH
    after: list[dict] = []
    with second.websocket_connect("/v1/live") as socket:
        socket.send_json({"type": "resume", "token": token, "stream_id": ready["stream_id"]})
        resumed = socket.receive_json()
        assert resumed["type"] == "ready" and resumed["stream_id"] == ready["stream_id"]
        assert resumed["frames"] == saved  # the client sends the frames from there again
        _send_frames(socket, frames[saved:], after)
        summary = _finish(socket, after)

    assert summary["report"] == expected["report"]
    models = summary["report"]["models"]  # a live session also names its streaming lifter
    assert models["lifter-causal"] == models["lifter-recordings"] == "api-test"
    assert _sessions(first, token) == 2  # the uncut one and the resumed one: once each
    # Repetitions were told in order, none skipped; one told after the last checkpoint
    # may come again after the resume (same number).
    told = [m["rep"] for m in before + after if m["type"] == "rep"]
    assert told and told == sorted(told)
    assert sorted(set(told)) == list(range(1, max(told) + 1))
    assert max(told) <= summary["report"]["reps"]
    # The stream's frames went with its end; the row stays for a repeated resume.
    blobs = first.app.state.settings.blobs
    assert not blobs.names(starting=f"live-{ready['stream_id']}-")


def test_a_finished_stream_resumed_gets_its_summary_again(replicas, trainer_payload, user_payload):
    first, second = replicas
    routine_id = published_routine(first, trainer_payload)
    token, received = _token(first), []
    with first.websocket_connect("/v1/live") as socket:
        socket.send_json(_start(token, routine_id, user_payload))
        stream_id = socket.receive_json()["stream_id"]
        _send_frames(socket, user_payload["frames"], received)
        summary = _finish(socket, received)
    with second.websocket_connect("/v1/live") as socket:
        socket.send_json({"type": "resume", "token": token, "stream_id": stream_id})
        assert socket.receive_json() == summary  # the summary the phone may have missed
        assert socket.receive() == {"type": "websocket.close", "code": 1000, "reason": ""}
    assert _sessions(first, token) == 1


@pytest.mark.parametrize("then", ["frames", "stop"])
def test_a_superseded_socket_can_neither_checkpoint_nor_store(
    replicas, trainer_payload, user_payload, then
):
    first, second = replicas
    routine_id = published_routine(first, trainer_payload)
    token, frames, received = _token(first), user_payload["frames"], []
    fps = int(user_payload["fps"])
    with first.websocket_connect("/v1/live") as stale:
        stale.send_json(_start(token, routine_id, user_payload))
        stream_id = stale.receive_json()["stream_id"]
        # Not a whole number of seconds: no checkpoint is left unread after the last batch.
        _send_frames(stale, frames[: 2 * fps - 5], received)
        # The phone reconnected elsewhere while this socket lingered (a half-open one).
        with second.websocket_connect("/v1/live") as socket:
            socket.send_json({"type": "resume", "token": token, "stream_id": stream_id})
            assert socket.receive_json()["type"] == "ready"
            if then == "stop":
                stale.send_json({"type": "stop"})
            else:  # a second of frames: the next checkpoint is due
                stale.send_json({"type": "frames", "frames": frames[2 * fps - 5 : 3 * fps]})
            message = stale.receive_json()
            while message["type"] in ("rep", "progress"):
                message = stale.receive_json()
            assert message["error"]["code"] == "superseded", message
            assert stale.receive()["code"] == 1008
    assert _sessions(first, token) == 0  # the stale socket stored nothing
    with first.app.state.sessionmaker() as db:  # and the stream is the new socket's
        assert db.get(LiveStream, stream_id).frames == _checkpoints(received)[-1] == fps


@pytest.mark.parametrize("who", ["unknown", "another account's"])
def test_a_stream_that_is_not_there_to_resume_is_refused(
    replicas, trainer_payload, user_payload, who
):
    first, _ = replicas
    routine_id = published_routine(first, trainer_payload)
    owner = _token(first)
    with first.websocket_connect("/v1/live") as socket:
        socket.send_json(_start(owner, routine_id, user_payload))
        stream_id = socket.receive_json()["stream_id"]
    token, asked = (owner, "x" * 24) if who == "unknown" else (_token(first), stream_id)
    with first.websocket_connect("/v1/live") as socket:
        socket.send_json({"type": "resume", "token": token, "stream_id": asked})
        error = socket.receive_json()["error"]
        assert (error["code"], error["field"]) == ("not_found", "stream_id")
        assert "start a new one" in error["message"]


@pytest.mark.parametrize(
    ("message", "code", "field"),
    [
        ({"stream_id": "no spaces allowed"}, "invalid_input", "stream_id"),
        ({"stream_id": "x" * 33}, "invalid_input", "stream_id"),
        ({"token": "not a token"}, "unauthorized", "token"),
        ({"frames": 0}, "invalid_input", "frames"),
    ],
)
def test_a_bad_resume_message_is_refused_naming_the_field(
    replicas, trainer_payload, message, code, field
):
    first, _ = replicas
    resume = {"type": "resume", "token": _token(first), "stream_id": "x" * 24, **message}
    with first.websocket_connect("/v1/live") as socket:
        socket.send_json(resume)
        error = socket.receive_json()["error"]
        assert (error["code"], error.get("field")) == (code, field)


def test_an_expired_stream_is_refused_and_swept_with_its_frames(
    replicas, trainer_payload, user_payload
):
    first, _ = replicas
    app = first.app
    routine_id = published_routine(first, trainer_payload)
    token, received = _token(first), []
    stream_id = _cut_stream(
        first, token, routine_id, user_payload, user_payload["frames"][:55], received
    )
    blobs, prefix = app.state.settings.blobs, f"live-{stream_id}-"
    assert len(blobs.names(starting=prefix)) == len(_checkpoints(received)) >= 1
    app.state.settings.live_resume_ttl_s = 0.2
    time.sleep(0.3)
    with first.websocket_connect("/v1/live") as socket:
        socket.send_json({"type": "resume", "token": token, "stream_id": stream_id})
        assert socket.receive_json()["error"]["field"] == "stream_id"
    assert sweep_expired_streams(app.state.settings, app.state.sessionmaker) == 1
    with app.state.sessionmaker() as db:
        assert db.get(LiveStream, stream_id) is None
    assert not blobs.names(starting=prefix)


def test_deleting_the_account_deletes_its_streams_frames(replicas, trainer_payload, user_payload):
    first, _ = replicas
    routine_id = published_routine(first, trainer_payload)
    token, received = _token(first), []
    stream_id = _cut_stream(
        first, token, routine_id, user_payload, user_payload["frames"][:55], received
    )
    blobs = first.app.state.settings.blobs
    assert blobs.names(starting=f"live-{stream_id}-")
    assert first.delete("/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 204
    assert not blobs.names(starting=f"live-{stream_id}-")
    with first.app.state.sessionmaker() as db:
        assert db.get(LiveStream, stream_id) is None


def test_a_restored_session_goes_on_as_the_saved_one(client, trainer_payload, user_payload):
    """A session rebuilt from its saved chunks (through their bytes) lifts exactly what
    the saved one lifts next, and reports the same repetitions, none already reported."""
    engine = client.app.state.engine
    routine_id = published_routine(client, trainer_payload)
    with client.app.state.sessionmaker() as db:
        reference = engine.reference(client.app.state.settings.blobs, db.get(Routine, routine_id))
    models = LiveModels(engine.lifter, engine.recordings, engine.population)
    header = {key: user_payload[key] for key in HEADER_KEYS}
    saved = LiveSession(models, reference, header, "intermediate")
    frames = user_payload["frames"]
    cut, chunks = len(frames) // 2, []
    for first in range(0, cut, 30):
        saved.push(frames[first : min(first + 30, cut)])
        if first % 90 == 0:  # a checkpoint now and then
            chunks.append(encode_chunk(saved.take_unsaved()))
    reps = saved.finished_reps()
    chunks.append(encode_chunk(saved.take_unsaved()))
    assert saved.take_unsaved() is None and len(chunks) >= 3

    restored = LiveSession(models, reference, header, "intermediate")
    state = decode_chunks(chunks)
    assert state.frames == cut
    restored.restore(state, reported=len(reps))
    assert restored.take_unsaved() is None  # nothing new since the last chunk
    for session in (saved, restored):
        for first in range(cut, len(frames), 30):
            session.push(frames[first : first + 30])
    assert np.array_equal(restored.poses.rows(), saved.poses.rows())
    assert restored.finished_reps() == saved.finished_reps()
    assert restored.summary().report == saved.summary().report


def test_a_stream_resumed_at_its_limit_ends_there_and_is_kept(
    replicas, trainer_payload, user_payload
):
    # The operator lowered the longest session (to 1 s) while the stream was cut after 2 s
    # of frames: resumed, it takes no more frames and ends at once, kept with its note.
    first, second = replicas
    routine_id = published_routine(first, trainer_payload)
    token = _token(first)
    received: list[dict] = []
    stream_id = _cut_stream(
        first, token, routine_id, user_payload, user_payload["frames"][:60], received
    )
    saved = _checkpoints(received)[-1]
    second.app.state.settings.max_duration_s = 1.0
    with second.websocket_connect("/v1/live") as socket:
        socket.send_json({"type": "resume", "token": token, "stream_id": stream_id})
        assert socket.receive_json()["frames"] == saved
        summary = socket.receive_json()
        assert socket.receive()["code"] == 1000
    assert summary["type"] == "summary", summary
    assert [n["kind"] for n in summary["report"]["notes"]].count("session_limit") == 1
    assert _sessions(first, token) == 1
