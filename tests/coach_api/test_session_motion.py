"""GET /v1/sessions/{id}/motion: the 3D player's motion (the user's, the trainer's
matched to it, the corrected ghost), its owner's only."""

from __future__ import annotations

import numpy as np
import pytest

from coach_api.session_motion import MAX_MOTION_FRAMES
from scoring.aligned_motion import AlignedMotion, downsampled
from tests.coach_api.conftest import auth_headers, new_email, published_routine


@pytest.fixture(scope="module")
def scored(shared_client, trainer_payload, user_payload):
    """A user's scored squat session (rounded back, heels lifting) on the module's app."""
    routine_id = published_routine(shared_client, trainer_payload)
    user = auth_headers(shared_client, new_email("mover"))
    body = {"routine_id": routine_id, "keypoints": user_payload}
    response = shared_client.post("/v1/sessions", headers=user, json=body)
    assert response.status_code == 201, response.text
    return user, response.json()


def test_motion_has_three_matching_motions_on_the_users_timeline(shared_client, scored):
    user, session = scored
    response = shared_client.get(f"/v1/sessions/{session['id']}/motion", headers=user)
    assert response.status_code == 200, response.text
    motion = response.json()
    frames = len(motion["user"])
    assert 0 < frames <= MAX_MOTION_FRAMES
    assert len(motion["trainer"]) == len(motion["ghost"]) == frames
    assert np.asarray(motion["user"]).shape == (frames, 17, 3)
    assert motion["joint_names"][0] == "pelvis" and len(motion["joint_names"]) == 17
    assert all(0 <= p < 17 and 0 <= c < 17 for p, c in motion["bones"])
    # Frame i is at i / fps: the frames span the report's duration.
    assert frames / motion["fps"] == pytest.approx(session["report"]["duration_s"], abs=0.2)
    user_poses, trainer, ghost = (np.asarray(motion[k]) for k in ("user", "trainer", "ghost"))
    # Metres, a body's size; the trainer is drawn on the user's bone lengths.
    assert np.abs(user_poses).max() < 3.0
    user_bone = np.linalg.norm(user_poses[:, 2] - user_poses[:, 1], axis=1)
    trainer_bone = np.linalg.norm(trainer[:, 2] - trainer[:, 1], axis=1)
    assert np.median(trainer_bone) == pytest.approx(np.median(user_bone), rel=0.05)
    # An injected error was flagged: the ghost differs from the user where it was.
    assert session["report"]["errors"], "the user's payload carries an injected error"
    assert np.abs(ghost - user_poses).max() > 0.01


def test_motion_is_the_owners_only(shared_client, scored):
    _, session = scored
    other = auth_headers(shared_client, new_email("other"))
    response = shared_client.get(f"/v1/sessions/{session['id']}/motion", headers=other)
    assert response.status_code == 404
    assert response.json()["error"]["field"] == "session_id"
    assert shared_client.get(f"/v1/sessions/{session['id']}/motion").status_code == 401
    missing = shared_client.get("/v1/sessions/999999/motion", headers=other)
    assert missing.status_code == 404


def test_downsampling_keeps_times_and_the_frame_budget():
    poses = np.random.default_rng(0).normal(size=(2000, 17, 3)).astype(np.float32)
    motion = downsampled(AlignedMotion(poses, poses, poses, 60.0), 900)
    assert len(motion.user) <= 900
    step = 60.0 / motion.fps
    assert step == 3 and np.array_equal(motion.user[10], poses[30])
    same = downsampled(AlignedMotion(poses[:100], poses[:100], poses[:100], 30.0), 900)
    assert same.fps == 30.0 and len(same.user) == 100
