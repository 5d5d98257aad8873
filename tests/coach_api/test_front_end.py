"""Every session's keypoints pass the 2D front end (pose2d) before lifting: a stretch of
left/right swaps is undone, frames of another person are left out, and the report says
both; a recording that follows someone else most of the time is refused.

The tests share one app (none needs a fresh database): each registers its own users."""

import copy

import numpy as np
import pytest

from pose3d.skeleton import MEDIAPIPE33
from tests.coach_api.conftest import auth_headers, new_email


@pytest.fixture(scope="module")
def client(shared_client):
    return shared_client


@pytest.fixture(scope="module")
def routine_id(client, trainer_payload):
    trainer = auth_headers(client, new_email("coach"), role="trainer")
    body = {"name": "Squats", "movement": "squat", "keypoints": trainer_payload}
    response = client.post("/v1/routines", headers=trainer, json={**body, "published": True})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _swapped(payload: dict, start: int, end: int) -> dict:
    """``payload`` with the left and right labels of the whole body exchanged in frames
    ``[start, end)``, as MediaPipe does for a while in side and back views."""
    changed = copy.deepcopy(payload)
    for number in range(start, end):
        frame = changed["frames"][number]
        changed["frames"][number] = [frame[i] for i in MEDIAPIPE33.flip_permutation]
    return changed


def _someone_else(
    payload: dict, start: int, end: int, place: float = 0.45, size: float = 0.6
) -> dict:
    """``payload`` where frames ``[start, end)`` show another, smaller person elsewhere in
    the picture (``place``: their left edge, as a share of the image's width; ``size``:
    their size against the user's)."""
    changed = copy.deepcopy(payload)
    width = changed["image_width"]
    for frame in changed["frames"][start:end]:
        for point in frame:
            if point[0] is not None:  # None: a joint the phone did not see
                point[0] = size * point[0] + place * width
                point[1] = size * point[1]
    return changed


def _submit(client, routine_id, keypoints):
    user = auth_headers(client, new_email("ana"))
    body = {"routine_id": routine_id, "keypoints": keypoints}
    return client.post("/v1/sessions", headers=user, json=body)


def test_the_report_says_what_the_front_end_repaired(client, routine_id, user_payload):
    frames = len(user_payload["frames"])
    assert frames >= 240
    keypoints = _someone_else(_swapped(user_payload, 60, 95), 170, 200)
    response = _submit(client, routine_id, keypoints)
    assert response.status_code == 201, response.text
    notes = [n["message"] for n in response.json()["report"]["notes"] if n["kind"] == "keypoints"]
    assert any("mixed up your left and right" in n for n in notes), notes
    assert any("followed someone else" in n for n in notes), notes
    clean = _submit(client, routine_id, user_payload).json()["report"]
    assert not [n for n in clean["notes"] if "someone else" in n["message"]]


def test_a_recording_of_someone_else_most_of_the_time_is_refused(client, routine_id, user_payload):
    """Three people in turn, a third of the time each: nobody is the user for sure."""
    third = len(user_payload["frames"]) // 3
    keypoints = _someone_else(user_payload, third, 2 * third, place=0.45)
    keypoints = _someone_else(keypoints, 2 * third, 3 * third, place=0.05, size=0.4)
    response = _submit(client, routine_id, keypoints)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "no_person" and "more than one person" in error["message"]


def test_swap_repair_is_what_keeps_the_lift_close(user_payload):
    """Without the repair the swapped stretch would be lifted as a mirrored body: the
    front end brings those frames back to the labels the phone should have sent."""
    from pose2d import clean_keypoints

    swapped = _swapped(user_payload, 60, 95)
    points = np.array([[p[:2] for p in f] for f in swapped["frames"]], dtype=np.float64)
    scores = np.array([[p[2] for p in f] for f in swapped["frames"]], dtype=np.float64)
    true = np.array([[p[:2] for p in f] for f in user_payload["frames"]], dtype=np.float64)
    cleaned = clean_keypoints(points, scores, user_payload["fps"], "mediapipe33")
    assert cleaned.swap_repaired_frames >= 30
    fixed = np.nanmean(np.abs(cleaned.keypoints[60:95] - true[60:95]))
    assert fixed < 0.1 * np.nanmean(np.abs(points[60:95] - true[60:95]))
