"""Start-up recovery: background jobs the previous process left unfinished.

Jobs run in this process's memory (a durable queue is a later step), so a job still
``queued`` or ``running`` at start-up was cut short by a crash or restart: it is marked
``failed`` with a reason the app can show, and its uploaded video is deleted unless the
user asked to keep it. This assumes one API process per database: with several, a
process starting would fail the jobs another one is running.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from coach_api.db import Job

logger = logging.getLogger("coach_api")
INTERRUPTED = "interrupted by a server restart before it finished; please submit it again"


def recover_interrupted_jobs(sessionmaker, blobs) -> int:
    """Fail every unfinished job and delete its unkept video; returns how many."""
    with sessionmaker() as db:
        jobs = db.scalars(select(Job).where(Job.status.in_(("queued", "running")))).all()
        videos = []
        for job in jobs:
            job.status, job.error = "failed", INTERRUPTED
            if job.video_blob and not job.keep_video:
                videos.append(job.video_blob)
                job.video_blob = ""
        db.commit()
    for name in videos:  # after the commit: a crash here leaves a blob, never a dangling row
        blobs.delete(name)
    if jobs:
        logger.warning("failed %d job(s) interrupted by the last shutdown", len(jobs))
    return len(jobs)
