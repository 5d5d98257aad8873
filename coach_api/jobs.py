"""Background jobs (a long session, a video): one life cycle for every kind.

A job row is stored ``queued`` and the request answered 202 with it; the work then runs
in this process: ``running``, the work, then ``done``, or ``failed`` with the reason
(the service carries on). Jobs live in this process's memory until the durable queue: a
job cut short by a restart is failed at the next start-up
(:func:`~coach_api.recovery.recover_interrupted_jobs`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from coach_api.db import Job
from coach_api.errors import ApiError
from coach_api.schemas import JobPublic

logger = logging.getLogger("coach_api")

# The work of a job: ``await work(db, job)`` fills in the job's result (its session_id or
# routine_id); an exception fails the job with its message.
Work = Callable[[Session, Job], Awaitable[None]]


def queue_job(
    app: FastAPI,
    db: Session,
    job: Job,
    work: Work,
    cleanup: Callable[[], None] | None = None,
    *,
    unstored: Callable[[], None] | None = None,
) -> JSONResponse:
    """Store ``job`` (queued), start :func:`run_job` with ``work`` and ``cleanup`` in the
    background, and answer 202 with the job. If the row cannot be stored, ``unstored()``
    removes what the request already stored (nothing half-stored) and the error goes on."""
    db.add(job)
    try:
        db.commit()
    except Exception:
        if unstored is not None:
            unstored()
        raise
    start_background(app, run_job(app, job.id, work, cleanup))
    return JSONResponse(JobPublic.model_validate(job).model_dump(mode="json"), status_code=202)


def start_background(app: FastAPI, work: Coroutine) -> None:
    """Run the coroutine ``work`` in the background, kept referenced until it ends."""
    task = asyncio.create_task(work)
    app.state.background.add(task)
    task.add_done_callback(app.state.background.discard)


async def run_job(
    app: FastAPI, job_id: int, work: Work, cleanup: Callable[[], None] | None = None
) -> None:
    """Run a background job: ``running``, then ``await work(db, job)``, then ``done``; any
    failure is recorded on the job as ``failed`` with its reason (the service carries on).
    A job whose account was erased meanwhile just stops. ``cleanup()`` runs at the end in
    every case."""
    try:
        with app.state.sessionmaker() as db:
            job = db.get(Job, job_id)
            if job is None:
                return
            job.status = "running"
            db.commit()
            try:
                await work(db, job)
                job.status = "done"
            except Exception as exc:  # reported on the job; the service carries on
                db.rollback()
                job = db.get(Job, job_id)
                if job is None:
                    return
                reason = exc.message if isinstance(exc, ApiError) else str(exc)
                job.status, job.error = "failed", reason[:500] or type(exc).__name__
            db.commit()
    except Exception:  # the account went away mid-job (or the database did)
        logger.exception("background job %s could not be recorded", job_id)
    finally:
        if cleanup is not None:
            cleanup()
