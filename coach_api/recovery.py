"""Lease-based recovery: jobs whose worker died, and queue messages that were lost.

Every worker process sweeps the jobs table now and then (:func:`recover_expired_jobs`).
A ``running`` job whose lease ran out lost its worker (killed, crashed, its machine
gone): it is queued again after the retry delay, or failed once it has had
``job_max_attempts`` runs. A ``queued`` job no worker took by its deadline lost its
queue message (the API died before sending it, or a worker died holding it): it is
sent again. Each change is conditional on the lease still being expired, so any number
of processes may sweep at once, and a job another process is running is never touched.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import or_, select, update

from coach_api.db import Job
from coach_api.jobs import WorkerContext, discard_inputs, failed_values, retry_delay_s, utcnow

logger = logging.getLogger("coach_api")
INTERRUPTED = "interrupted {} times (its worker stopped); please submit it again"


def recover_expired_jobs(ctx: WorkerContext) -> int:
    """Retry, fail or resend every job whose lease ran out; returns how many. Blocking."""
    settings, now = ctx.settings, utcnow()
    expired = or_(Job.lease_until.is_(None), Job.lease_until < now)
    with ctx.sessionmaker() as db:
        jobs = db.scalars(select(Job).where(Job.status.in_(("queued", "running")), expired)).all()
        db.expunge_all()
    recovered = 0
    for job in jobs:
        if job.status == "queued":
            delay = 0.0
            values = {"lease_until": now + timedelta(seconds=settings.job_lease_s)}
        elif job.attempts >= settings.job_max_attempts:
            delay, values = 0.0, failed_values(job, INTERRUPTED.format(job.attempts))
        else:
            delay = retry_delay_s(settings, job.attempts)
            values = {
                "status": "queued",
                "stage": "waiting to retry",
                "lease_until": now + timedelta(seconds=delay + settings.job_lease_s),
            }
        with ctx.sessionmaker() as db:
            changed = db.execute(
                update(Job)
                .where(Job.id == job.id, Job.status == job.status, Job.attempts == job.attempts)
                .where(expired)
                .values(**values)
            ).rowcount
            db.commit()
        if changed != 1:  # renewed, finished or recovered by someone else meanwhile
            continue
        recovered += 1
        if values.get("status") == "failed":
            discard_inputs(settings, job)
        else:
            ctx.queue.enqueue(job.id, delay)
    if recovered:
        logger.warning("recovered %d job(s) whose lease ran out", recovered)
    return recovered
