"""The live socket's messages against their published schema, and live sessions kept.

``docs/live-messages.schema.json`` is generated from :mod:`coach_api.live_messages`; every
message a real session sends (ready, progress, rep, summary, error) is validated against
it with a JSON-schema validator. A finished live session is stored like a recorded one:
in the history, its report the summary's, its page drawn from its stored motion, and
nobody else's to see; a socket that ends any other way stores nothing.

The tests share one app and one live session streamed to its end (``finished``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import jsonschema_rs
import pytest
from sqlalchemy import select

from coach_api.db import User
from coach_api.live_messages import live_messages_schema_text
from tests.coach_api.conftest import auth_headers, new_email, published_routine

SCHEMA_FILE = Path(__file__).parents[2] / "docs" / "live-messages.schema.json"
SCHEMA = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
HEADER_KEYS = ("layout", "fps", "image_width", "image_height")


def _validator(group: str):
    """A validator of the schema's ``ClientMessage`` or ``ServerMessage``."""
    return jsonschema_rs.validator_for({**SCHEMA, "oneOf": [{"$ref": f"#/$defs/{group}"}]})


CLIENT, SERVER = _validator("ClientMessage"), _validator("ServerMessage")


class Finished(NamedTuple):
    """A live session streamed to its end: what each side sent, the owner's headers and
    the history before and after."""

    sent: list[dict]
    received: list[dict]
    headers: dict
    before: dict
    after: dict


@pytest.fixture(scope="module")
def client(shared_client):
    return shared_client


@pytest.fixture(scope="module")
def routine_id(client, trainer_payload) -> int:
    return published_routine(client, trainer_payload)


def _start(headers: dict, routine_id: int, payload: dict) -> dict:
    token = headers["Authorization"].split()[1]
    header = {key: payload[key] for key in HEADER_KEYS}
    return {"type": "start", "token": token, "routine_id": routine_id, **header}


def _receive_past_reps(socket, received: list[dict]) -> dict:
    """The next message that is no ``rep`` or ``checkpoint``; every message is kept in
    ``received``."""
    received.append(socket.receive_json())
    while received[-1]["type"] in ("rep", "checkpoint"):
        received.append(socket.receive_json())
    return received[-1]


def _stream(socket, sent: list[dict], received: list[dict], frames: list, batch: int = 5):
    """Send ``frames`` in batches, each answered by ``progress`` (reps come between)."""
    for first in range(0, len(frames), batch):
        sent.append({"type": "frames", "frames": frames[first : first + batch]})
        socket.send_json(sent[-1])
        assert _receive_past_reps(socket, received)["type"] == "progress", received[-1]


@pytest.fixture(scope="module")
def finished(client, routine_id, user_payload) -> Finished:
    headers = auth_headers(client, new_email())
    before = client.get("/v1/sessions", headers=headers).json()
    sent, received = [_start(headers, routine_id, user_payload)], []
    with client.websocket_connect("/v1/live") as socket:
        socket.send_json(sent[0])
        received.append(socket.receive_json())
        _stream(socket, sent, received, user_payload["frames"])
        sent.append({"type": "stop"})
        socket.send_json(sent[-1])
        _receive_past_reps(socket, received)
        assert socket.receive()["code"] == 1000
    after = client.get("/v1/sessions", headers=headers).json()
    return Finished(sent, received, headers, before, after)


def test_the_published_schema_is_generated_from_the_message_models():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == live_messages_schema_text(), (
        "docs/live-messages.schema.json is stale: run `coach-api live-schema`"
    )


def test_every_message_of_a_live_session_matches_the_schema(finished):
    kinds = [message["type"] for message in finished.received]
    assert kinds[0] == "ready" and kinds[-1] == "summary"
    assert "progress" in kinds and "rep" in kinds  # each kind of message was checked
    for message in finished.received:
        SERVER.validate(message)
    for message in finished.sent:
        CLIENT.validate(message)


def test_error_messages_match_the_schema(client, routine_id, user_payload):
    headers = auth_headers(client, new_email())
    errors = []
    with client.websocket_connect("/v1/live") as socket:
        socket.send_json({"type": "frames", "frames": []})  # before the start
        errors.append(socket.receive_json())
    with client.websocket_connect("/v1/live") as socket:
        socket.send_json(_start(headers, routine_id, user_payload))
        assert socket.receive_json()["type"] == "ready"
        socket.send_json({"type": "stop"})  # before any frame
        errors.append(socket.receive_json())
    assert [e["error"]["code"] for e in errors] == ["protocol", "too_few_frames"]
    assert "field" not in errors[0]["error"] and errors[1]["error"]["field"] == "frames"
    for error in errors:
        SERVER.validate(error)


@pytest.mark.parametrize(
    ("joints", "valid"),
    [([17, 17], True), ([33], True), ([20], False), ([17, 33], False), ([], False)],
    ids=["17 each", "33", "20", "17 then 33", "no frame"],
)
def test_a_frames_message_takes_17_or_33_joints_in_every_frame(joints, valid):
    frames = [[[10.0, 20.0, 0.5]] * count for count in joints]
    assert CLIENT.is_valid({"type": "frames", "frames": frames}) is valid


def test_the_schema_refuses_what_the_server_refuses():
    start = {"type": "start", "token": "t", "routine_id": 1, "layout": "coco17", "fps": 30}
    sized = {**start, "image_width": 640, "image_height": 480}
    assert CLIENT.is_valid(sized)
    assert not CLIENT.is_valid(start)  # the image size is required
    assert not CLIENT.is_valid({**sized, "fps": 1})  # no camera films at 1 fps
    assert not CLIENT.is_valid({**sized, "colour": "red"})  # unknown keys are refused
    assert not SERVER.is_valid({"type": "summary", "session_id": 1, "report": {}})
    assert not SERVER.is_valid({"type": "progress"})


def test_a_finished_live_session_is_in_the_history(finished):
    summary = finished.received[-1]
    assert finished.before["total"] == 0
    assert finished.after["total"] == 1
    stored = finished.after["items"][0]
    assert stored["id"] == summary["session_id"]
    assert stored["report"] == summary["report"]
    assert stored["score"] == summary["report"]["score"]
    assert stored["routine_name"] == "Squats"


def test_a_live_session_is_its_users_only(client, finished):
    session_id = finished.received[-1]["session_id"]
    mine = client.get(f"/v1/sessions/{session_id}", headers=finished.headers)
    assert mine.status_code == 200
    other = auth_headers(client, new_email("bob"))
    assert client.get(f"/v1/sessions/{session_id}", headers=other).status_code == 404
    assert client.get("/v1/sessions", headers=other).json()["total"] == 0


def test_a_live_sessions_page_is_drawn_from_its_stored_motion(client, finished):
    session_id = finished.received[-1]["session_id"]
    page = client.get(f"/v1/sessions/{session_id}/report.html", headers=finished.headers)
    assert page.status_code == 200 and "data:image/png;base64," in page.text


def _blobs(client) -> list[str]:
    return client.app.state.settings.blobs.names()


def test_a_socket_that_ends_before_stop_stores_nothing(
    client, routine_id, user_payload, monkeypatch
):
    # Checkpoints (kept for a resume) come every 5 s here, none within these 2 s: what is
    # stored mid-stream is test_live_resume's.
    monkeypatch.setattr(client.app.state.settings, "live_checkpoint_spread", False)
    headers = auth_headers(client, new_email())
    blobs = _blobs(client)
    with client.websocket_connect("/v1/live") as socket:
        socket.send_json(_start(headers, routine_id, user_payload))
        assert socket.receive_json()["type"] == "ready"
        _stream(socket, [], [], user_payload["frames"][:60], batch=10)
    # Left mid-stream; then one that fails mid-stream.
    with client.websocket_connect("/v1/live") as socket:
        socket.send_json(_start(headers, routine_id, user_payload))
        assert socket.receive_json()["type"] == "ready"
        _stream(socket, [], [], user_payload["frames"][:60], batch=10)
        socket.send_json({"type": "frames", "frames": [[[1.0, 1.0, 0.5]] * 20]})
        assert socket.receive_json()["error"]["code"] == "invalid_input"
    assert client.get("/v1/sessions", headers=headers).json()["total"] == 0
    assert _blobs(client) == blobs


def test_an_account_deleted_during_the_session_keeps_nothing(client, routine_id, user_payload):
    email = new_email()
    headers = auth_headers(client, email)
    blobs = _blobs(client)
    with client.websocket_connect("/v1/live") as socket:
        socket.send_json(_start(headers, routine_id, user_payload))
        assert socket.receive_json()["type"] == "ready"
        _stream(socket, [], [], user_payload["frames"][:60], batch=10)
        assert client.delete("/v1/me", headers=headers).status_code == 204
        socket.send_json({"type": "stop"})
        error = socket.receive_json()
        while error["type"] in ("rep", "checkpoint"):
            error = socket.receive_json()
    assert error["error"]["code"] == "unauthorized"
    with client.app.state.sessionmaker() as db:
        assert db.scalar(select(User).where(User.email == email)) is None
    assert _blobs(client) == blobs


def test_a_checkpoint_after_the_account_was_deleted_says_so(
    client, routine_id, user_payload, monkeypatch
):
    # The stream's row goes with the account, so the next checkpoint finds it gone: the
    # client must hear that the account is gone, not that another socket took over.
    monkeypatch.setattr(client.app.state.settings, "live_checkpoint_spread", False)
    monkeypatch.setattr(client.app.state.settings, "live_checkpoint_s", 1.0)
    email = new_email()
    headers = auth_headers(client, email)
    blobs = _blobs(client)
    frames = user_payload["frames"]
    with client.websocket_connect("/v1/live") as socket:
        socket.send_json(_start(headers, routine_id, user_payload))
        assert socket.receive_json()["type"] == "ready"
        _stream(socket, [], [], frames[:10], batch=10)
        assert client.delete("/v1/me", headers=headers).status_code == 204
        received: list[dict] = []
        for first in range(10, 60, 10):  # a checkpoint falls due at frame 30
            socket.send_json({"type": "frames", "frames": frames[first : first + 10]})
            if _receive_past_reps(socket, received)["type"] == "error":
                break
    assert received[-1]["type"] == "error", received
    assert received[-1]["error"]["code"] == "unauthorized"
    assert _blobs(client) == blobs


def test_a_stream_ends_where_a_session_must_and_is_kept(client, routine_id, user_payload):
    """A stream is bounded like a recorded session (here 2 s at 30 fps: 60 frames): the
    batch that reaches the limit is taken up to it, and the stream ends there with a
    summary that says so, without a stop. Unbounded, a socket held open kept its frames
    in memory for as long as the client sent them, and stored a session longer than any
    other path allows."""
    settings = client.app.state.settings
    seconds = 2.0
    assert settings.max_frames / client.app.state.engine.recordings.fps > seconds
    headers = auth_headers(client, new_email())
    frames = user_payload["frames"]
    received = []
    original = settings.max_duration_s
    settings.max_duration_s = seconds
    try:
        with client.websocket_connect("/v1/live") as socket:
            socket.send_json(_start(headers, routine_id, user_payload))
            received.append(socket.receive_json())
            _stream(socket, [], received, frames[:56], batch=7)  # 56 of the 60 frames
            socket.send_json({"type": "frames", "frames": frames[56:63]})  # 4 are taken
            assert _receive_past_reps(socket, received) == {"type": "progress", "frames": 60}
            summary = _receive_past_reps(socket, received)
            assert socket.receive()["code"] == 1000  # closed normally
    finally:
        settings.max_duration_s = original
    SERVER.validate(summary)
    notes = [n for n in summary["report"]["notes"] if n["kind"] == "session_limit"]
    assert len(notes) == 1 and "at most 2 s" in notes[0]["message"]
    assert summary["report"]["duration_s"] == pytest.approx(seconds, abs=0.05)
    stored = client.get(f"/v1/sessions/{summary['session_id']}", headers=headers).json()
    assert stored["report"] == summary["report"]


def test_a_stream_under_the_limit_has_no_limit_note(finished):
    notes = finished.received[-1]["report"]["notes"]
    assert all(note["kind"] != "session_limit" for note in notes)
