"""The defects a hostile tester found (issue 15), one test each: every one failed before
the fix. Video decoding is in test_video_limits.py, the live socket in
test_live_hardening.py, the bad-input corpus in test_bad_inputs.py.

Tests that count what is stored, expect ids from 1 or change the app's settings get a
fresh app (``client``, ``settings``); the others share one (``shared_client``)."""

from __future__ import annotations

import json
import logging
import logging.config
import stat
import threading
import tracemalloc

import pytest
from fastapi.testclient import TestClient

from coach_api import security
from coach_api.db import Job
from coach_api.logging_config import log_config
from coach_api.main import create_app
from tests.coach_api.conftest import auth_headers, new_email, wait_job

pytestmark = pytest.mark.slow  # 21 regression tests, most with their own app: ~20 s


def _routine(client, headers, keypoints, published=False) -> dict:
    body = {"name": "Squats", "movement": "squat", "keypoints": keypoints, "published": published}
    response = client.post("/v1/routines", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _token(client, email, password="correct horse") -> dict:
    response = client.post("/v1/auth/login", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


# 1. A deleted account's token must not take over the next account; ids are never reused.
def test_deleted_accounts_token_dies_and_ids_are_never_reused(
    shared_client, trainer_payload, user_payload
):
    client = shared_client
    trainer = auth_headers(client, new_email("coach"), role="trainer")
    routine = _routine(client, trainer, trainer_payload, published=True)
    zed = auth_headers(client, new_email("zed"))
    zed_id = client.get("/v1/me", headers=zed).json()["id"]
    body = {"routine_id": routine["id"], "keypoints": user_payload}
    first_session = client.post("/v1/sessions", headers=zed, json=body).json()["id"]
    assert client.delete("/v1/me", headers=zed).status_code == 204
    newcomer = auth_headers(client, new_email("new"))
    assert client.get("/v1/me", headers=newcomer).json()["id"] > zed_id
    assert client.get("/v1/me", headers=zed).status_code == 401  # the old token is dead
    assert client.post("/v1/sessions", headers=newcomer, json=body).json()["id"] > first_session


# 3. A tiny fps must not buy minutes of CPU.
@pytest.mark.parametrize("fps", [0.01, 1e-300, 4.9, 241])
def test_frame_rates_a_camera_cannot_film_are_refused(shared_client, trainer_payload, fps):
    client = shared_client
    trainer = auth_headers(client, new_email("coach"), role="trainer")
    body = {"name": "x", "movement": "squat", "keypoints": {**trainer_payload, "fps": fps}}
    response = client.post("/v1/routines", headers=trainer, json=body)
    assert response.status_code == 422 and response.json()["error"]["field"] == "keypoints.fps"


def test_work_per_request_is_bounded_after_resampling(settings, trainer_payload):
    settings.max_duration_s = 20.0  # the payload is 10 s at 30 fps; at 10 fps it lasts 30 s
    with TestClient(create_app(settings)) as client:
        trainer = auth_headers(client, "coach@example.com", role="trainer")
        slow = {**trainer_payload, "fps": 10.0}
        response = client.post(
            "/v1/routines",
            headers=trainer,
            json={"name": "x", "movement": "squat", "keypoints": slow},
        )
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_long"


# 4. JSON bodies must not expand in memory before validation, nor before authentication.
def _peak_mb(send) -> tuple[float, object]:
    tracemalloc.start()
    try:
        response = send()
        return tracemalloc.get_traced_memory()[1] / 2**20, response
    finally:
        tracemalloc.stop()


def test_keypoint_bodies_are_bounded_before_and_after_authentication(shared_client):
    client = shared_client
    trainer = auth_headers(client, new_email("coach"), role="trainer")
    frames = ",".join(["[[]]"] * 350_000)  # ~1.75 MB of empty frames (limit: 2 MiB)
    raw = (
        '{"name": "x", "movement": "squat", "keypoints": {"layout": "mediapipe33", "fps": 30,'
        f'"image_width": 1080, "image_height": 1920, "frames": [{frames}]}}}}'
    ).encode()
    json_type = {"Content-Type": "application/json"}
    peak, anonymous = _peak_mb(lambda: client.post("/v1/routines", content=raw, headers=json_type))
    assert anonymous.status_code == 401
    assert peak < 40, peak  # the body (1.75 MB) is read, never decoded
    headers = {**trainer, **json_type}
    peak, refused = _peak_mb(lambda: client.post("/v1/routines", content=raw, headers=headers))
    # json.loads built ~150 MB of lists for this body; the streaming parser stops at frame 0.
    assert refused.status_code == 422 and peak < 40, peak
    assert refused.json()["error"]["field"] == "keypoints.frames[0][0]"
    many = ",".join(["[[1, 2, 0.5]]"] * 20_000)  # more frames than max_frames (18,000)
    raw = raw.replace(frames.encode(), many.encode())
    too_many = client.post("/v1/routines", content=raw, headers=headers)
    assert too_many.status_code == 413, too_many.text
    assert too_many.json()["error"]["field"] == "keypoints.frames"


# 5. Routines are private to their trainer until published, wherever an id is accepted.
def test_private_routines_are_invisible_to_other_users(client, trainer_payload, user_payload):
    trainer = auth_headers(client, "coach@example.com", role="trainer")
    routine = _routine(client, trainer, trainer_payload)
    user = auth_headers(client, "bob@example.com")
    url = f"/v1/routines/{routine['id']}"
    body = {"routine_id": routine["id"], "keypoints": user_payload}
    video = {"video": ("clip.mp4", b"\x00" * 64, "video/mp4")}
    assert client.get(url, headers=user).status_code == 404
    assert client.get("/v1/routines", headers=user).json() == []
    assert client.get(f"{url}/progress", headers=user).status_code == 404
    assert client.post("/v1/sessions", headers=user, json=body).status_code == 404
    upload = client.post(
        "/v1/videos", headers=user, data={"routine_id": routine["id"]}, files=video
    )
    assert upload.status_code == 404
    with client.websocket_connect("/v1/live") as socket:
        token = user["Authorization"].split()[1]
        start = {k: user_payload[k] for k in ("layout", "fps", "image_width", "image_height")}
        socket.send_json({"type": "start", "token": token, "routine_id": routine["id"], **start})
        assert socket.receive_json()["error"]["code"] == "not_found"
    assert not [n for n in client.app.state.settings.blobs.names() if n.startswith("video-")]
    client.patch(url, headers=trainer, json={"published": True})
    assert [r["id"] for r in client.get("/v1/routines", headers=user).json()] == [routine["id"]]
    assert client.post("/v1/sessions", headers=user, json=body).status_code == 201
    assert len(client.get(f"{url}/progress", headers=user).json()) == 1


# 6. Erasing a routine or a trainer always succeeds; users keep their sessions.
def test_trainer_erasure_succeeds_after_users_scored(client, trainer_payload, user_payload):
    trainer = auth_headers(client, "coach@example.com", role="trainer")
    first = _routine(client, trainer, trainer_payload, published=True)
    second = _routine(client, trainer, trainer_payload, published=True)
    user = auth_headers(client, "bob@example.com")
    sessions = [
        client.post(
            "/v1/sessions", headers=user, json={"routine_id": r["id"], "keypoints": user_payload}
        ).json()
        for r in (first, second)
    ]
    assert client.delete(f"/v1/routines/{first['id']}", headers=trainer).status_code == 204
    assert client.delete("/v1/me", headers=trainer).status_code == 204
    blobs = client.app.state.settings.blobs.names()
    assert not [n for n in blobs if n.startswith("routine-")]  # the trainer's motion is gone
    for session in sessions:
        kept = client.get(f"/v1/sessions/{session['id']}", headers=user).json()
        assert kept["report"] == session["report"] and kept["routine_name"] == "Squats"
        page = client.get(f"/v1/sessions/{session['id']}/report.html", headers=user)
        assert page.status_code == 404 and page.json()["error"]["code"] == "routine_deleted"
    progress = client.get(f"/v1/routines/{first['id']}/progress", headers=user)
    assert [p["session_id"] for p in progress.json()] == [sessions[0]["id"]]


# 7. A saturated database pool answers 503 with Retry-After, quickly.
def test_saturated_pool_answers_503_with_retry_after(settings):
    settings.db_pool_size, settings.db_pool_timeout_s = 1, 0.2
    with TestClient(create_app(settings)) as client:
        user = auth_headers(client)
        with client.app.state.db_engine.connect():  # the only connection is busy
            response = client.get("/v1/sessions", headers=user)
        assert response.status_code == 503 and response.headers["retry-after"] == "2"
        assert response.json()["error"]["code"] == "busy"
        assert client.get("/v1/sessions", headers=user).status_code == 200


# 8. Jobs left by a version that kept their input in memory are failed with a reason,
# and their videos deleted unless kept (durable jobs are retried: tests/coach_api/test_jobs.py).
def test_jobs_interrupted_by_a_crash_are_failed_and_cleaned(settings):
    settings.job_retry_delay_s = 0.1
    with TestClient(create_app(settings)) as client:
        auth_headers(client)
        blobs = client.app.state.settings.blobs
        blobs.put("video-lost.mp4", b"video")
        blobs.put("video-kept.mp4", b"video")
        with client.app.state.sessionmaker() as db:
            db.add_all(
                [
                    Job(user_id=1, status="done", session_id=None),
                    Job(user_id=1, status="running", video_blob="video-lost.mp4"),
                    Job(user_id=1, status="queued", video_blob="video-kept.mp4", keep_video=True),
                ]
            )
            db.commit()
    with TestClient(create_app(settings)) as client:  # the restart
        user = _token(client, "ana@example.com")
        jobs = [wait_job(client, user, i) for i in (1, 2, 3)]
        assert [j["status"] for j in jobs] == ["done", "failed", "failed"]
        assert "submit it again" in jobs[1]["error"]
        assert client.app.state.settings.blobs.names() == ["video-kept.mp4"]


# 9. Roles are granted, never self-made; routines are trainer-only; emails normalised.
def test_roles_are_granted_and_routines_are_trainer_only(client, trainer_payload):
    register = client.post(
        "/v1/auth/register",
        json={"email": "mallory@example.com", "password": "correct horse", "role": "trainer"},
    )
    assert register.status_code == 403 and register.json()["error"]["code"] == "invitation_required"
    user = auth_headers(client, " Ana@Example.COM ")
    assert client.get("/v1/me", headers=user).json() == {
        "id": 1,
        "email": "ana@example.com",
        "role": "user",
    }
    again = client.post(
        "/v1/auth/register", json={"email": "ANA@example.com", "password": "correct horse"}
    )
    assert again.status_code == 409
    body = {"name": "x", "movement": "squat", "keypoints": trainer_payload}
    refused = client.post("/v1/routines", headers=user, json=body)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "trainer_only"
    # An admin invites a trainer; the code works once.
    admin = auth_headers(client, "boss@example.com", role="admin")
    assert client.post("/v1/admin/invitations", headers=user, json={}).status_code == 403
    code = client.post("/v1/admin/invitations", headers=admin, json={}).json()["code"]
    invited = {"email": "coach@example.com", "password": "correct horse", "invitation": code}
    created = client.post("/v1/auth/register", json=invited)
    assert created.status_code == 201 and created.json()["role"] == "trainer"
    reused = client.post("/v1/auth/register", json={**invited, "email": "eve@example.com"})
    assert reused.status_code == 403 and reused.json()["error"]["code"] == "invalid_invitation"
    # An admin grants a role.
    granted = client.put("/v1/admin/users/1/role", headers=admin, json={"role": "trainer"})
    assert granted.status_code == 200 and granted.json()["role"] == "trainer"
    assert client.post("/v1/routines", headers=user, json=body).status_code == 201


# 10. Logins are throttled per account and per client, and bounded in memory.
def test_failed_logins_lock_the_account_for_a_while(settings):
    settings.login_failures_per_account = 5
    with TestClient(create_app(settings)) as client:
        auth_headers(client)
        wrong = {"username": "ana@example.com", "password": "wrong password"}
        codes = [client.post("/v1/auth/login", data=wrong).status_code for _ in range(6)]
        assert codes == [401] * 5 + [429]
        right = client.post(
            "/v1/auth/login", data={"username": "ANA@example.com", "password": "correct horse"}
        )
        assert right.status_code == 429 and int(right.headers["retry-after"]) > 0


def test_logins_per_client_are_limited(settings):
    settings.login_per_minute, settings.signup_per_minute = 3.0, 2.0
    with TestClient(create_app(settings)) as client:
        signups = [
            client.post(
                "/v1/auth/register", json={"email": f"u{i}@example.com", "password": "long enough"}
            ).status_code
            for i in range(3)
        ]
        assert signups == [201, 201, 429]
        logins = [
            client.post(
                "/v1/auth/login", data={"username": f"x{i}@example.com", "password": "whatever!"}
            )
            for i in range(4)
        ]
        assert [r.status_code for r in logins] == [401, 401, 401, 429]
        assert "retry-after" in logins[-1].headers


def test_unknown_emails_cost_a_hash_and_hashing_is_bounded(shared_client, monkeypatch):
    client, email = shared_client, new_email()
    auth_headers(client, email)
    verified = []
    monkeypatch.setattr(security, "_hasher", _Spy(security._hasher, verified.append))
    client.post("/v1/auth/login", data={"username": "nobody@example.com", "password": "guess!!"})
    assert verified == [security._DUMMY_HASH]  # as slow as a wrong password
    monkeypatch.setattr(security, "HASHING_WAIT_S", 0.1)
    taken = [security._hashing.acquire() for _ in range(security.HASHING_SLOTS)]
    try:
        busy = client.post("/v1/auth/login", data={"username": email, "password": "correct horse"})
    finally:
        for _ in taken:
            security._hashing.release()
    assert busy.status_code == 503 and busy.json()["error"]["code"] == "busy"


class _Spy:
    """A password hasher that reports each ``verify`` (its hash) before and after it."""

    def __init__(self, hasher, before, after=lambda: None) -> None:
        self.hasher, self.before, self.after = hasher, before, after

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, hashed: str, password: str) -> bool:
        self.before(hashed)
        try:
            return self.hasher.verify(hashed, password)
        finally:
            self.after()


# 12, 13. Bad values get a 4xx naming the field, never a 500, and are never stored.
def _keypoints_with(payload: dict, **changes) -> dict:
    keypoints = json.loads(json.dumps(payload))
    keypoints.update(changes)
    return keypoints


def test_hostile_values_are_refused_with_their_field(client, trainer_payload):
    trainer = auth_headers(client, "coach@example.com", role="trainer")
    zero_scores = _keypoints_with(trainer_payload)
    zero_scores["frames"] = [[[x, y, 0.0] for x, y, _ in f] for f in zero_scores["frames"]]
    one_point = _keypoints_with(trainer_payload)
    one_point["frames"] = [[[500.0, 500.0, 0.9]] * 33 for _ in one_point["frames"]]
    huge_x = _keypoints_with(trainer_payload)
    huge_x["frames"][3][5] = [1e300, 10.0, 0.9]
    huge = {"name": "x", "movement": "squat", "keypoints": {**trainer_payload, "image_width": 1}}
    raw = json.dumps(huge).replace('"image_width": 1', '"image_width": 1' + "0" * 400)
    response = client.post(
        "/v1/routines", headers={**trainer, "Content-Type": "application/json"}, content=raw
    )
    assert response.status_code == 422 and "integer overflow" in response.json()["error"]["message"]
    cases = [
        (_keypoints_with(trainer_payload, image_width=1e30), "keypoints.image_width"),
        (zero_scores, "keypoints.frames"),
        (one_point, "keypoints.frames"),
        (huge_x, "keypoints.frames[3][5]"),
    ]
    for keypoints, field in cases:
        body = {"name": "x", "movement": "squat", "keypoints": keypoints}
        response = client.post("/v1/routines", headers=trainer, json=body)
        assert response.status_code == 422, (field, response.text)
        assert response.json()["error"]["field"] == field
    named = {"name": "a\x00b", "movement": "squat", "keypoints": trainer_payload}
    response = client.post("/v1/routines", headers=trainer, json=named)
    assert response.status_code == 422 and response.json()["error"]["field"] == "name"
    wrong_type = client.post(
        "/v1/routines", headers={**trainer, "Content-Type": "text/plain"}, content=b"{}"
    )
    assert (
        wrong_type.status_code == 415
        and "application/json" in wrong_type.json()["error"]["message"]
    )
    offset = client.get("/v1/sessions?offset=9223372036854775808", headers=trainer)
    assert offset.status_code == 422 and offset.json()["error"]["field"] == "query.offset"
    assert client.get("/v1/routines", headers=trainer).json() == []  # nothing stored


def test_media_type_parameters_are_accepted(shared_client, trainer_payload):
    client = shared_client
    trainer = auth_headers(client, new_email("coach"), role="trainer")
    routine = _routine(client, trainer, trainer_payload)
    upload = client.post(
        "/v1/videos",
        headers=trainer,
        data={"routine_id": routine["id"]},
        files={"video": ("clip.mp4", b"\x00" * 64, "video/mp4; codecs=avc1")},
    )
    assert upload.status_code == 202, upload.text


# 14. Invalid requests spend no rate tokens; 429 says when to retry.
def test_only_valid_requests_spend_rate_tokens(settings, trainer_payload):
    settings.rate_per_minute, settings.rate_burst = 1.0, 2
    with TestClient(create_app(settings)) as client:
        trainer = auth_headers(client, "coach@example.com", role="trainer")
        bad = {"name": "x", "movement": "squat", "keypoints": {**trainer_payload, "fps": -1}}
        for _ in range(5):
            assert client.post("/v1/routines", headers=trainer, json=bad).status_code == 422
        good = {"name": "x", "movement": "squat", "keypoints": trainer_payload}
        codes = [client.post("/v1/routines", headers=trainer, json=good) for _ in range(3)]
        assert [c.status_code for c in codes] == [201, 201, 429]
        assert 1 <= int(codes[-1].headers["retry-after"]) <= 120


# 15. Private files, safe pages, and a request log under `coach serve`.
def test_data_files_are_private_and_pages_are_locked_down(
    shared_client, trainer_payload, user_payload
):
    client, settings = shared_client, shared_client.app.state.settings
    trainer = auth_headers(client, new_email("coach"), role="trainer")
    routine = _routine(client, trainer, trainer_payload)
    session = client.post(
        "/v1/sessions",
        headers=trainer,
        json={"routine_id": routine["id"], "keypoints": user_payload},
    ).json()
    settings.signing_key  # noqa: B018 - made on first use
    data = settings.data_dir
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for path in [data / "coach.db", data / "secret.key", *(data / "blobs").iterdir()]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    page = client.get(f"/v1/sessions/{session['id']}/report.html", headers=trainer)
    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"


def test_serve_logs_json_request_lines_and_redacts_tokens(capfd):
    logging.config.dictConfig(log_config())
    try:
        logging.getLogger("coach_api.requests").info('{"path": "/v1/me", "status": 200}')
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d',
            "1.2.3.4",
            "GET",
            "/v1/live?token=abc.def.ghi&x=1",
            "1.1",
            101,
        )
        logged = capfd.readouterr().err
    finally:
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
    assert '{"path": "/v1/me", "status": 200}' in logged
    assert "abc.def.ghi" not in logged and "token=[redacted]&x=1" in logged


def test_concurrent_hashing_never_exceeds_its_slots(shared_client, monkeypatch):
    client, email = shared_client, new_email()
    auth_headers(client, email)
    running, peak, lock = [0], [0], threading.Lock()

    def enter(_hash):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])

    def leave():
        with lock:
            running[0] -= 1

    monkeypatch.setattr(security, "_hasher", _Spy(security._hasher, enter, leave))
    form = {"username": email, "password": "correct horse"}
    threads = [
        threading.Thread(target=lambda: client.post("/v1/auth/login", data=form)) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 1 <= peak[0] <= security.HASHING_SLOTS
