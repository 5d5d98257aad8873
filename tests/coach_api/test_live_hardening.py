"""The live socket against a hostile client: the token stays out of URLs, silent sockets
are closed, every message is bounded and parsed defensively, the start message is
validated whole, routines are private until published, and a server failure is told.

Every refusal is an error message followed by a close (1008; 1011 for a server failure):
with starlette's TestClient the close arrives as a ``websocket.close`` message.

The tests share one app (``shared_client``), one user's ``token`` and one published
``routine_id``, which they only read; a test that needs short timeouts gets its own app.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from types import SimpleNamespace

import pytest
from fastapi import WebSocketDisconnect
from fastapi.testclient import TestClient
from sqlalchemy import select

from coach_api.db import Routine, User
from coach_api.errors import ApiError
from coach_api.main import create_app
from coach_api.routes.live import _decode, _nesting, _RepChecks
from tests.coach_api.conftest import auth_headers, new_email

SHORT_TIMEOUT_S = 0.3
HUGE = 10**400  # a number of 401 digits: overflows a float


@pytest.fixture
def impatient_client(settings):
    """A client of an app that waits only SHORT_TIMEOUT_S for the start message and
    between messages."""
    settings.live_auth_timeout_s = SHORT_TIMEOUT_S
    settings.live_idle_timeout_s = SHORT_TIMEOUT_S
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _token(client: TestClient) -> str:
    """A new account's bearer token."""
    return auth_headers(client, new_email())["Authorization"].split()[1]


def _trainer_routine(
    client: TestClient, payload: dict, published: bool = False, trainer: str | None = None
) -> int:
    """The id of a routine of a new trainer (``trainer``, an email; granted the role in the
    database, as an admin would), published to the catalogue or not."""
    trainer = trainer or new_email("coach")
    headers = auth_headers(client, trainer)
    with client.app.state.sessionmaker() as db:
        db.scalar(select(User).where(User.email == trainer)).role = "trainer"
        db.commit()
    body = {"name": "Squats", "movement": "squat", "keypoints": payload}
    response = client.post("/v1/routines", headers=headers, json=body)
    assert response.status_code == 201, response.text
    routine_id = response.json()["id"]
    if published:
        with client.app.state.sessionmaker() as db:
            db.get(Routine, routine_id).published = True
            db.commit()
    return routine_id


def _start(token: str, routine: int, **changes: object) -> dict:
    """A valid start message for ``routine``, with ``changes`` (any key, ``routine_id``
    too)."""
    header = {"layout": "coco17", "fps": 30, "image_width": 640, "image_height": 480}
    return {"type": "start", "token": token, "routine_id": routine, **header, **changes}


def _refused(socket, close_code: int = 1008) -> dict:
    """The error the server sent, once checked that the socket was closed after it."""
    message = socket.receive_json()
    assert message["type"] == "error", message
    closing = socket.receive()
    assert closing["type"] == "websocket.close", closing
    assert closing["code"] == close_code
    return message["error"]


@pytest.fixture(scope="module")
def client(shared_client):
    """The module's app: no test here needs a fresh database."""
    return shared_client


@pytest.fixture(scope="module")
def routine_id(client, trainer_payload) -> int:
    """A published routine anyone may stream against."""
    return _trainer_routine(client, trainer_payload, published=True)


@pytest.fixture(scope="module")
def token(client) -> str:
    """A user's token."""
    return _token(client)


def test_a_token_in_the_url_is_refused_unread(client, token, routine_id):
    with client.websocket_connect(f"/v1/live?token={token}") as socket:
        socket.send_json(_start(token, routine_id))  # valid, but the URL leaked the token
        error = _refused(socket)
    assert error["code"] == "token_in_url"
    assert "start message" in error["message"] and "logged" in error["message"]


@pytest.mark.timeout(60)  # the socket used to wait forever
def test_a_silent_unauthenticated_socket_is_closed(impatient_client):
    started = time.monotonic()
    with impatient_client.websocket_connect("/v1/live") as socket:
        error = _refused(socket)
    assert error["code"] == "auth_timeout"
    assert SHORT_TIMEOUT_S <= time.monotonic() - started < 10


@pytest.mark.timeout(60)
def test_an_idle_socket_is_closed(impatient_client, trainer_payload):
    routine = _trainer_routine(impatient_client, trainer_payload, published=True)
    token = _token(impatient_client)
    with impatient_client.websocket_connect("/v1/live") as socket:
        socket.send_json(_start(token, routine))
        assert socket.receive_json()["type"] == "ready"
        started = time.monotonic()
        error = _refused(socket)
    assert error["code"] == "idle_timeout"
    assert SHORT_TIMEOUT_S <= time.monotonic() - started < 10


def test_a_binary_message_is_refused(client, token, routine_id):
    with client.websocket_connect("/v1/live") as socket:
        socket.send_bytes(json.dumps(_start(token, routine_id)).encode())
        error = _refused(socket)
    assert error["code"] == "protocol" and "text" in error["message"]


def test_an_oversized_message_is_refused_before_it_is_parsed(
    client, token, routine_id, monkeypatch
):
    monkeypatch.setattr(client.app.state.settings, "live_max_message_bytes", 1000)
    beats = [round(0.5 * n, 1) for n in range(1, 300)]  # valid, but ~2 kB
    with client.websocket_connect("/v1/live") as socket:
        socket.send_json(_start(token, routine_id, beat_times=beats))
        error = _refused(socket)
    assert error["code"] == "message_too_large" and "1000 bytes" in error["message"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("start please", "not JSON"),
        ('{"type": "start", "fps": ' + "3" * 5000 + "}", "too many digits"),
    ],
    ids=["not JSON", "5000-digit number"],
)
def test_text_that_is_not_json_is_refused(client, text, problem):
    with client.websocket_connect("/v1/live") as socket:
        socket.send_text(text)
        error = _refused(socket)
    assert error["code"] == "invalid_json" and problem in error["message"]


@pytest.mark.parametrize("depth", [5000, 300], ids=["over the recursion limit", "300 deep"])
def test_deeply_nested_json_is_refused(client, token, routine_id, depth):
    nested = "[" * depth + "]" * depth
    start = json.dumps(_start(token, routine_id, fps=0)).replace('"fps": 0', f'"fps": {nested}')
    with client.websocket_connect("/v1/live") as socket:
        socket.send_text(start)
        error = _refused(socket)
    assert error["code"] == "invalid_json" and "nest" in error["message"]


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ('{"type": "frames", "frames": [[[1, 2, 0.5]]]}', 4),
        ('{"token": "[[[[[[[[[[", "x": ["]]]]\\"]]"]}', 2),  # brackets in strings
        ('["a\\\\", [[[]]]]', 4),  # an escaped backslash ends the string
        ("[" * 300 + "]" * 300, 300),
        ("", 0),
    ],
)
def test_nesting_is_counted_on_the_text_skipping_strings(text, depth):
    assert _nesting(text) == depth


@pytest.mark.parametrize(
    "text",
    [
        '{"type": "frames", "frames": [[[12.5, 40, 0.9], [null, null, 0.1]]]}',
        '{"type": "stop", "note": "\\ud800"}',  # a lone surrogate: orjson refuses it
        '{"type": "frames", "frames": [[[' + "9" * 30 + ", 1, 0.5]]]}",  # beyond 64 bits
    ],
    ids=["frames", "escaped surrogate", "30-digit integer"],
)
def test_the_stream_s_fast_decoding_reads_what_the_standard_library_reads(text):
    # Integers as floats: where a frames message has only coordinates and scores.
    assert _decode(text, numbers_as_floats=True) == json.loads(text, parse_int=float)


@pytest.mark.parametrize("text", ["[1, NaN]", "[1e999, 2]"], ids=["NaN", "float overflow"])
def test_numbers_orjson_refuses_are_read_as_before_and_refused_later(text):
    # The standard library reads them (nan, inf); parsing the frames names the joint.
    assert json.dumps(_decode(text, numbers_as_floats=True)) == json.dumps(json.loads(text))


def test_a_truncated_stream_message_is_refused_as_not_json():
    with pytest.raises(ApiError) as refused:
        _decode('{"type": "frames", "frames": [[[1, 2', numbers_as_floats=True)
    assert refused.value.code == "invalid_json" and "not JSON" in refused.value.message


@pytest.mark.parametrize("field", ["fps", "routine_id", "image_width"])
def test_a_400_digit_number_is_refused_naming_the_field(client, token, routine_id, field):
    with client.websocket_connect("/v1/live") as socket:
        socket.send_json(_start(token, routine_id, **{field: HUGE}))
        error = _refused(socket)
    assert error["code"] == "invalid_input" and error["field"] == field


def test_a_400_digit_coordinate_is_refused_naming_the_frames(client, token, routine_id):
    frame = [[100.0, 100.0, 0.9]] * 17
    with client.websocket_connect("/v1/live") as socket:
        socket.send_json(_start(token, routine_id))
        assert socket.receive_json()["type"] == "ready"
        socket.send_json({"type": "frames", "frames": [frame, [[HUGE, 1.0, 0.9]] * 17]})
        error = _refused(socket)
    assert error["code"] == "invalid_input" and error["field"].startswith("frames")


def test_frames_that_are_not_a_list_are_refused(client, token, routine_id):
    with client.websocket_connect("/v1/live") as socket:
        socket.send_json(_start(token, routine_id))
        assert socket.receive_json()["type"] == "ready"
        socket.send_json({"type": "frames", "frames": {"0": []}})
        error = _refused(socket)
    assert error["code"] == "invalid_input" and error["field"] == "frames"


def test_an_unknown_strictness_is_refused_at_the_start(client, token, routine_id):
    with client.websocket_connect("/v1/live") as socket:
        socket.send_json(_start(token, routine_id, strictness="bogus"))
        error = _refused(socket)
    assert error["code"] == "invalid_input" and error["field"] == "strictness"


def test_an_unknown_start_key_is_refused(client, token, routine_id):
    with client.websocket_connect("/v1/live") as socket:
        socket.send_json(_start(token, routine_id, colour="red"))
        error = _refused(socket)
    assert error["code"] == "invalid_input" and error["field"] == "colour"


def test_only_own_or_published_routines_can_be_streamed(client, trainer_payload):
    trainer_email = new_email("coach")
    routine = _trainer_routine(client, trainer_payload, trainer=trainer_email)  # not published
    user = _token(client)
    with client.websocket_connect("/v1/live") as socket:
        socket.send_json(_start(user, routine))
        error = _refused(socket)
    assert error["code"] == "not_found" and error["field"] == "routine_id"
    trainer = client.post(
        "/v1/auth/login", data={"username": trainer_email, "password": "correct horse"}
    ).json()["access_token"]
    with client.websocket_connect("/v1/live") as socket:
        socket.send_json(_start(trainer, routine))
        assert socket.receive_json()["type"] == "ready"  # the trainer's own
    with client.app.state.sessionmaker() as db:
        db.get(Routine, routine).published = True
        db.commit()
    with client.websocket_connect("/v1/live") as socket:
        socket.send_json(_start(user, routine))
        assert socket.receive_json()["type"] == "ready"  # now in the catalogue


def test_a_published_routine_streams_to_a_summary(client, routine_id, token, user_payload):
    header = {k: user_payload[k] for k in ("layout", "fps", "image_width", "image_height")}
    with client.websocket_connect("/v1/live") as socket:
        socket.send_json(_start(token, routine_id, **header, strictness="expert"))
        assert socket.receive_json()["type"] == "ready"
        frames = user_payload["frames"]
        for first in range(0, len(frames), 30):
            socket.send_json({"type": "frames", "frames": frames[first : first + 30]})
            message = socket.receive_json()
            while message["type"] in ("rep", "checkpoint"):
                message = socket.receive_json()
            assert message["type"] == "progress", message
        socket.send_json({"type": "stop"})
        message = socket.receive_json()
        while message["type"] in ("rep", "checkpoint"):
            message = socket.receive_json()
        assert message["type"] == "summary" and message["report"]["reps"] >= 1
        assert socket.receive() == {"type": "websocket.close", "code": 1000, "reason": ""}


def test_a_server_failure_is_told_and_logged(client, token, routine_id, monkeypatch, caplog):
    def broken_reference(*args: object) -> None:
        raise RuntimeError("the blob store is down")

    monkeypatch.setattr(client.app.state.engine, "reference", broken_reference)
    with (
        caplog.at_level(logging.ERROR, logger="coach_api"),
        client.websocket_connect("/v1/live") as socket,
    ):
        socket.send_json(_start(token, routine_id))
        error = _refused(socket, close_code=1011)
    assert error == {"code": "internal_error", "message": "something went wrong on our side"}
    assert any(r.name == "coach_api" and r.exc_info for r in caplog.records)


def test_a_failed_check_nobody_awaits_is_logged_unless_the_client_left(caplog):
    """A socket that ends while its repetition check has failed: a server fault in the
    check is logged (nobody awaits it any more), a client gone is not."""

    async def failed(failure: Exception) -> None:
        raise failure

    async def end_with(failure: Exception) -> None:
        checks = _RepChecks(None, None, None, SimpleNamespace(reported=0))
        checks.task = asyncio.create_task(failed(failure))
        await asyncio.sleep(0)  # it runs and fails
        checks.cancel()

    with caplog.at_level(logging.ERROR, logger="coach_api"):
        asyncio.run(end_with(WebSocketDisconnect(1006)))
        assert "check failed" not in caplog.text
        asyncio.run(end_with(ValueError("a scoring bug")))
    assert "live repetition check failed" in caplog.text and "a scoring bug" in caplog.text


def test_a_stream_faster_than_the_live_limit_is_refused(client, token, routine_id):
    # Every frame of a stream is lifted as it comes: a 240-fps stream would cost eight
    # 30-fps streams' CPU and memory while holding one place.
    limit = client.app.state.settings.live_max_fps
    with client.websocket_connect("/v1/live") as socket:
        socket.send_json(_start(token, routine_id, fps=2 * limit))
        error = _refused(socket)
    assert error["code"] == "invalid_input" and error["field"] == "fps"
    assert f"at most {limit:g} fps" in error["message"]
    with client.websocket_connect("/v1/live") as socket:
        socket.send_json(_start(token, routine_id, fps=limit))
        assert socket.receive_json()["type"] == "ready"
