"""Background jobs (a long session, a video): one durable life cycle for every kind.

The job row is the truth the API shows: queued -> running -> done | failed | cancelled,
and running -> queued again for a retry. Every change is a conditional update on the
row (its status, and while running the attempt that owns it), so API and worker
processes, a job's retries and a cancel can race without harm:

* a worker *claims* a queued job (attempts + 1, a lease), or skips an id it finds taken;
* each step renews the lease and records progress, and stops the job (:class:`JobStopped`)
  when it was cancelled or its lease went to another attempt meanwhile;
* the result (a session, a routine) is stored in the same transaction as the job's
  ``done``, and only if the attempt still owns the job: a job stores its result once,
  and a cancelled job stores nothing. A re-scoring stores each session in a transaction
  of its own that checks the same (:meth:`JobRun.hold`), and marks it as the job's: a
  retry skips what an earlier attempt stored, and a cancel keeps what was stored before;
* a transient failure (database, files, network) is retried after a delay doubling per
  attempt, up to ``job_max_attempts``; any other failure fails the job with its reason.

A worker that dies leaves its job ``running`` with a lease that runs out:
:mod:`coach_api.recovery` retries it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from coach_api.db import Job
from coach_api.errors import ApiError
from coach_api.schemas import JobPublic
from coach_api.settings import Settings

if TYPE_CHECKING:
    from coach_api.job_queue import JobQueue
    from coach_api.services import Engine

logger = logging.getLogger("coach_api")
ACTIVE = ("queued", "running")
RESCORE_KIND = "rescore"  # coach_api.rescoring's jobs
# Failures worth another attempt: the database, the blob store or the network hiccuped.
TRANSIENT = (sa_exc.OperationalError, sa_exc.TimeoutError, OSError, TimeoutError)


class JobStopped(Exception):
    """The job was cancelled, or another attempt owns it now: stop, store nothing."""


@dataclass(frozen=True)
class WorkerContext:
    """What running a job needs: settings, the database, the engine, the queue."""

    settings: Settings
    sessionmaker: sessionmaker
    engine: Engine
    queue: JobQueue


def utcnow() -> datetime:
    """Now, naive UTC: how the database stores times."""
    return datetime.now(UTC).replace(tzinfo=None)


def retry_delay_s(settings: Settings, attempt: int) -> float:
    """The wait before the attempt after ``attempt`` (1-based): doubling each time."""
    return settings.job_retry_delay_s * 2 ** (attempt - 1)


def check_job_room(db: Session, settings: Settings, user_id: int) -> None:
    """429 ``too_many_jobs`` when ``user_id`` has ``max_jobs_per_user`` jobs queued or
    running: asked before a job's input is stored, so a refused request leaves nothing.
    Re-scorings are not counted: one at a time per account already, and an admin's
    batches are queued under the sessions' owners, who must not be refused for them."""
    unfinished = db.scalar(
        select(func.count())
        .select_from(Job)
        .where(Job.user_id == user_id, Job.status.in_(ACTIVE), Job.kind != RESCORE_KIND)
    )
    if unfinished >= settings.max_jobs_per_user:
        raise ApiError(
            429,
            "too_many_jobs",
            f"you have {unfinished} jobs queued or running, the most an account may have; "
            "wait for one to end (GET /v1/jobs/{id}) or cancel one",
        )


def submit_job(
    app: FastAPI, db: Session, job: Job, unstored: Callable[[], None] | None = None
) -> JSONResponse:
    """Store ``job`` (queued), send it to the workers, and answer 202 with it. If the row
    cannot be stored, ``unstored()`` removes what the request already stored (its input)
    and the error goes on."""
    submit_jobs(app, db, [job], unstored)
    return JSONResponse(JobPublic.model_validate(job).model_dump(mode="json"), status_code=202)


def submit_jobs(
    app: FastAPI, db: Session, jobs: list[Job], unstored: Callable[[], None] | None = None
) -> None:
    """Store ``jobs`` (queued) in one transaction, then send each to the workers. If the
    rows cannot be stored, ``unstored()`` removes what the request already stored and the
    error goes on. A message that cannot be sent is sent again by the lease sweep: the
    row is what counts."""
    deadline = utcnow() + timedelta(seconds=app.state.settings.job_lease_s)
    for job in jobs:
        job.lease_until = deadline
    db.add_all(jobs)
    try:
        db.commit()
    except Exception:
        if unstored is not None:
            unstored()
        raise
    for job in jobs:
        try:
            app.state.job_queue.enqueue(job.id)
        except Exception:  # the broker is down: the sweep sends it once its deadline passes
            logger.exception("job %s stored but not sent to the queue", job.id)


class JobRun:
    """One attempt at a job: its row as claimed, and the steps that keep it owned."""

    def __init__(self, ctx: WorkerContext, job: Job) -> None:
        self.ctx, self.job, self.attempt = ctx, job, job.attempts

    def _owned(self):
        """The job, while this attempt still owns it."""
        return (Job.id == self.job.id, Job.status == "running", Job.attempts == self.attempt)

    def _lease(self) -> datetime:
        return utcnow() + timedelta(seconds=self.ctx.settings.job_lease_s)

    def step(self, stage: str, fraction: float) -> None:
        """A step boundary: record ``stage`` and ``fraction`` done and renew the lease, or
        raise :class:`JobStopped` (cancelled, or no longer this attempt's). Blocking."""
        values = {"stage": stage, "progress": fraction, "lease_until": self._lease()}
        if not self._update(values):
            raise JobStopped(f"job {self.job.id} stopped before {stage}")
        if self.ctx.settings.job_step_delay_s:  # tests: a job slow enough to be killed
            time.sleep(self.ctx.settings.job_step_delay_s)

    def hold(self, db: Session) -> None:
        """Inside the caller's transaction (one storing part of the result): renew the
        lease, or raise :class:`JobStopped` if the attempt no longer owns the job (the
        caller's rollback then stores nothing). The update locks the job's row until the
        caller commits, so a cancel lands wholly before or after what is stored."""
        changed = db.execute(
            update(Job).where(*self._owned()).values(lease_until=self._lease())
        ).rowcount
        if changed != 1:
            raise JobStopped(f"job {self.job.id} stopped before a result was stored")

    def renew(self) -> bool:
        """Renew the lease (the heartbeat between steps); False once no longer owned."""
        return self._update({"lease_until": self._lease()})

    def _update(self, values: dict) -> bool:
        with self.ctx.sessionmaker() as db:
            changed = db.execute(update(Job).where(*self._owned()).values(**values)).rowcount
            db.commit()
        return changed == 1

    def release(self) -> None:
        """Hand the job back (this process is shutting down): queued again, its deadline
        passed, so that the next sweep of any worker sends it at once. The attempt still
        counts: attempt numbers are what fences a step still finishing in this process's
        threads off from the next attempt. Blocking."""
        self._update({"status": "queued", "stage": "queued", "lease_until": utcnow()})

    def finish(self, db: Session, **result: int | str) -> None:
        """Mark the job done with ``result`` (``session_id``, ``routine_id`` or
        ``result_json``) inside the caller's transaction, the one storing the result;
        raises :class:`JobStopped` if the attempt no longer owns the job (the caller's
        rollback then stores nothing)."""
        values = {"status": "done", "stage": "done", "progress": 1.0, "lease_until": None}
        if not self.job.keep_video:
            values["video_blob"] = ""
        changed = db.execute(update(Job).where(*self._owned()).values(**values, **result))
        if changed.rowcount != 1:
            raise JobStopped(f"job {self.job.id} stopped before its result was stored")


def claim(ctx: WorkerContext, job_id: int) -> JobRun | None:
    """Take queued job ``job_id`` for a new attempt; None when it is not queued (done,
    cancelled, taken by another worker, or gone with its account). Blocking."""
    with ctx.sessionmaker() as db:
        job = db.get(Job, job_id)
        if job is None or job.status != "queued":
            return None
        attempt = job.attempts + 1
        taken = db.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "queued", Job.attempts == job.attempts)
            .values(
                status="running",
                attempts=attempt,
                stage="starting",
                lease_until=utcnow() + timedelta(seconds=ctx.settings.job_lease_s),
            )
        ).rowcount
        db.commit()
        if taken != 1:
            return None
        db.refresh(job)
        return JobRun(ctx, job)


def fail_or_retry(run: JobRun, error: BaseException) -> str | None:
    """Record ``error`` on the attempt's job: queued again after a delay when transient
    and attempts remain, else failed with its reason (inputs then deleted). Returns the
    new status, or None if the attempt no longer owned the job. Blocking."""
    ctx, job = run.ctx, run.job
    reason = (error.message if isinstance(error, ApiError) else str(error))[:500]
    reason = reason or type(error).__name__
    if isinstance(error, TRANSIENT) and run.attempt < ctx.settings.job_max_attempts:
        delay = retry_delay_s(ctx.settings, run.attempt)
        values = {
            "status": "queued",
            "stage": "waiting to retry",
            "error": reason,
            "lease_until": utcnow() + timedelta(seconds=delay + ctx.settings.job_lease_s),
        }
    else:
        delay, values = 0.0, failed_values(job, reason)
    if not run._update(values):
        return None
    if values["status"] == "queued":
        logger.warning("job %s: %s; retry in %.0f s", job.id, reason, delay)
        ctx.queue.enqueue(job.id, delay)
    else:
        discard_inputs(ctx.settings, job)
    return values["status"]


def failed_values(job: Job, reason: str) -> dict:
    """The row's change when ``job`` fails: the reason, and its unkept video forgotten."""
    values = {"status": "failed", "stage": "failed", "error": reason, "lease_until": None}
    if not job.keep_video:
        values["video_blob"] = ""
    return values


def unneeded_blobs(job: Job) -> list[str]:
    """What a finished job no longer needs: its keypoints, its video unless kept."""
    names = [job.input_blob]
    if not job.keep_video:
        names.append(job.video_blob)
    return [name for name in names if name]


def discard_inputs(settings: Settings, job: Job) -> None:
    """Delete :func:`unneeded_blobs` of ``job``. After the row's commit: a crash in
    between leaves a blob, never a row naming a deleted one."""
    for name in unneeded_blobs(job):
        settings.blobs.delete(name)


def cancel_job(db: Session, settings: Settings, job: Job) -> bool:
    """Cancel ``job`` if it is still queued or running (a running one stops at its next
    step and stores nothing); False if it had already finished."""
    unneeded = unneeded_blobs(job)  # read before the update changes the loaded row
    values = {"status": "cancelled", "stage": "cancelled", "lease_until": None}
    if not job.keep_video:
        values["video_blob"] = ""
    changed = db.execute(
        update(Job).where(Job.id == job.id, Job.status.in_(ACTIVE)).values(**values)
    ).rowcount
    db.commit()
    if changed != 1:
        return False
    for name in unneeded:
        settings.blobs.delete(name)
    db.refresh(job)
    return True
