import copy
import re
from contextlib import contextmanager
from itertools import pairwise

import pytest

from tests.coach_api.conftest import auth_headers, new_email, wait_job


def _routine(client, headers, trainer_payload, name="Squats"):
    response = client.post(
        "/v1/routines",
        headers=headers,
        json={"name": name, "movement": "squat", "keypoints": trainer_payload, "published": True},
    )
    assert response.status_code == 201, response.text
    return response.json()


def _scored_session(client, trainer_payload, user_payload):
    """A trainer with a routine and a user with one scored session: (trainer headers,
    routine, user headers, the session response)."""
    trainer = auth_headers(client, new_email("coach"), role="trainer")
    routine = _routine(client, trainer, trainer_payload)
    user = auth_headers(client, new_email())
    body = {"routine_id": routine["id"], "keypoints": user_payload}
    return trainer, routine, user, client.post("/v1/sessions", headers=user, json=body)


def test_auth_flow_and_errors(shared_client):
    client, email = shared_client, new_email()
    headers = auth_headers(client, email)
    me = client.get("/v1/me", headers=headers).json()
    assert me["email"] == email and me["role"] == "user"
    duplicate = client.post(
        "/v1/auth/register", json={"email": email.upper(), "password": "another pass"}
    )
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "email_taken"
    wrong = client.post("/v1/auth/login", data={"username": email, "password": "nope nope"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "bad_credentials"
    assert client.get("/v1/me").status_code == 401
    assert client.get("/v1/me", headers={"Authorization": "Bearer forged"}).status_code == 401
    short = client.post("/v1/auth/register", json={"email": "b@example.com", "password": "short"})
    assert short.status_code == 422 and short.json()["error"]["field"] == "password"


def test_routine_and_session_flow(client, trainer_payload, user_payload):
    trainer = auth_headers(client, "coach@example.com", role="trainer")
    routine = _routine(client, trainer, trainer_payload)
    assert routine["movement"] == "squat" and routine["reps"] >= 1
    assert [r["id"] for r in client.get("/v1/routines", headers=trainer).json()] == [routine["id"]]
    user = auth_headers(client)
    created = client.post(
        "/v1/sessions", headers=user, json={"routine_id": routine["id"], "keypoints": user_payload}
    )
    assert created.status_code == 201, created.text
    report = created.json()["report"]
    assert set(report) >= {"score", "segments", "reps", "tempo", "errors", "model_version"}
    assert report["model_version"] == "api-test" and 0 <= report["score"] <= 100
    session_id = created.json()["id"]
    assert client.get(f"/v1/sessions/{session_id}", headers=user).json()["id"] == session_id
    for _ in range(2):
        client.post(
            "/v1/sessions",
            headers=user,
            json={"routine_id": routine["id"], "keypoints": user_payload},
        )
    page = client.get("/v1/sessions?limit=2&offset=0", headers=user).json()
    assert page["total"] == 3 and len(page["items"]) == 2
    assert (
        client.get("/v1/sessions?limit=2&offset=2", headers=user).json()["items"][0]["id"]
        == session_id
    )


@pytest.mark.slow
def test_users_see_only_their_own_data(shared_client, trainer_payload, user_payload):
    client = shared_client
    trainer = auth_headers(client, new_email("coach"), role="trainer")
    routine = _routine(client, trainer, trainer_payload)
    ana, bob = auth_headers(client, new_email("ana")), auth_headers(client, new_email("bob"))
    session = client.post(
        "/v1/sessions", headers=ana, json={"routine_id": routine["id"], "keypoints": user_payload}
    ).json()
    assert client.get(f"/v1/sessions/{session['id']}", headers=bob).status_code == 404
    assert client.get("/v1/sessions", headers=bob).json()["total"] == 0
    other_trainer = auth_headers(client, new_email("other"), role="trainer")
    # A published routine is in everyone's catalogue, but only its trainer may change it.
    assert client.get(f"/v1/routines/{routine['id']}", headers=other_trainer).status_code == 200
    assert client.delete(f"/v1/routines/{routine['id']}", headers=other_trainer).status_code == 404
    patch = {"published": False}
    url = f"/v1/routines/{routine['id']}"
    assert client.patch(url, headers=other_trainer, json=patch).status_code == 404
    assert client.patch(url, headers=trainer, json=patch).json()["published"] is False
    assert client.get(url, headers=other_trainer).status_code == 404


def test_malformed_keypoints_name_the_field(client, trainer_payload):
    headers = auth_headers(client, "coach@example.com", role="trainer")
    cases = []
    bad = copy.deepcopy(trainer_payload)
    bad["frames"][5] = bad["frames"][5][:17]
    cases.append((bad, "keypoints.frames[5]"))
    cases.append(({**trainer_payload, "fps": 0}, "keypoints.fps"))
    cases.append(({**trainer_payload, "image_width": -1}, "keypoints.image_width"))
    cases.append(({**trainer_payload, "layout": "openpose"}, "keypoints.layout"))
    cases.append(({**trainer_payload, "frames": trainer_payload["frames"][:3]}, "keypoints.frames"))
    bad = copy.deepcopy(trainer_payload)
    bad["frames"][2][4] = ["x", 1.0, 0.5]
    cases.append((bad, "keypoints.frames[2][4][0]"))
    for keypoints, field in cases:
        response = client.post(
            "/v1/routines",
            headers=headers,
            json={"name": "x", "movement": "squat", "keypoints": keypoints},
        )
        assert response.status_code == 422, (field, response.text)
        assert response.json()["error"]["field"] == field
    unknown = client.post(
        "/v1/routines",
        headers=headers,
        json={"name": "x", "movement": "squat", "keypoints": {**trainer_payload, "extra": 1}},
    )
    assert unknown.status_code == 422 and unknown.json()["error"]["field"].startswith(
        "keypoints.extra"
    )
    missing = client.post(
        "/v1/sessions", headers=headers, json={"routine_id": 999, "keypoints": trainer_payload}
    )
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "routine_id"
    assert not client.app.state.settings.blobs.names()  # nothing half-stored


def test_oversized_bodies_are_refused_while_reading(shared_client):
    """Endpoints with small bodies keep a small limit (keypoint bodies and videos have
    their own: test_body_limits.py)."""
    client = shared_client
    headers = {**auth_headers(client, new_email()), "Content-Type": "application/json"}
    limit = client.app.state.settings.max_body_bytes
    big = b'{"name": "' + b"x" * limit + b'"}'
    for method, url in (
        ("POST", "/v1/auth/register"),
        ("PATCH", "/v1/routines/1"),
        ("POST", "/v1/sessions/1/feedback"),
    ):
        declared = client.request(method, url, headers=headers, content=big)
        assert declared.status_code == 413, (url, declared.text)
        assert declared.json()["error"]["code"] == "payload_too_large"

    def chunks():
        for _ in range(40):
            yield b"x" * 2**12

    streamed = client.patch("/v1/routines/1", headers=headers, content=chunks())
    assert streamed.status_code == 413


@pytest.mark.slow
def test_delete_me_erases_everything(client, trainer_payload, user_payload):
    trainer = auth_headers(client, "coach@example.com", role="trainer")
    routine = _routine(client, trainer, trainer_payload)
    user = auth_headers(client)
    client.post(
        "/v1/sessions", headers=user, json={"routine_id": routine["id"], "keypoints": user_payload}
    )
    blobs = client.app.state.settings.blobs
    assert len(blobs.names()) == 3  # the routine's motion, the session's and its keypoints
    assert client.delete("/v1/me", headers=user).status_code == 204
    assert len(blobs.names()) == 1  # only the trainer's routine remains
    assert client.get("/v1/me", headers=user).status_code == 401


def test_ops_and_openapi(shared_client):
    client = shared_client
    assert client.get("/v1/healthz").json() == {"status": "ok"}
    assert client.get("/v1/readyz").json() == {"status": "ready"}
    models = {m["kind"]: m for m in client.get("/v1/models").json()}
    assert list(models) == ["lifter-causal", "lifter-recordings", "detector", "knee-net"]
    # One configured checkpoint lifts live streams and recordings alike.
    for kind in ("lifter-causal", "lifter-recordings"):
        assert models[kind]["version"] == "api-test" and models[kind]["causal"] is True
        assert models[kind]["source"] == "file" and models[kind]["registered_version"] is None
    assert models["detector"]["source"] == "bundled" and models["detector"]["causal"] is None
    # The figures recorded beside the bundled detector, as a registry version shows them.
    assert 0.5 < models["detector"]["metrics"]["validation.lifted.macro_f1"] <= 1
    schema = client.get("/v1/openapi.json").json()
    ids = {op["operationId"] for path in schema["paths"].values() for op in path.values()}
    assert {
        "register",
        "login",
        "createRoutine",
        "createSession",
        "listSessions",
        "deleteMe",
    } <= ids
    missing = client.get("/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_session_report_page(shared_client, trainer_payload, user_payload):
    client = shared_client
    trainer = auth_headers(client, new_email("coach"), role="trainer")
    routine = _routine(client, trainer, trainer_payload)
    user = auth_headers(client, new_email())
    session = client.post(
        "/v1/sessions", headers=user, json={"routine_id": routine["id"], "keypoints": user_payload}
    ).json()
    page = client.get(f"/v1/sessions/{session['id']}/report.html", headers=user)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<!doctype html>" in page.text and "data:image/png;base64," in page.text
    # Readable on a phone, every image described (the page is tested in tests/scoring).
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page.text
    images = re.findall(r"<img [^>]*>", page.text)
    assert images and all(re.search(r' alt="[^"]{20,}"', image) for image in images)
    other = auth_headers(client, new_email("bob"))
    assert client.get(f"/v1/sessions/{session['id']}/report.html", headers=other).status_code == 404


@contextmanager
def _live_socket(client, trainer_payload, user_payload):
    """A user's live socket on a trainer's routine, the start message sent."""
    trainer = auth_headers(client, new_email("coach"), role="trainer")
    routine = _routine(client, trainer, trainer_payload)
    token = auth_headers(client, new_email())["Authorization"].split()[1]
    header = {k: user_payload[k] for k in ("layout", "fps", "image_width", "image_height")}
    with client.websocket_connect("/v1/live") as socket:
        socket.send_json({"type": "start", "token": token, "routine_id": routine["id"], **header})
        yield socket


@pytest.mark.parametrize(
    "batch",
    [5, pytest.param(30, marks=pytest.mark.slow)],
    ids=["small batches: event loop", "large: pool"],
)
def test_live_websocket_streams_reps_and_a_summary(
    shared_client, trainer_payload, user_payload, batch
):
    with _live_socket(shared_client, trainer_payload, user_payload) as socket:
        ready = socket.receive_json()
        assert ready["type"] == "ready" and ready["receptive_field"] == 9
        frames = user_payload["frames"]
        reps, progress = [], 0
        for start in range(0, len(frames), batch):
            socket.send_json({"type": "frames", "frames": frames[start : start + batch]})
            message = socket.receive_json()
            while message["type"] in ("rep", "checkpoint"):
                reps += [message] if message["type"] == "rep" else []
                message = socket.receive_json()
            assert message["type"] == "progress" and message["frames"] > progress
            progress = message["frames"]
        socket.send_json({"type": "stop"})
        message = socket.receive_json()
        while message["type"] in ("rep", "checkpoint"):
            reps += [message] if message["type"] == "rep" else []
            message = socket.receive_json()
        assert message["type"] == "summary" and message["report"]["reps"] >= 1
        assert progress == len(frames)
        # Finished repetitions were reported once each, in order, before the summary.
        assert len(reps) >= 1 and [r["rep"] for r in reps] == list(range(1, len(reps) + 1))
        assert all(a["end_s"] <= b["start_s"] + 1e-6 for a, b in pairwise(reps))


def test_live_stream_faster_than_real_time_is_stopped(
    shared_client, trainer_payload, user_payload, monkeypatch
):
    monkeypatch.setattr(shared_client.app.state.settings, "live_burst_s", 1.0)
    with _live_socket(shared_client, trainer_payload, user_payload) as socket:
        assert socket.receive_json()["type"] == "ready"
        socket.send_json({"type": "frames", "frames": user_payload["frames"][:20]})
        assert socket.receive_json()["type"] == "progress"  # within the 1-s allowance
        socket.send_json({"type": "frames", "frames": user_payload["frames"][20:100]})
        error = socket.receive_json()
        while error["type"] == "checkpoint":  # the first may come after the first batch
            error = socket.receive_json()
        assert error["type"] == "error" and error["error"]["code"] == "too_fast"
        assert error["error"]["field"] == "frames"


def test_live_websocket_rejects_bad_starts(shared_client):
    client = shared_client
    with client.websocket_connect("/v1/live") as socket:
        socket.send_json(
            {
                "type": "start",
                "routine_id": 1,
                "layout": "coco17",
                "fps": 30,
                "image_width": 100,
                "image_height": 100,
            }
        )
        assert socket.receive_json()["error"]["code"] == "unauthorized"
    with client.websocket_connect("/v1/live") as socket:
        socket.send_json({"type": "frames"})
        assert socket.receive_json()["error"]["code"] == "protocol"


def test_rate_limit_metrics_and_request_ids(settings, trainer_payload):
    from fastapi.testclient import TestClient

    from coach_api.main import create_app

    settings.rate_per_minute, settings.rate_burst = 1.0, 2
    with TestClient(create_app(settings)) as client:
        headers = auth_headers(client, "coach@example.com", role="trainer")
        body = {"name": "x", "movement": "squat", "keypoints": trainer_payload}
        codes = [
            client.post("/v1/routines", headers=headers, json=body).status_code for _ in range(3)
        ]
        assert codes == [201, 201, 429]
        limited = client.post("/v1/routines", headers=headers, json=body)
        assert limited.json()["error"]["code"] == "rate_limited"
        response = client.get("/v1/healthz", headers={"X-Request-ID": "abc123"})
        assert response.headers["x-request-id"] == "abc123"
        assert len(client.get("/v1/healthz").headers["x-request-id"]) == 32
        metrics = client.get("/v1/metrics").text
        assert (
            'coach_request_seconds_count{method="POST",route="/routines",status="201"} 2.0'
            in metrics
        )
        assert (
            'coach_request_seconds_count{method="POST",route="/routines",status="429"} 2.0'
            in metrics
        )
        assert 'coach_work_seconds_count{step="build_reference"} 2.0' in metrics


@pytest.mark.slow
def test_feedback_on_cues_is_kept_and_exported_to_admins(settings, trainer_payload, user_payload):
    from fastapi.testclient import TestClient

    from coach_api.main import create_app

    with TestClient(create_app(settings)) as client:
        _, _, user, session = _scored_session(client, trainer_payload, user_payload)
        session = session.json()
        cues = len(session["report"]["errors"])
        out_of_range = client.post(
            f"/v1/sessions/{session['id']}/feedback",
            headers=user,
            json={"error_index": cues, "verdict": "wrong"},
        )
        assert (
            out_of_range.status_code == 422
            and out_of_range.json()["error"]["field"] == "error_index"
        )
        if cues:
            given = client.post(
                f"/v1/sessions/{session['id']}/feedback",
                headers=user,
                json={"error_index": 0, "verdict": "wrong"},
            )
            assert (
                given.status_code == 201
                and given.json()["kind"] == session["report"]["errors"][0]["kind"]
            )
        assert client.get("/v1/admin/feedback", headers=user).status_code == 403
        admin = auth_headers(client, "boss@example.com", role="admin")
        exported = client.get("/v1/admin/feedback", headers=admin).json()
        assert len(exported) == (1 if cues else 0)


@pytest.mark.slow
def test_phone_models_are_served_per_platform(settings):
    import io
    import json
    import zipfile

    from fastapi.testclient import TestClient

    from coach_api.main import create_app
    from mobile_export.export import export_all

    with TestClient(create_app(settings)) as client:
        missing = client.get("/v1/models/android")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_exported"
        export_all(settings.phone_artifacts, ["onnx", "coreml"], "fp16", settings.lifter_checkpoint)
        android = client.get("/v1/models/android").json()
        assert set(android["artifacts"]) == {"lifter_stream.onnx", "lifter_window.onnx"}
        onnx_bytes = client.get("/v1/models/android/lifter_stream.onnx").content
        import hashlib

        assert (
            hashlib.sha256(onnx_bytes).hexdigest()
            == android["artifacts"]["lifter_stream.onnx"]["sha256"]
        )
        ios = client.get("/v1/models/ios").json()
        assert set(ios["artifacts"]) == {"LifterStream.mlpackage", "LifterWindow.mlpackage"}
        package = client.get("/v1/models/ios/LifterStream.mlpackage")
        assert package.headers["content-type"] == "application/zip"
        assert any(
            n.endswith("Manifest.json")
            for n in zipfile.ZipFile(io.BytesIO(package.content)).namelist()
        )
        assert client.get("/v1/models/ios/lifter_stream.onnx").status_code == 404
        unknown = client.get("/v1/models/windows")  # the platform is an enum in the schema
        assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "path.platform"
        assert json.loads(json.dumps(ios))["receptive_field"] == 9


@pytest.mark.slow
def test_blobs_in_a_gcs_bucket(settings, trainer_payload, user_payload, gcs_emulator):
    from fastapi.testclient import TestClient

    from coach_api.main import create_app

    settings.gcs_bucket = gcs_emulator.removeprefix("gs://")
    with TestClient(create_app(settings)) as client:
        _, _, user, session = _scored_session(client, trainer_payload, user_payload)
        assert session.status_code == 201
        blobs = client.app.state.settings.blobs
        assert len(blobs.names()) == 3 and not (settings.data_dir / "blobs").exists()
        assert (
            client.get(f"/v1/sessions/{session.json()['id']}/report.html", headers=user).status_code
            == 200
        )
        assert client.delete("/v1/me", headers=user).status_code == 204
        assert len(blobs.names()) == 1


@pytest.mark.slow
def test_long_sessions_become_background_jobs(settings, trainer_payload, user_payload):
    import time

    from fastapi.testclient import TestClient

    from coach_api.main import create_app

    settings.background_frames = 100  # the user's session is longer than this
    with TestClient(create_app(settings)) as client:
        trainer = auth_headers(client, "coach@example.com", role="trainer")
        routine = _routine(client, trainer, trainer_payload)
        user = auth_headers(client)
        body = {"routine_id": routine["id"], "keypoints": user_payload}
        waited = client.post("/v1/sessions", headers=user, json=body)
        assert waited.status_code == 422
        assert waited.json()["error"]["code"] == "too_long_to_wait"
        assert "/v1/session-jobs" in waited.json()["error"]["message"]
        accepted = client.post("/v1/session-jobs", headers=user, json=body)
        assert accepted.status_code == 202 and accepted.json()["status"] in (
            "queued",
            "running",
            "done",
        )
        job_id = accepted.json()["id"]
        for _ in range(200):
            job = client.get(f"/v1/jobs/{job_id}", headers=user).json()
            if job["status"] in ("done", "failed"):
                break
            time.sleep(0.05)
        assert job["status"] == "done" and job["error"] == ""
        session = client.get(f"/v1/sessions/{job['session_id']}", headers=user)
        assert session.status_code == 200 and "score" in session.json()["report"]
        other = auth_headers(client, "bob@example.com")
        assert client.get(f"/v1/jobs/{job_id}", headers=other).status_code == 404


@pytest.mark.slow
def test_video_uploads_are_checked_and_failures_explained(client, trainer_payload, tmp_path):
    import cv2
    import numpy as np

    trainer = auth_headers(client, "coach@example.com", role="trainer")
    routine = _routine(client, trainer, trainer_payload)
    user = auth_headers(client)
    wrong_type = client.post(
        "/v1/videos",
        headers=user,
        data={"routine_id": routine["id"]},
        files={"video": ("notes.txt", b"hello", "text/plain")},
    )
    assert wrong_type.status_code == 415 and wrong_type.json()["error"]["field"] == "video"
    settings = client.app.state.settings
    settings.pose_task = tmp_path / "pose.task"  # present: the video itself is looked at
    settings.pose_task.write_bytes(b"not read: the video fails first")
    corrupt = client.post(
        "/v1/videos",
        headers=user,
        data={"routine_id": routine["id"]},
        files={"video": ("x.mp4", b"\x00\x01 not a video", "video/mp4")},
    )
    assert corrupt.status_code == 202
    job = wait_job(client, user, corrupt.json()["id"])
    assert job["status"] == "failed"
    assert "cannot be opened" in job["error"] or "no decodable frames" in job["error"]
    settings.pose_task = None
    # A real (tiny) video without a configured pose model: a clear reason, and the video deleted.
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 48))
    for i in range(10):
        writer.write(np.full((48, 64, 3), i * 20, dtype=np.uint8))
    writer.release()
    upload = client.post(
        "/v1/videos",
        headers=user,
        data={"routine_id": routine["id"]},
        files={"video": ("clip.avi", path.read_bytes(), "video/x-msvideo")},
    )
    job = wait_job(client, user, upload.json()["id"])
    assert job["status"] == "failed" and "COACH_POSE_TASK" in job["error"]
    assert not [n for n in client.app.state.settings.blobs.names() if n.startswith("video-")]


@pytest.mark.slow
def test_progress_per_routine(shared_client, trainer_payload, user_payload):
    client = shared_client
    trainer = auth_headers(client, new_email("coach"), role="trainer")
    routine = _routine(client, trainer, trainer_payload)
    user = auth_headers(client, new_email())
    ids = [
        client.post(
            "/v1/sessions",
            headers=user,
            json={"routine_id": routine["id"], "keypoints": user_payload},
        ).json()["id"]
        for _ in range(2)
    ]
    progress = client.get(f"/v1/routines/{routine['id']}/progress", headers=user).json()
    assert [p["session_id"] for p in progress] == ids
    assert all(0 <= p["score"] <= 100 and p["reps"] >= 0 for p in progress)
    other = auth_headers(client, new_email("bob"))
    assert client.get(f"/v1/routines/{routine['id']}/progress", headers=other).json() == []


def test_default_settings_serve_the_bundled_lifter_once(tmp_path):
    from fastapi.testclient import TestClient

    from coach_api.main import create_app
    from coach_api.settings import Settings
    from pose3d.lifter import DEFAULT_CHECKPOINT, OFFLINE_CHECKPOINT, Lifter

    with TestClient(create_app(Settings(data_dir=tmp_path / "data"))) as client:
        models = client.get("/v1/models").json()
    recordings = OFFLINE_CHECKPOINT if OFFLINE_CHECKPOINT.is_file() else DEFAULT_CHECKPOINT
    lifters = (DEFAULT_CHECKPOINT, recordings)
    expected = [Lifter.from_checkpoint(path).metadata.version for path in lifters]
    assert [m["version"] for m in models if m["kind"].startswith("lifter")] == expected


def test_live_session_keeps_the_phone_landmarks_of_its_lifted_frames(user_payload):
    """The detector's 2D knee and heel measures need the landmarks of exactly the frames
    that were lifted, in the same order."""
    from types import SimpleNamespace

    import numpy as np

    from pose3d.checkpoint import LifterMetadata
    from pose3d.lifter import Lifter
    from scoring.live import LiveSession
    from tests.conftest import make_model

    model = make_model((3, 3), causal=True, channels=16)
    lifter = Lifter(model, LifterMetadata(architecture=model.hyperparameters, fps=30))
    header = {k: user_payload[k] for k in ("layout", "fps", "image_width", "image_height")}
    session = LiveSession(SimpleNamespace(lifter=lifter), None, header, "intermediate")
    frames = user_payload["frames"][:40]
    assert session.push(frames[:25]) == len(session.poses)
    session.push(frames[25:])
    keypoints, scores = session.received()
    assert len(keypoints) == len(scores) == len(session.poses) == 40
    sent = np.array([[point[:2] for point in frame] for frame in frames], dtype=np.float32)
    assert np.allclose(keypoints[-1], sent[-1], equal_nan=True)
    assert np.allclose(keypoints[:, 0], sent[:, 0], equal_nan=True)
    assert session.received(100, 120) is None
