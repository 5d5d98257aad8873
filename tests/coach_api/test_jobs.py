"""Durable jobs: the state machine, idempotent results, cancel, retries with backoff and
lease recovery (coach_api/jobs.py, job_worker.py, recovery.py), on the test database."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from coach_api.db import Job, User, WorkoutSession, make_engine, make_sessionmaker
from coach_api.job_kinds import KINDS
from coach_api.job_worker import UNKNOWN_KIND, run_job
from coach_api.jobs import JobStopped, WorkerContext, cancel_job, claim, utcnow
from coach_api.persistence import store_session
from coach_api.recovery import recover_expired_jobs
from tests.coach_api.conftest import auth_headers, wait_job


class RecordingQueue:
    """A queue that records what was sent (job id, delay) instead of delivering it."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, float]] = []

    def enqueue(self, job_id: int, delay_s: float = 0.0) -> None:
        self.sent.append((job_id, delay_s))


@pytest.fixture
def ctx(settings):
    settings.job_retry_delay_s = 0.5
    settings.job_max_attempts = 3
    engine = make_engine(settings.resolved_database_url)
    sessions = make_sessionmaker(engine)
    with sessions() as db:
        db.add(User(email="ana@example.com", password_hash="-"))
        db.commit()
    yield WorkerContext(settings, sessions, None, RecordingQueue())
    engine.dispose()


def new_job(ctx, kind: str = "test", **fields) -> int:
    """A queued job row of ``kind`` for user 1; returns its id."""
    with ctx.sessionmaker() as db:
        job = Job(user_id=1, kind=kind, params_json="{}", lease_until=utcnow(), **fields)
        db.add(job)
        db.commit()
        return job.id


def job(ctx, job_id: int) -> Job:
    with ctx.sessionmaker() as db:
        return db.get(Job, job_id)


def sessions_stored(ctx) -> int:
    with ctx.sessionmaker() as db:
        return db.scalar(select(func.count()).select_from(WorkoutSession))


def store(ctx, run) -> WorkoutSession:
    """A job's storing step: a session tied to the job, with the job's ``done``."""
    with ctx.sessionmaker() as db:
        return store_session(
            ctx.settings,
            db,
            1,
            7,
            "squats",
            {"score": 80.0},
            np.zeros((3, 17, 3)),
            30.0,
            None,
            job_id=run.job.id,
            finish=lambda db, row: run.finish(db, session_id=row.id),
        )


def test_a_job_is_claimed_once_steps_record_progress_and_done_holds_the_result(ctx):
    job_id = new_job(ctx)
    run = claim(ctx, job_id)
    assert run is not None and run.attempt == 1
    assert claim(ctx, job_id) is None  # a second delivery finds it taken
    run.step("scoring", 0.4)
    assert (job(ctx, job_id).status, job(ctx, job_id).stage) == ("running", "scoring")
    assert job(ctx, job_id).progress == pytest.approx(0.4)
    row = store(ctx, run)
    done = job(ctx, job_id)
    assert (done.status, done.session_id, done.progress, done.lease_until) == (
        "done",
        row.id,
        1.0,
        None,
    )
    assert claim(ctx, job_id) is None  # nothing runs a finished job again


def test_a_storing_step_run_twice_stores_once(ctx):
    run = claim(ctx, new_job(ctx))
    first = store(ctx, run)
    blobs_before = ctx.settings.blobs.names()
    # The step again (a retry after a crash): the session tied to the job is there (the
    # unique job_id refuses a second), and the job is no longer this attempt's anyway.
    with pytest.raises((IntegrityError, JobStopped)):
        store(ctx, run)
    assert sessions_stored(ctx) == 1 and job(ctx, run.job.id).session_id == first.id
    assert ctx.settings.blobs.names() == blobs_before  # the second blob was deleted


def test_a_cancelled_job_stops_at_its_next_step_and_stores_nothing(ctx):
    job_id = new_job(ctx, input_blob="keypoints-1.npz")
    ctx.settings.blobs.put("keypoints-1.npz", b"input")
    run = claim(ctx, job_id)
    with ctx.sessionmaker() as db:
        assert cancel_job(db, ctx.settings, db.get(Job, job_id))
        assert not cancel_job(db, ctx.settings, db.get(Job, job_id))  # ended: 409 in the API
    with pytest.raises(JobStopped):
        run.step("storing", 0.9)
    with pytest.raises(JobStopped):
        store(ctx, run)
    assert job(ctx, job_id).status == "cancelled" and sessions_stored(ctx) == 0
    assert ctx.settings.blobs.names() == []  # its input went with it
    assert not run.renew()


def _kind(monkeypatch, failures: list[BaseException]):
    """Register kind ``test``: raises the next of ``failures``, then stores a session."""

    async def work(run) -> None:
        run.step("working", 0.5)
        if failures:
            raise failures.pop(0)
        store(run.ctx, run)

    monkeypatch.setitem(KINDS, "test", work)


def test_a_transient_failure_is_retried_after_a_doubling_delay(ctx, monkeypatch):
    _kind(monkeypatch, [OSError("blob store hiccup"), OSError("again")])
    job_id = new_job(ctx)
    asyncio.run(run_job(ctx, job_id))
    first = job(ctx, job_id)
    assert (first.status, first.attempts, first.error) == ("queued", 1, "blob store hiccup")
    asyncio.run(run_job(ctx, job_id))
    asyncio.run(run_job(ctx, job_id))
    assert ctx.queue.sent == [(job_id, 0.5), (job_id, 1.0)]  # the backoff
    done = job(ctx, job_id)
    assert (done.status, done.attempts) == ("done", 3) and sessions_stored(ctx) == 1


def test_failures_fail_the_job_with_their_reason(ctx, monkeypatch):
    _kind(monkeypatch, [OSError("disk gone")] * 3 + [ValueError("the routine was deleted")])
    flaky = new_job(ctx)
    for _ in range(3):
        asyncio.run(run_job(ctx, flaky))
    failed = job(ctx, flaky)
    assert (failed.status, failed.attempts, failed.error) == ("failed", 3, "disk gone")
    permanent = new_job(ctx)  # not worth a retry: failed at once
    asyncio.run(run_job(ctx, permanent))
    assert (job(ctx, permanent).status, job(ctx, permanent).attempts) == ("failed", 1)
    assert job(ctx, permanent).error == "the routine was deleted"
    unknown = new_job(ctx, kind="", video_blob="video-old.mp4")  # made before durable jobs
    ctx.settings.blobs.put("video-old.mp4", b"video")
    asyncio.run(run_job(ctx, unknown))
    assert job(ctx, unknown).error == UNKNOWN_KIND and ctx.settings.blobs.names() == []
    assert sessions_stored(ctx) == 0


def test_expired_leases_are_retried_then_failed_and_lost_messages_resent(ctx):
    ctx.settings.job_lease_s = 60
    past = utcnow() - timedelta(seconds=1)
    dead = claim(ctx, new_job(ctx)).job.id  # its worker was killed: the lease runs out
    alive = claim(ctx, new_job(ctx)).job.id  # its worker renews the lease
    lost = new_job(ctx)  # queued, but its message never reached a worker
    with ctx.sessionmaker() as db:
        db.execute(update(Job).where(Job.id.in_((dead, lost))).values(lease_until=past))
        db.commit()
    assert recover_expired_jobs(ctx) == 2
    assert sorted(ctx.queue.sent) == sorted([(dead, 0.5), (lost, 0.0)])
    assert (job(ctx, dead).status, job(ctx, dead).attempts) == ("queued", 1)
    assert job(ctx, alive).status == "running"
    assert recover_expired_jobs(ctx) == 0  # leases renewed: a second sweep does nothing
    for attempt in (2, 3):  # killed again each time
        assert claim(ctx, dead).attempt == attempt
        with ctx.sessionmaker() as db:
            db.execute(update(Job).where(Job.id == dead).values(lease_until=past))
            db.commit()
        recover_expired_jobs(ctx)
    assert job(ctx, dead).status == "failed" and "interrupted 3 times" in job(ctx, dead).error


@pytest.mark.slow  # jobs paced by pauses
def test_the_api_cancels_only_its_users_unfinished_jobs(settings, trainer_payload, user_payload):
    from fastapi.testclient import TestClient

    from coach_api.main import create_app

    settings.job_step_delay_s = 0.3  # each step pauses: the job is still running when cancelled
    with TestClient(create_app(settings)) as client:
        trainer = auth_headers(client, "coach@example.com", role="trainer")
        body = {"name": "s", "movement": "squat", "keypoints": trainer_payload, "published": True}
        routine = client.post("/v1/routines", headers=trainer, json=body).json()
        user = auth_headers(client)
        body = {"routine_id": routine["id"], "keypoints": user_payload}
        job_id = client.post("/v1/session-jobs", headers=user, json=body).json()["id"]
        other = auth_headers(client, "bob@example.com")
        assert client.post(f"/v1/jobs/{job_id}/cancel", headers=other).status_code == 404
        cancelled = client.post(f"/v1/jobs/{job_id}/cancel", headers=user)
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        again = client.post(f"/v1/jobs/{job_id}/cancel", headers=user)
        assert again.status_code == 409 and again.json()["error"]["code"] == "job_finished"
        time.sleep(4 * settings.job_step_delay_s)  # past the steps a worker had begun
        final = client.get(f"/v1/jobs/{job_id}", headers=user).json()
        assert final["status"] == "cancelled" and final["session_id"] is None
        assert client.get("/v1/sessions", headers=user).json()["total"] == 0
        assert not [n for n in settings.blobs.names() if n.startswith("keypoints-")]
        # A job left to finish shows its progress and attempts, and then 409 too.
        job_id = client.post("/v1/session-jobs", headers=user, json=body).json()["id"]
        for _ in range(200):
            shown = client.get(f"/v1/jobs/{job_id}", headers=user).json()
            if shown["status"] == "done":
                break
            time.sleep(0.1)
        assert (shown["progress"], shown["attempts"], shown["stage"]) == (1.0, 1, "done")
        assert client.post(f"/v1/jobs/{job_id}/cancel", headers=user).status_code == 409
        assert json.loads(json.dumps(shown))["session_id"] is not None


def test_an_account_has_at_most_its_jobs_unfinished(settings, trainer_payload, user_payload):
    from fastapi.testclient import TestClient

    from coach_api.main import create_app

    settings.max_jobs_per_user = 2
    settings.job_step_delay_s = 0.5  # the jobs are still unfinished when the third comes
    with TestClient(create_app(settings)) as client:
        trainer = auth_headers(client, "coach@example.com", role="trainer")
        body = {"name": "s", "movement": "squat", "keypoints": trainer_payload, "published": True}
        routine = client.post("/v1/routines", headers=trainer, json=body).json()["id"]
        user, other = auth_headers(client), auth_headers(client, "bob@example.com")
        body = {"routine_id": routine, "keypoints": user_payload}
        jobs = [client.post("/v1/session-jobs", headers=user, json=body) for _ in range(2)]
        assert [job.status_code for job in jobs] == [202, 202]
        inputs = settings.blobs.names()
        refused = client.post("/v1/session-jobs", headers=user, json=body)
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["code"] == "too_many_jobs"
        video = {"video": ("a.mp4", b"not decoded", "video/mp4")}
        upload = client.post("/v1/videos", headers=user, data={"routine_id": routine}, files=video)
        assert upload.json()["error"]["code"] == "too_many_jobs"
        assert settings.blobs.names() == inputs  # nothing of the refused ones stored
        assert client.post("/v1/session-jobs", headers=other, json=body).status_code == 202
        first = jobs[0].json()["id"]
        assert client.post(f"/v1/jobs/{first}/cancel", headers=user).status_code == 200
        with client.app.state.sessionmaker() as db:  # an admin's re-scoring of her sessions
            owner = db.scalar(select(User.id).where(User.email == "ana@example.com"))
            later = utcnow() + timedelta(hours=1)  # not resent as lost meanwhile
            db.add(Job(user_id=owner, kind="rescore", params_json="{}", lease_until=later))
            db.commit()
        assert client.post("/v1/session-jobs", headers=user, json=body).status_code == 202


@pytest.mark.slow  # jobs paced by pauses, an app restarted
def test_a_job_running_at_shutdown_is_handed_back_and_finished_after_restart(
    settings, trainer_payload, user_payload
):
    from fastapi.testclient import TestClient

    from coach_api.main import create_app

    settings.job_step_delay_s = 0.5  # still running when the app stops
    with TestClient(create_app(settings)) as client:
        trainer = auth_headers(client, "coach@example.com", role="trainer")
        body = {"name": "s", "movement": "squat", "keypoints": trainer_payload, "published": True}
        routine = client.post("/v1/routines", headers=trainer, json=body).json()
        user = auth_headers(client)
        body = {"routine_id": routine["id"], "keypoints": user_payload}
        job_id = client.post("/v1/session-jobs", headers=user, json=body).json()["id"]
        for _ in range(400):
            if client.get(f"/v1/jobs/{job_id}", headers=user).json()["status"] == "running":
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the job never started")
    with client.app.state.sessionmaker() as db:  # handed back, not left to its lease
        handed = db.get(Job, job_id)
        assert (handed.status, handed.attempts) == ("queued", 1)
        assert handed.lease_until <= utcnow()
    settings.job_step_delay_s = 0.0
    with TestClient(create_app(settings)) as client:  # the restart: its sweep resends it
        login = {"username": "ana@example.com", "password": "correct horse"}
        token = client.post("/v1/auth/login", data=login).json()["access_token"]
        user = {"Authorization": f"Bearer {token}"}
        done = wait_job(client, user, job_id)
        assert (done["status"], done["attempts"]) == ("done", 2)
        assert client.get("/v1/sessions", headers=user).json()["total"] == 1


def test_the_queue_is_a_sqlite_file_by_default_and_an_unknown_broker_is_refused(settings):
    from huey import SqliteHuey

    from coach_api.job_queue import make_huey

    assert isinstance(make_huey(settings), SqliteHuey)
    assert (settings.data_dir / "job-queue.db").is_file()
    settings.job_queue_url = "amqp://broker"
    with pytest.raises(ValueError, match="COACH_JOB_QUEUE_URL"):
        make_huey(settings)


def test_a_worker_runs_the_jobs_an_api_enqueues(settings):
    """The API's queue (no runner) and a worker's (a runner from another module) name the
    task alike: the worker runs what the API sent instead of failing to read it."""
    from coach_api.job_queue import JobQueue

    api = JobQueue(settings)
    ran: list[int] = []
    worker = JobQueue(settings, run=lambda job_id: ran.append(job_id))
    api.enqueue(7)
    message = worker.huey.dequeue()  # raises HueyException if the name is unknown here
    worker.huey.execute(message)
    assert ran == [7]
