"""GET /v1/sessions/{id}/video: a kept video streamed to its owner, whole or by byte
range; the blob stores' ranged reads it is built on."""

from __future__ import annotations

import pytest

from coach_api.blobs import CHUNK_BYTES, GcsBlobs, LocalBlobs
from coach_api.db import Job
from tests.coach_api.conftest import auth_headers, new_email, published_routine

# Not a decodable video: the route hands on bytes, it never decodes them.
VIDEO = bytes(range(256)) * 41  # 10,496 bytes, every offset told apart by its neighbours


@pytest.fixture(scope="module")
def kept(shared_client, trainer_payload, user_payload):
    """A user's session with a kept WebM (the job row a kept video upload leaves), and a
    session of theirs without one."""
    routine_id = published_routine(shared_client, trainer_payload)
    user = auth_headers(shared_client, new_email("keeper"))
    body = {"routine_id": routine_id, "keypoints": user_payload}
    sessions = [shared_client.post("/v1/sessions", headers=user, json=body) for _ in range(2)]
    assert all(s.status_code == 201 for s in sessions), sessions[0].text
    with_video, without = (s.json()["id"] for s in sessions)
    shared_client.app.state.settings.blobs.put("video-kept.webm", VIDEO)
    with shared_client.app.state.sessionmaker() as db:
        owner_id = _user_id(shared_client, user)
        db.add(
            Job(
                user_id=owner_id,
                kind="video_session",
                params_json="{}",
                status="done",
                session_id=with_video,
                video_blob="video-kept.webm",
                keep_video=True,
            )
        )
        db.commit()
    return user, with_video, without


def _user_id(client, headers) -> int:
    return client.get("/v1/me", headers=headers).json()["id"]


def test_the_owner_gets_the_whole_video_with_its_type(shared_client, kept):
    user, session_id, _ = kept
    response = shared_client.get(f"/v1/sessions/{session_id}/video", headers=user)
    assert response.status_code == 200, response.text
    assert response.content == VIDEO
    assert response.headers["content-type"] == "video/webm"
    assert response.headers["accept-ranges"] == "bytes"
    assert shared_client.get(f"/v1/sessions/{session_id}", headers=user).json()["video_kept"]


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=100-199", 100, 199),
        ("bytes=10000-", 10000, len(VIDEO) - 1),
        ("bytes=-96", len(VIDEO) - 96, len(VIDEO) - 1),
    ],
)
def test_a_range_gets_its_bytes(shared_client, kept, header, start, end):
    user, session_id, _ = kept
    response = shared_client.get(
        f"/v1/sessions/{session_id}/video", headers=user | {"Range": header}
    )
    assert response.status_code == 206, response.text
    assert response.content == VIDEO[start : end + 1]
    assert response.headers["content-range"] == f"bytes {start}-{end}/{len(VIDEO)}"
    assert response.headers["content-type"] == "video/webm"


def test_a_range_outside_the_video_is_416(shared_client, kept):
    user, session_id, _ = kept
    response = shared_client.get(
        f"/v1/sessions/{session_id}/video", headers=user | {"Range": "bytes=20000-"}
    )
    assert response.status_code == 416
    assert response.json()["error"]["field"] == "range"
    assert response.headers["content-range"] == f"bytes */{len(VIDEO)}"


def test_only_the_owner_gets_it_and_no_kept_video_is_404(shared_client, kept):
    user, session_id, without = kept
    other = auth_headers(shared_client, new_email("other"))
    response = shared_client.get(f"/v1/sessions/{session_id}/video", headers=other)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert shared_client.get(f"/v1/sessions/{session_id}/video").status_code == 401
    missing = shared_client.get(f"/v1/sessions/{without}/video", headers=user)
    assert missing.status_code == 404
    assert missing.json()["error"] == {
        "code": "video_not_kept",
        "message": "the session's video is not kept",
        "field": "session_id",
    }
    assert not shared_client.get(f"/v1/sessions/{without}", headers=user).json()["video_kept"]
    listed = shared_client.get("/v1/sessions", headers=user).json()["items"]
    assert {s["id"]: s["video_kept"] for s in listed} == {session_id: True, without: False}


def _check_ranges(blobs) -> None:
    data = bytes(range(256)) * (CHUNK_BYTES // 256 + 3)  # more than one chunk
    blobs.put("video-x.mp4", data)
    assert blobs.size("video-x.mp4") == len(data)
    whole = list(blobs.open_range("video-x.mp4", 0, len(data) - 1))
    assert len(whole) == 2 and all(len(c) <= CHUNK_BYTES for c in whole)
    assert b"".join(whole) == data
    assert b"".join(blobs.open_range("video-x.mp4", 5, 9)) == data[5:10]
    # An end past the blob stops at its last byte.
    assert b"".join(blobs.open_range("video-x.mp4", len(data) - 3, len(data) + 50)) == data[-3:]
    with pytest.raises(FileNotFoundError):
        blobs.size("video-gone.mp4")


def test_local_blobs_read_ranges(tmp_path):
    _check_ranges(LocalBlobs(tmp_path / "blobs"))


@pytest.mark.slow
def test_gcs_blobs_read_ranges(gcs_emulator):
    _check_ranges(GcsBlobs(gcs_emulator.removeprefix("gs://")))
