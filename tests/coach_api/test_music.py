"""Routines done to music: the beats reach the scorer from routines, sessions and live.

The tests share one app (none needs a fresh database): each registers its own users."""

import json

import pytest

from coach_api.db import Routine, WorkoutSession
from coach_api.report_page import session_beat_times
from synthetic_data.detector import phone_json
from synthetic_data.generator import ClipRequest, generate_clip, trainer_clip
from tests.coach_api.conftest import auth_headers, new_email, wait_job

pytestmark = pytest.mark.slow  # dances scored through the API


@pytest.fixture(scope="module")
def dance():
    """The trainer's dance and a user's, as the phone sends them, with their beat times."""
    trainer = trainer_clip("dance")
    user = generate_clip(ClipRequest(seed=2, movement="dance", num_reps=2, errors=[]))
    return {
        "trainer": phone_json(trainer),
        "trainer_beats": [float(b) for b in trainer.beat_times],
        "user": phone_json(user, seed=1),
        "user_beats": [float(b) for b in user.beat_times],
    }


@pytest.fixture(scope="module")
def client(shared_client):
    return shared_client


def _dance_routine(client, dance, trainer_email=None, **music):
    """A new trainer's (``trainer_email``) published dance routine: the response."""
    trainer = auth_headers(client, trainer_email or new_email("coach"), role="trainer")
    body = {"name": "Routine", "movement": "dance", "keypoints": dance["trainer"], **music}
    body["published"] = True
    return client.post("/v1/routines", headers=trainer, json=body)


def _untimed_notes(report: dict) -> list[dict]:
    return [n for n in report["notes"] if n["kind"] == "off_beat" and "beat times" in n["message"]]


def test_a_routine_to_music_keeps_its_beats_for_sessions(client, dance):
    created = _dance_routine(client, dance, beat_times=dance["trainer_beats"], beats_per_rep=16)
    assert created.status_code == 201, created.text
    app = client.app
    with app.state.sessionmaker() as db:
        routine = db.get(Routine, created.json()["id"])
        reference = app.state.engine.reference(app.state.settings.blobs, routine)
    assert reference.beats_per_rep == 16
    assert reference.template_length == pytest.approx(16 * 0.5 * 30, abs=2)  # 16 beats at 120 bpm
    user = auth_headers(client, new_email())
    body = {"routine_id": created.json()["id"], "keypoints": dance["user"]}
    timed = client.post(
        "/v1/sessions", headers=user, json={**body, "beat_times": dance["user_beats"]}
    )
    untimed = client.post("/v1/sessions", headers=user, json=body)
    assert timed.status_code == untimed.status_code == 201
    assert not _untimed_notes(timed.json()["report"])
    assert _untimed_notes(untimed.json()["report"])  # said, not silently judged another way
    # The report page matches the trainer to the user on the same beats as scoring did.
    with app.state.sessionmaker() as db:
        rows = [db.get(WorkoutSession, answer.json()["id"]) for answer in (timed, untimed)]
        beats = [session_beat_times(app.state.settings.blobs, row) for row in rows]
    assert beats[0] == pytest.approx(dance["user_beats"]) and beats[1] is None
    page = client.get(f"/v1/sessions/{timed.json()['id']}/report.html", headers=user)
    assert page.status_code == 200 and page.text.startswith("<!doctype html>")


def test_a_dance_routine_without_music_says_what_is_not_judged(client, dance):
    created = _dance_routine(client, dance)
    assert created.status_code == 201, created.text
    user = auth_headers(client, new_email())
    body = {"routine_id": created.json()["id"], "keypoints": dance["user"]}
    report = client.post("/v1/sessions", headers=user, json=body).json()["report"]
    assert _untimed_notes(report)


@pytest.mark.parametrize(
    ("music", "field"),
    [
        ({"beat_times": [0.5, 1.0, 1.0, 1.5], "beats_per_rep": 16}, "beat_times"),
        ({"beat_times": [0.5, 1e9], "beats_per_rep": 16}, "beat_times.1"),
        ({"beat_times": [0.5, 1.0], "beats_per_rep": 6}, "beats_per_rep"),
        ({"beat_times": [0.5, 1.0]}, "beats_per_rep"),
        ({"beats_per_rep": 16}, "beat_times"),
    ],
)
def test_bad_music_is_refused_naming_the_field(client, dance, music, field):
    stored = client.app.state.settings.blobs.names()
    response = _dance_routine(client, dance, **music)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
    assert client.app.state.settings.blobs.names() == stored  # nothing half-stored


def test_live_starts_take_the_beat_times_and_check_them(client, dance):
    routine = _dance_routine(client, dance, beat_times=dance["trainer_beats"], beats_per_rep=16)
    token = auth_headers(client, new_email())["Authorization"].split()[1]
    header = {k: dance["user"][k] for k in ("layout", "fps", "image_width", "image_height")}
    start = {"type": "start", "token": token, "routine_id": routine.json()["id"], **header}
    with client.websocket_connect("/v1/live") as socket:
        socket.send_json({**start, "beat_times": [2.0, 1.0]})
        error = socket.receive_json()["error"]
        assert error["code"] == "invalid_input" and error["field"] == "beat_times"
    with client.websocket_connect("/v1/live") as socket:
        socket.send_json({**start, "beat_times": dance["user_beats"]})
        assert socket.receive_json()["type"] == "ready"
        frames = dance["user"]["frames"]
        for start in range(0, len(frames), 30):
            socket.send_json({"type": "frames", "frames": frames[start : start + 30]})
            message = socket.receive_json()
            while message["type"] in ("rep", "checkpoint"):
                message = socket.receive_json()
            assert message["type"] == "progress", message
        socket.send_json({"type": "stop"})
        message = socket.receive_json()
        while message["type"] in ("rep", "checkpoint"):
            message = socket.receive_json()
        assert message["type"] == "summary"
        assert not _untimed_notes(message["report"])


def test_video_uploads_take_beat_times_as_a_json_form_field(client, dance):
    trainer = new_email("coach")
    routine = _dance_routine(
        client, dance, trainer, beat_times=dance["trainer_beats"], beats_per_rep=16
    )
    user = auth_headers(client, new_email())
    video = {"video": ("x.mp4", b"\x00 not a video", "video/mp4")}
    for text, message in (("[1, 0.5]", "increasing"), ("1, 2", "JSON list")):
        response = client.post(
            "/v1/videos",
            headers=user,
            data={"routine_id": routine.json()["id"], "beat_times": text},
            files=video,
        )
        assert response.status_code == 422 and response.json()["error"]["field"] == "beat_times"
        assert message in response.json()["error"]["message"]
    login = {"username": trainer, "password": "correct horse"}
    token = client.post("/v1/auth/login", data=login).json()["access_token"]
    response = client.post(
        "/v1/routines/video",
        headers={"Authorization": f"Bearer {token}"},
        data={"name": "Routine", "movement": "dance", "beat_times": "[0.5, 1.0]"},
        files=video,
    )
    assert response.status_code == 422 and response.json()["error"]["field"] == "beats_per_rep"
    good = client.post(
        "/v1/videos",
        headers=user,
        data={"routine_id": routine.json()["id"], "beat_times": json.dumps(dance["user_beats"])},
        files=video,
    )
    assert good.status_code == 202  # accepted; the (corrupt) video then fails in its job
    assert wait_job(client, user, good.json()["id"])["status"] == "failed"
