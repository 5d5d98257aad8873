"""Server-side video: the pose model assembled offline, then video -> routine -> session.

Needs the mediapipe 0.10.21 wheel (pip-downloaded once into ``.cache/wheels``, or a
folder named by ``COACH_WHEEL_CACHE``); skipped with the reason when pip cannot get it
(the ``pose_task`` and ``person_video`` fixtures: conftest.py).
"""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
from fastapi.testclient import TestClient

from bench.video_people import write_people_video
from coach_api import job_kinds
from coach_api.accounts import grant_role
from coach_api.main import create_app
from coach_api.settings import Settings
from coach_client.http_client import CoachClient
from pose2d.video import extract_keypoints
from pose3d.skeleton import MEDIAPIPE33
from tests.coach_api.conftest import auth_headers, wait_job


@pytest.mark.slow
def test_assembled_task_finds_and_tracks_a_person(pose_task, person_video):
    with zipfile.ZipFile(pose_task) as bundle:
        assert sorted(bundle.namelist()) == [
            "pose_detector.tflite",
            "pose_landmarks_detector.tflite",
        ]
    sequence = extract_keypoints(person_video, pose_task, max_frames=1000)
    assert sequence.keypoints.shape == (90, 33, 2) and sequence.fps == 30
    joint = MEDIAPIPE33.index
    nose, left, right = (joint(n) for n in ("nose", "left_shoulder", "right_shoulder"))
    # Upper body seen and confident; the legs are outside the photo.
    assert (sequence.scores[:, [nose, left, right]] > 0.9).all()
    assert sequence.scores[:, joint("left_ankle")].mean() < 0.5
    # Anatomy: the nose above the shoulders; facing the camera, her left is image right.
    assert (sequence.keypoints[:, nose, 1] < sequence.keypoints[:, left, 1]).all()
    assert (sequence.keypoints[:, left, 0] > sequence.keypoints[:, right, 0]).all()
    # The nose follows the photo's 80-px bob (same phase, same amplitude to 15%).
    # 80 px on the 720-px canvas, in the pixels of the frame the detector saw.
    expected = 80 * sequence.image_height / 720 * np.sin(2 * np.pi * np.arange(90) / 30)
    moved = sequence.keypoints[:, nose, 1] - sequence.keypoints[:, nose, 1].mean()
    assert np.corrcoef(moved, expected)[0, 1] > 0.98
    assert np.ptp(moved) == pytest.approx(np.ptp(expected), rel=0.15)


@pytest.mark.slow
def test_trainer_video_becomes_a_routine_and_user_video_a_session(
    settings, pose_task, person_video, tmp_path
):
    """The whole video path through the API, driven by the app's client (CoachClient)."""
    settings.pose_task = pose_task
    app = create_app(settings)
    with TestClient(app) as trainer_http, TestClient(app) as user_http:
        trainer = CoachClient("http://testserver", http=trainer_http)
        trainer.register("coach@example.com", "correct horse")
        with app.state.sessionmaker() as db:
            grant_role(db, "coach@example.com", "trainer")
        trainer.login("coach@example.com", "correct horse")
        job = trainer.create_routine_from_video("bob", "squat", person_video, published=True)
        routine_id = trainer.wait_for_job(job["id"], timeout_s=60)["routine_id"]
        routine = trainer.http.get(f"/routines/{routine_id}").json()
        assert routine["name"] == "bob" and routine["frames"] == 90 and routine["fps"] == 30

        user = CoachClient("http://testserver", http=user_http)
        user.register("ana@example.com", "correct horse")
        user.login("ana@example.com", "correct horse")
        job = user.wait_for_job(user.upload_video(routine_id, person_video)["id"], timeout_s=60)
        session = user.get_session(job["session_id"])
        assert session["routine_id"] == routine_id and 0 <= session["report"]["score"] <= 100
        assert not [n for n in session["report"]["notes"] if "Other people" in n["message"]]
        # With someone else in view, the report says who was followed (pose2d.people).
        crowded = write_people_video(tmp_path / "two.mp4")
        job = user.wait_for_job(user.upload_video(routine_id, crowded)["id"], timeout_s=120)
        notes = user.get_session(job["session_id"])["report"]["notes"]
        followed = [n for n in notes if n["message"].startswith("Other people were in view")]
        assert len(followed) == 1 and followed[0]["kind"] == "keypoints", notes
        # No video was kept (no opt-in).
        assert not [n for n in settings.blobs.names() if n.startswith("video-")]


def test_routine_video_type_is_checked_and_a_broken_one_stores_nothing(client):
    trainer = auth_headers(client, "coach@example.com", role="trainer")
    wrong = client.post(
        "/v1/routines/video",
        headers=trainer,
        data={"name": "x", "movement": "squat"},
        files={"video": ("x.gif", b"GIF89a", "image/gif")},
    )
    assert wrong.status_code == 415 and wrong.json()["error"]["field"] == "video"
    broken = client.post(
        "/v1/routines/video",
        headers=trainer,
        data={"name": "x", "movement": "squat"},
        files={"video": ("x.mp4", b"\x00 not a video", "video/mp4")},
    )
    job = wait_job(client, trainer, broken.json()["id"])
    assert job["status"] == "failed" and job["routine_id"] is None
    assert client.get("/v1/routines", headers=trainer).json() == []
    assert not client.app.state.settings.blobs.names()


def test_the_service_setting_bounds_the_people_looked_for(tmp_path, monkeypatch):
    """COACH_VIDEO_MAX_PEOPLE reaches the extraction of a video job (1: no search)."""
    asked = {}

    def extract(path, task, max_frames, **limits):
        asked.update(limits)

    monkeypatch.setattr(job_kinds, "extract_keypoints", extract)
    for people in (1, 3):
        settings = Settings(data_dir=tmp_path, video_max_people=people)
        job_kinds.extract_video_keypoints(tmp_path / "video.mp4", settings, 100)
        assert asked["max_people"] == people
    with pytest.raises(ValueError, match="video_max_people"):
        Settings(data_dir=tmp_path, video_max_people=0)
