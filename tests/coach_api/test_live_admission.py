"""Live streams are bounded: a replica holds at most ``live_max_streams`` (past that a
start or resume is refused ``server_busy`` with close code 1013, and the place frees when
a stream ends), an account has at most ``live_max_streams_per_user`` open on all
replicas (counted from the database too: another replica's stream counts; a resume of
its own stream does not), and a new stream spends one of the account's expensive
requests."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from coach_api.db import LiveStream
from coach_api.errors import ApiError
from coach_api.jobs import utcnow
from coach_api.live_admission import CLOSE_TRY_AGAIN_LATER, LiveAdmission
from coach_api.main import create_app
from tests.coach_api.conftest import auth_headers, new_email, published_routine

HEADER = {"layout": "coco17", "fps": 30, "image_width": 640, "image_height": 480}


def _token(client: TestClient) -> str:
    return auth_headers(client, new_email())["Authorization"].split()[1]


def _start(token: str, routine_id: int) -> dict:
    return {"type": "start", "token": token, "routine_id": routine_id, **HEADER}


def _ready(socket, message: dict) -> str:
    """Send ``message``; the stream id of the ``ready`` answer."""
    socket.send_json(message)
    answer = socket.receive_json()
    assert answer["type"] == "ready", answer
    return answer["stream_id"]


def _refused(socket, message: dict, close_code: int) -> dict:
    """Send ``message``; the error it got, checked to be followed by ``close_code``."""
    socket.send_json(message)
    answer = socket.receive_json()
    assert answer["type"] == "error", answer
    closing = socket.receive()
    assert closing == {"type": "websocket.close", "code": close_code, "reason": ""}
    return answer["error"]


def _metric(client: TestClient, name: str) -> float:
    for line in client.get("/v1/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"no metric {name}")


def test_a_full_replica_refuses_new_streams_until_one_ends(settings, trainer_payload):
    settings.live_max_streams = 2
    with TestClient(create_app(settings)) as client:
        routine = published_routine(client, trainer_payload)
        first, second, third = (_token(client) for _ in range(3))
        with client.websocket_connect("/v1/live") as one:
            stream = _ready(one, _start(first, routine))
            with client.websocket_connect("/v1/live") as two:
                _ready(two, _start(second, routine))
                assert _metric(client, "coach_live_streams") == 2
                with client.websocket_connect("/v1/live") as three:
                    error = _refused(three, _start(third, routine), CLOSE_TRY_AGAIN_LATER)
                assert error["code"] == "server_busy" and "(2)" in error["message"]
                # A resume needs a place too, even for a stream of this replica's.
                with client.websocket_connect("/v1/live") as again:
                    resume = {"type": "resume", "token": first, "stream_id": stream}
                    error = _refused(again, resume, CLOSE_TRY_AGAIN_LATER)
                assert error["code"] == "server_busy"
            with client.websocket_connect("/v1/live") as three:  # `two` ended: a place
                _ready(three, _start(third, routine))
        assert _metric(client, "coach_live_streams") == 0
        assert _metric(client, 'coach_live_errors_total{code="server_busy"}') == 2


def test_an_account_has_at_most_its_streams_open_on_every_replica(settings, trainer_payload):
    settings.live_max_streams_per_user = 1
    # Two replicas on one database: the second learns of the first's stream from it.
    with TestClient(create_app(settings)) as here, TestClient(create_app(settings)) as there:
        routine = published_routine(here, trainer_payload)
        ana, bob = _token(here), _token(here)
        with here.websocket_connect("/v1/live") as first:
            stream = _ready(first, _start(ana, routine))
            for client in (here, there):
                with client.websocket_connect("/v1/live") as second:
                    error = _refused(second, _start(ana, routine), 1008)
                assert error["code"] == "too_many_streams", error
                assert "1 live streams" in error["message"]
            with there.websocket_connect("/v1/live") as other:  # another account is free
                _ready(other, _start(bob, routine))
            # Her own stream, taken over on the other replica (a phone that reconnected):
            # not a second one.
            with there.websocket_connect("/v1/live") as resumed:
                assert _ready(resumed, {"type": "resume", "token": ana, "stream_id": stream})


def test_a_stream_that_ended_frees_the_account_s_place(settings, trainer_payload, user_payload):
    settings.live_max_streams_per_user = 1
    with TestClient(create_app(settings)) as client:
        routine = published_routine(client, trainer_payload)
        token = _token(client)
        header = {key: user_payload[key] for key in HEADER}
        for _ in range(2):  # the first stream's summary frees the place for the second
            with client.websocket_connect("/v1/live") as socket:
                _ready(socket, {**_start(token, routine), **header})
                socket.send_json({"type": "frames", "frames": user_payload["frames"][:90]})
                socket.send_json({"type": "stop"})
                message = socket.receive_json()
                while message["type"] != "summary":
                    assert message["type"] in ("progress", "rep", "checkpoint"), message
                    message = socket.receive_json()


def test_new_streams_count_against_the_account_s_expensive_requests(settings, trainer_payload):
    settings.rate_burst, settings.rate_per_minute = 2, 1.0
    with TestClient(create_app(settings)) as client:
        routine = published_routine(client, trainer_payload)
        token = _token(client)
        for _ in range(2):
            with client.websocket_connect("/v1/live") as socket:
                _ready(socket, _start(token, routine))
        with client.websocket_connect("/v1/live") as socket:
            error = _refused(socket, _start(token, routine), 1008)
        assert error["code"] == "rate_limited"
        assert re.search(r"try again in \d+ s\)$", error["message"]), error
        headers = {"Authorization": f"Bearer {token}"}
        body = {"routine_id": routine, "keypoints": {**HEADER, "frames": []}}
        assert client.post("/v1/sessions", headers=headers, json=body).status_code == 429


def test_places_are_counted_per_account_and_given_back():
    admission = LiveAdmission(max_streams=3, max_per_user=2)
    with admission.hold(1), admission.hold(1):
        with pytest.raises(ApiError) as refused, admission.hold(2), admission.hold(2):
            pass
        assert refused.value.code == "server_busy"
        assert admission.held == 2 and admission.by_user == {1: 2}
        admission.check_user(2, active_in_database=1)  # one elsewhere, this would be 2
        with pytest.raises(ApiError) as refused:
            admission.check_user(2, active_in_database=2)
        assert refused.value.code == "too_many_streams"
        with pytest.raises(ApiError), admission.hold(1):  # its two held here, and this one
            admission.check_user(1, active_in_database=0)
    assert admission.held == 0 and not admission.by_user


def test_an_ended_socket_frees_its_place_and_a_dead_replica_s_lapses(settings, trainer_payload):
    """A socket that ends (here: cut, as a phone losing its connection) frees its place at
    once; a stream still marked held by a replica that died counts until it would have
    been closed as idle or checkpointed (no other replica can tell it from a live one)."""
    settings.live_max_streams_per_user = 1
    lapse = timedelta(seconds=settings.live_idle_timeout_s + settings.live_checkpoint_s)
    with TestClient(create_app(settings)) as client:
        routine = published_routine(client, trainer_payload)
        token = _token(client)
        with client.websocket_connect("/v1/live") as socket:
            stream = _ready(socket, _start(token, routine))
        with client.websocket_connect("/v1/live") as socket:
            _ready(socket, _start(token, routine))
        for age, answer in ((lapse / 2, "error"), (lapse * 1.1, "ready")):
            with client.app.state.sessionmaker() as db:  # held by a replica that died
                when = utcnow() - age
                values = {"streaming": True, "updated_at": when}
                db.execute(update(LiveStream).where(LiveStream.id == stream).values(**values))
                db.commit()
            with client.websocket_connect("/v1/live") as socket:
                socket.send_json(_start(token, routine))
                message = socket.receive_json()
            assert message["type"] == answer, message
            if answer == "error":
                assert message["error"]["code"] == "too_many_streams"
