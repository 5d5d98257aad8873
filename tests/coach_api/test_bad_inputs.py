"""The bad-input corpus: hostile and broken requests over HTTP and the live socket.

Every case must answer a 4xx (never a 5xx) whose error names the problem (its ``field``
where one is at fault, else words of its ``message``), and none may leave anything stored.
Memory and CPU per case are measured by ``bench/hostile.py``, not here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from fastapi.testclient import TestClient

from coach_api.body_limits import keypoint_body_bytes
from coach_api.db import Job, Routine, User, WorkoutSession
from coach_api.main import create_app
from coach_api.settings import Settings
from tests.coach_api.conftest import auth_headers
from tests.conftest import tiny_lifter_checkpoint

MAX_FRAMES = 600  # keypoint bodies may then be ~2.4 MB: the corpus crosses that limit
MAX_BODY = keypoint_body_bytes(MAX_FRAMES)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, trainer_payload, user_payload):
    """One app for the whole corpus: (client, trainer headers, user headers, routine id)."""
    folder = tmp_path_factory.mktemp("hostile")
    checkpoint = tiny_lifter_checkpoint(folder, "corpus")
    settings = Settings(
        data_dir=folder / "data",
        lifter_checkpoint=checkpoint,
        max_frames=MAX_FRAMES,
        rate_per_minute=1e6,
        rate_burst=10**6,
        signup_per_minute=1e6,
        login_per_minute=1e6,
        login_failures_per_account=10**6,
    )
    with TestClient(create_app(settings)) as client:
        trainer = auth_headers(client, "coach@example.com", role="trainer")
        user = auth_headers(client, "ana@example.com")
        body = {"name": "Squats", "movement": "squat", "keypoints": trainer_payload}
        routine = client.post("/v1/routines", headers=trainer, json=body | {"published": True})
        yield client, trainer, user, routine.json()["id"]


def _stored(client) -> dict:
    with client.app.state.sessionmaker() as db:
        counts = {
            model.__name__: db.query(model).count()
            for model in (User, Routine, WorkoutSession, Job)
        }
    return counts | {"blobs": len(client.app.state.settings.blobs.names())}


def _keypoints(**changes) -> dict:
    """A short valid-looking sequence header with ``changes`` (frames included)."""
    frame = [[100.0 + 10 * j, 200.0 + 20 * j, 0.9] for j in range(33)]
    return {
        "layout": "mediapipe33",
        "fps": 30,
        "image_width": 1080,
        "image_height": 1920,
        "frames": [frame] * 40,
    } | changes


FRAME = [[100.0, 200.0, 0.9]] * 33
# (case id, keypoints changes or a whole raw body, expected field or message words)
SESSION_KEYPOINTS = [
    ("frames not a list", _keypoints(frames="many"), "keypoints.frames"),
    ("frame not a list", _keypoints(frames=[3] * 40), "keypoints.frames[0]"),
    ("17 joints for mediapipe33", _keypoints(frames=[FRAME[:17]] * 40), "keypoints.frames[0]"),
    ("joint of two", _keypoints(frames=[[[1.0, 2.0]] * 33] * 40), "keypoints.frames[0][0]"),
    ("joint of four", _keypoints(frames=[[[1, 2, 0.5, 9]] * 33] * 40), "keypoints.frames[0][0]"),
    ("joint nested", _keypoints(frames=[[[[1], 2, 0.5]] * 33] * 40), "keypoints.frames[0][0][0]"),
    ("string coordinate", _keypoints(frames=[[["1", 2, 0.5]] * 33] * 40), "frames[0][0][0]"),
    ("too few frames", _keypoints(frames=[FRAME]), "keypoints.frames"),
    ("ragged frames", _keypoints(frames=[FRAME, FRAME[:30]] * 20), "keypoints.frames[1]"),
    ("score above 1", _keypoints(frames=[[[1, 2, 1.5]] * 33] * 40), "keypoints.frames[0][0][2]"),
    ("score null", _keypoints(frames=[[[1, 2, None]] * 33] * 40), "keypoints.frames[0][0][2]"),
    ("half a joint", _keypoints(frames=[[[None, 2, 0.5]] * 33] * 40), "keypoints.frames[0][0][0]"),
    ("all unseen", _keypoints(frames=[[[None, None, 0]] * 33] * 40), "keypoints.frames"),
    ("all at one point", _keypoints(frames=[FRAME] * 40), "keypoints.frames"),
    ("x far outside", _keypoints(frames=[[[1e9, 2, 0.5]] * 33] * 40), "keypoints.frames[0][0]"),
    ("layout unknown", _keypoints(layout="openpose"), "keypoints.layout"),
    ("layout empty", _keypoints(layout=""), "keypoints.layout"),
    ("fps zero", _keypoints(fps=0), "keypoints.fps"),
    ("fps tiny", _keypoints(fps=1e-300), "keypoints.fps"),
    ("fps bool", _keypoints(fps=True), "keypoints.fps"),
    ("image size zero", _keypoints(image_width=0), "keypoints.image_width"),
    ("image size float", _keypoints(image_height=1e30), "keypoints.image_height"),
    ("image size fractional", _keypoints(image_height=1920.5), "keypoints.image_height"),
    ("unknown keypoints key", _keypoints(depth=[1]), "keypoints.depth"),
]


@pytest.mark.parametrize(
    ("keypoints", "expected"),
    [case[1:] for case in SESSION_KEYPOINTS],
    ids=[case[0] for case in SESSION_KEYPOINTS],
)
def test_malformed_keypoints_are_refused_naming_the_field(hostile, keypoints, expected):
    client, _, user, routine = hostile
    before = _stored(client)
    response = client.post(
        "/v1/sessions", headers=user, json={"routine_id": routine, "keypoints": keypoints}
    )
    assert 400 <= response.status_code < 500, response.text
    error = response.json()["error"]
    assert expected in (error.get("field") or ""), error
    assert _stored(client) == before


def _raw(body: str | bytes, content_type: str = "application/json") -> dict:
    content = body.encode() if isinstance(body, str) else body
    return {"content": content, "headers": {"Content-Type": content_type}}


VALID = json.dumps({"routine_id": 1, "keypoints": _keypoints()})
RAW_BODIES = [
    ("empty body", _raw(b""), 422, "JSON"),
    ("not JSON", _raw("routine_id=1"), 422, "JSON"),
    ("truncated JSON", _raw(VALID[: len(VALID) // 2]), 422, "JSON"),
    ("NaN literal", _raw(VALID.replace('"fps": 30', '"fps": NaN')), 422, "JSON"),
    ("1e400", _raw(VALID.replace('"fps": 30', '"fps": 1e400')), 422, "overflow"),
    ("huge integer", _raw(VALID.replace('"fps": 30', '"fps": 1' + "0" * 400)), 422, "overflow"),
    ("invalid UTF-8", _raw(VALID.encode()[:-2] + b"\xff\xfe}}"), 422, "JSON"),
    ("UTF-16", _raw(VALID.encode("utf-16")), 422, "JSON"),
    ("array body", _raw("[1, 2, 3]"), 422, "object"),
    ("deeply nested extra", _raw('{"x": ' + "[" * 5000 + "]" * 5000 + "}"), 422, "deeper"),
    ("many values", _raw('{"x": [' + ",".join(["1"] * 110_000) + "]}"), 413, "values"),
    ("over the body limit", _raw("{" + " " * MAX_BODY + "}"), 413, "exceeds"),
    ("text/plain", _raw(VALID, "text/plain"), 415, "application/json"),
    ("form encoded", _raw("routine_id=1", "application/x-www-form-urlencoded"), 415, "json"),
    ("no content type", {"content": VALID.encode()}, 415, "application/json"),
    ("unknown top-level key", _raw(VALID[:-1] + ', "admin": true}'), 422, "admin"),
    ("routine id zero", _raw(VALID.replace('"routine_id": 1', '"routine_id": 0')), 422, "id"),
    (
        "routine id 2**63",
        _raw(VALID.replace('"routine_id": 1', '"routine_id": 9223372036854775808')),
        422,
        "overflow",
    ),
    (
        "routine id float",
        _raw(VALID.replace('"routine_id": 1', '"routine_id": 1.5')),
        422,
        "routine_id",
    ),
    ("strictness bogus", _raw(VALID[:-1] + ', "strictness": "bogus"}'), 422, "strictness"),
    ("beats not increasing", _raw(VALID[:-1] + ', "beat_times": [2, 1]}'), 422, "beat_times"),
]


@pytest.mark.parametrize(
    ("request_kwargs", "status", "words"),
    [case[1:] for case in RAW_BODIES],
    ids=[case[0] for case in RAW_BODIES],
)
def test_broken_bodies_are_refused_with_their_cause(hostile, request_kwargs, status, words):
    client, _, user, _ = hostile
    before = _stored(client)
    headers = {**user, **request_kwargs.get("headers", {})}
    response = client.post("/v1/sessions", content=request_kwargs["content"], headers=headers)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert words.lower() in f"{error.get('field')} {error['message']}".lower(), error
    assert _stored(client) == before


def _forged(claims: dict, key: str = "not the key", algorithm: str = "HS256") -> dict:
    return {"Authorization": f"Bearer {jwt.encode(claims, key, algorithm=algorithm)}"}


def _signed_for_ana(client, expires: datetime | None) -> dict:
    """A token for ana signed with the service's own key, expiring at ``expires`` (or
    never: no ``exp`` claim)."""
    with client.app.state.sessionmaker() as db:
        ana = db.query(User).filter_by(email="ana@example.com").one()
        claims = {"sub": str(ana.id), "key": ana.token_key}
    if expires is not None:
        claims["exp"] = expires
    return _forged(claims, client.app.state.settings.signing_key)


BAD_TOKENS = [
    ("garbage", lambda c: {"Authorization": "Bearer not-a-token"}),
    ("wrong key", lambda c: _forged({"sub": "2", "key": "x", "exp": 2**40})),
    ("alg none", lambda c: _forged({"sub": "2", "exp": 2**40}, "", "none")),
    ("expired", lambda c: _signed_for_ana(c, datetime.now(UTC) - timedelta(minutes=1))),
    ("no expiry", lambda c: _signed_for_ana(c, None)),
    ("basic auth", lambda c: {"Authorization": "Basic YW5hOnB3"}),
]


@pytest.mark.parametrize("make_headers", [c[1] for c in BAD_TOKENS], ids=[c[0] for c in BAD_TOKENS])
def test_bad_tokens_are_refused(hostile, make_headers):
    client = hostile[0]
    response = client.get("/v1/me", headers=make_headers(client))
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"


OTHER_REQUESTS = [
    ("id zero", "GET", "/v1/sessions/0", {}, 422, "session_id"),
    ("id text", "GET", "/v1/sessions/abc", {}, 422, "session_id"),
    ("id huge", "GET", "/v1/jobs/99999999999999999999", {}, 422, "job_id"),
    ("offset overflow", "GET", "/v1/sessions?offset=9223372036854775808", {}, 422, "offset"),
    ("limit huge", "GET", "/v1/sessions?limit=100000", {}, 422, "limit"),
    ("routine filter text", "GET", "/v1/sessions?routine_id=x", {}, 422, "routine_id"),
    ("unknown platform", "GET", "/v1/models/windows", {}, 422, "platform"),
    (
        "feedback index",
        "POST",
        "/v1/sessions/1/feedback",
        {"json": {"error_index": -1, "verdict": "wrong"}},
        422,
        "error_index",
    ),
    (
        "feedback verdict",
        "POST",
        "/v1/sessions/1/feedback",
        {"json": {"error_index": 0, "verdict": "meh"}},
        422,
        "verdict",
    ),
    (
        "feedback NUL",
        "POST",
        "/v1/sessions/1/feedback",
        {"json": {"error_index": 0, "verdict": "wrong", "comment": "a\x00"}},
        422,
        "comment",
    ),
    (
        "video wrong type",
        "POST",
        "/v1/videos",
        {"data": {"routine_id": "1"}, "files": {"video": ("a.png", b"png", "image/png")}},
        415,
        "video",
    ),
    ("video missing", "POST", "/v1/videos", {"data": {"routine_id": "1"}}, 422, "video"),
    (
        "video beats text",
        "POST",
        "/v1/videos",
        {
            "data": {"routine_id": "1", "beat_times": "soon"},
            "files": {"video": ("a.mp4", b"x", "video/mp4")},
        },
        422,
        "beat_times",
    ),
    (
        "video routine missing",
        "POST",
        "/v1/videos",
        {"data": {"routine_id": "424242"}, "files": {"video": ("a.mp4", b"x", "video/mp4")}},
        404,
        "routine_id",
    ),
    (
        "user makes routine",
        "POST",
        "/v1/routines",
        {"json": {"name": "x", "movement": "squat", "keypoints": _keypoints()}},
        403,
        "trainer",
    ),
    (
        "user routine video",
        "POST",
        "/v1/routines/video",
        {
            "data": {"name": "x", "movement": "squat"},
            "files": {"video": ("a.mp4", b"x", "video/mp4")},
        },
        403,
        "trainer",
    ),
    (
        "user publishes",
        "PATCH",
        "/v1/routines/1",
        {"json": {"published": False}},
        404,
        "routine_id",
    ),
    ("user deletes routine", "DELETE", "/v1/routines/1", {}, 404, "routine_id"),
    ("user exports feedback", "GET", "/v1/admin/feedback", {}, 403, "admin"),
    ("user invites", "POST", "/v1/admin/invitations", {"json": {"role": "admin"}}, 403, "admin"),
    ("user grants", "PUT", "/v1/admin/users/2/role", {"json": {"role": "admin"}}, 403, "admin"),
    ("user reads the shadow scoring", "GET", "/v1/admin/shadow", {}, 403, "admin"),
    (
        "register bad email",
        "POST",
        "/v1/auth/register",
        {"json": {"email": "a@b", "password": "long enough"}},
        422,
        "email",
    ),
    (
        "register NUL email",
        "POST",
        "/v1/auth/register",
        {"json": {"email": "a\x00@b.io", "password": "long enough"}},
        422,
        "email",
    ),
    (
        "register short password",
        "POST",
        "/v1/auth/register",
        {"json": {"email": "z@b.io", "password": "short"}},
        422,
        "password",
    ),
    (
        "register as admin",
        "POST",
        "/v1/auth/register",
        {"json": {"email": "z@b.io", "password": "long enough", "role": "admin"}},
        403,
        "role",
    ),
    (
        "register bad invitation",
        "POST",
        "/v1/auth/register",
        {"json": {"email": "z@b.io", "password": "long enough", "invitation": "12345678"}},
        403,
        "invitation",
    ),
    (
        "login missing password",
        "POST",
        "/v1/auth/login",
        {"data": {"username": "ana@example.com"}},
        422,
        "password",
    ),
    (
        "login JSON",
        "POST",
        "/v1/auth/login",
        {"json": {"username": "a", "password": "b"}},
        422,
        "username",
    ),
    ("method not allowed", "PUT", "/v1/sessions", {}, 405, "method"),
]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "words"),
    [case[1:] for case in OTHER_REQUESTS],
    ids=[case[0] for case in OTHER_REQUESTS],
)
def test_other_bad_requests_name_their_problem(hostile, method, path, kwargs, status, words):
    client, _, user, _ = hostile
    before = _stored(client)
    response = client.request(method, path, headers=user, **kwargs)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert words.lower() in f"{error.get('field')} {error['message']}".lower(), error
    assert _stored(client) == before


START = {"layout": "mediapipe33", "fps": 30, "image_width": 1080, "image_height": 1920}
SOCKET_MESSAGES = [
    ("binary", b"\x00\x01", "protocol"),
    ("not JSON", "hello", "invalid_json"),
    ("deep JSON", "[" * 5000 + "]" * 5000, "invalid_json"),
    ("not a start", json.dumps({"type": "frames"}), "protocol"),
    ("no token", json.dumps({"type": "start", "routine_id": 1, **START}), "unauthorized"),
    (
        "huge fps",
        '{"type": "start", "token": "TOKEN", "routine_id": 1, "layout": "coco17", '
        '"image_width": 10, "image_height": 10, "fps": 1' + "0" * 400 + "}",
        "invalid_input",
    ),
]


@pytest.mark.parametrize(
    ("message", "code"), [c[1:] for c in SOCKET_MESSAGES], ids=[c[0] for c in SOCKET_MESSAGES]
)
def test_socket_misuse_gets_an_error_message_and_a_close(hostile, message, code):
    client, _, user, _ = hostile
    with client.websocket_connect("/v1/live") as socket:
        if isinstance(message, bytes):
            socket.send_bytes(message)
        else:
            socket.send_text(message.replace("TOKEN", user["Authorization"].split()[1]))
        reply = socket.receive_json()
        assert reply["type"] == "error" and reply["error"]["code"] == code, reply
        assert reply["error"]["message"]
        assert socket.receive()["type"] == "websocket.close"
