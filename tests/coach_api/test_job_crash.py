"""kill -9 the worker in the middle of a long session's job and a trainer's video job,
then in the middle of a re-scoring, stop one (SIGTERM) mid-job, then kill -9 the API with
its embedded worker in the middle of a session's: after a restart each job finishes
exactly once (one stored session or routine; each session re-scored once)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time

import httpx
import pytest

from coach_api.accounts import grant_role_in
from coach_client.local_server import free_port, start_server, start_worker
from tests.conftest import tiny_lifter_checkpoint

pytestmark = pytest.mark.slow  # real API and worker processes, killed and restarted


def _settings(tmp_path) -> dict:
    """Server settings: a tiny lifter, short leases, and jobs whose steps each pause a
    second, so that a job is reliably killed mid-way."""
    checkpoint = tiny_lifter_checkpoint(tmp_path, "crash")
    return {
        "lifter_checkpoint": checkpoint,
        "rate_per_minute": 100000,
        "rate_burst": 100000,
        "job_lease_s": 2,
        "job_retry_delay_s": 0.2,
        "job_step_delay_s": 1.0,
    }


def _kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def _wait(client: httpx.Client, headers: dict, job_id: int, until, seconds: float = 120) -> dict:
    deadline = time.time() + seconds
    while time.time() < deadline:
        job = client.get(f"/jobs/{job_id}", headers=headers).json()
        if until(job):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} never got there: {job}")


def _stored_by_job(data, table: str, job_id: int) -> int:
    """How many rows of ``table`` (sessions, routines) job ``job_id`` stored."""
    with sqlite3.connect(data / "coach.db") as db:
        query = f"SELECT COUNT(*) FROM {table} WHERE job_id = ?"
        return db.execute(query, (job_id,)).fetchone()[0]


def _rescored_by_job(data, job_id: int) -> dict[int, str]:
    """The sessions job ``job_id`` re-scored, and when."""
    with sqlite3.connect(data / "coach.db") as db:
        query = "SELECT id, rescored_at FROM sessions WHERE rescored_by_job = ?"
        return dict(db.execute(query, (job_id,)).fetchall())


def _mid_job(job: dict) -> bool:
    """Running and past its first step: killed now, it has work left to redo."""
    return job["status"] == "running" and job["stage"] == "scoring"


def test_killed_worker_or_api_loses_no_job(
    tmp_path, trainer_payload, user_payload, pose_task, person_video
):
    settings, data, port = _settings(tmp_path), tmp_path / "data", free_port()
    settings["pose_task"] = pose_task
    url = f"http://127.0.0.1:{port}/v1"
    api = start_server(data, port, job_worker="external", **settings)
    worker = start_worker(data, **settings)
    try:
        client = httpx.Client(base_url=url, timeout=60)
        client.post("/auth/register", json={"email": "a@example.com", "password": "long password"})
        grant_role_in(f"sqlite:///{data / 'coach.db'}", "a@example.com", "trainer")
        token = client.post(
            "/auth/login", data={"username": "a@example.com", "password": "long password"}
        ).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        body = {"name": "s", "movement": "squat", "keypoints": trainer_payload}
        routine = client.post("/routines", headers=headers, json=body).json()
        body = {"routine_id": routine["id"], "keypoints": user_payload}

        # 1. The worker process dies mid-job; another one takes over once its lease ends.
        first = client.post("/session-jobs", headers=headers, json=body).json()["id"]
        with person_video.open("rb") as video:
            form = {"name": "bob", "movement": "squat"}
            files = {"video": ("bob.mp4", video, "video/mp4")}
            made = client.post("/routines/video", headers=headers, data=form, files=files)
        video_job = made.json()["id"]
        _wait(client, headers, first, _mid_job)
        _wait(client, headers, video_job, lambda job: job["status"] == "running")
        _kill(worker)
        worker = start_worker(data, **settings)
        done = _wait(client, headers, first, lambda job: job["status"] == "done")
        assert done["attempts"] == 2 and _stored_by_job(data, "sessions", first) == 1
        done = _wait(client, headers, video_job, lambda job: job["status"] in ("done", "failed"))
        assert (done["status"], done["attempts"]) == ("done", 2), done
        assert _stored_by_job(data, "routines", video_job) == 1
        assert not list((data / "blobs").glob("video-*"))  # the video went once used

        # 2. The worker dies in the middle of re-scoring three sessions; the next attempt
        # re-scores those left, not the ones done before.
        ids = [client.get(f"/jobs/{first}", headers=headers).json()["session_id"]]
        ids += [client.post("/sessions", headers=headers, json=body).json()["id"] for _ in range(2)]
        rescore = {"session_ids": ids, "strictness": "expert"}
        rescoring = client.post("/sessions/rescore", headers=headers, json=rescore).json()["id"]
        _wait(client, headers, rescoring, lambda job: job["stage"] == "re-scoring 2 of 3")
        _kill(worker)
        before = _rescored_by_job(data, rescoring)
        assert 1 <= len(before) < 3, before
        worker = start_worker(data, **settings)
        done = _wait(client, headers, rescoring, lambda job: job["status"] == "done")
        assert done["attempts"] == 2 and done["rescore"]["rescored"] == 3, done
        after = _rescored_by_job(data, rescoring)
        assert sorted(after) == sorted(ids)
        assert {i: after[i] for i in before} == before  # each session re-scored once
        reports = [client.get(f"/sessions/{i}", headers=headers).json()["report"] for i in ids]
        assert {report["strictness"] for report in reports} == {"expert"}

        # 3. A worker stopped (SIGTERM) mid-job hands the job back at once.
        handed = client.post("/session-jobs", headers=headers, json=body).json()["id"]
        _wait(client, headers, handed, _mid_job)
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        queued = client.get(f"/jobs/{handed}", headers=headers).json()
        assert (queued["status"], queued["attempts"]) == ("queued", 1)

        # 4. The API with its embedded worker dies mid-job; the restarted one finishes it
        # (and the job handed back above).
        _kill(api)
        api = start_server(data, port, **settings)  # embedded worker: the default
        second = client.post("/session-jobs", headers=headers, json=body).json()["id"]
        _wait(client, headers, second, _mid_job)
        _kill(api)
        api = start_server(data, port, **settings)
        done = _wait(client, headers, second, lambda job: job["status"] == "done")
        assert done["attempts"] == 2 and _stored_by_job(data, "sessions", second) == 1
        session = client.get(f"/sessions/{done['session_id']}", headers=headers)
        assert session.status_code == 200 and "score" in session.json()["report"]
        # The restarted API took the handed-back job too: killed with it, or not yet begun.
        done = _wait(client, headers, handed, lambda job: job["status"] == "done")
        assert done["attempts"] in (2, 3) and _stored_by_job(data, "sessions", handed) == 1
        assert client.get("/sessions", headers=headers).json()["total"] == 5
    finally:
        for process in (api, worker):
            if process.poll() is None:
                process.kill()
