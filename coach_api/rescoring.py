"""Re-scoring: stored sessions scored again after the lifter, the checks or a routine's
reference changed, so that a user's history stays comparable.

The requests are here (which sessions, whose jobs); the work is the ``rescore`` job kind
(:func:`coach_api.job_kinds.rescore_sessions`). A session is re-scored from the keypoints
it was first scored from (kept since migration 0004), lifted by today's lifter and judged
against its routine's reference of today, exactly as a new session would be. Sessions
stored before keypoints were kept are skipped, not re-judged from their stored 3D poses:
those were lifted by the old lifter, and without the 2D keypoints the checks that read
them (knee and heel measures, the camera's confidence) would be left out, so such a
report would not be comparable with a new session's either.
"""

from __future__ import annotations

import json
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from coach_api.db import Job, Routine, User, WorkoutSession
from coach_api.errors import ApiError
from coach_api.jobs import ACTIVE, RESCORE_KIND
from coach_api.schemas import MAX_RESCORE_SESSIONS

# Sessions one admin request queues (in jobs of at most MAX_RESCORE_SESSIONS): a request's
# transaction and answer stay small, and the next batch starts after the last id.
ADMIN_BATCH_SESSIONS = 1_000


def owned_sessions(db: Session, user: User, session_ids: list[int]) -> list[int]:
    """``session_ids`` without repeats, in order, if every one is ``user``'s session; 404
    naming the first that is not (``session_ids.N``, its index) otherwise."""
    unique = list(dict.fromkeys(session_ids))
    owned = set(
        db.scalars(
            select(WorkoutSession.id).where(
                WorkoutSession.id.in_(unique), WorkoutSession.user_id == user.id
            )
        )
    )
    for index, session_id in enumerate(session_ids):
        if session_id not in owned:
            raise ApiError(404, "not_found", f"no session {session_id}", f"session_ids.{index}")
    return unique


def check_none_running(db: Session, user: User) -> None:
    """409 ``rescore_running`` while a re-scoring of ``user``'s sessions is queued or
    running: one at a time per user (the next one would mostly redo its work)."""
    running = db.scalar(
        select(Job.id)
        .where(Job.user_id == user.id, Job.kind == RESCORE_KIND, Job.status.in_(ACTIVE))
        .limit(1)
    )
    if running is not None:
        raise ApiError(
            409,
            "rescore_running",
            f"job {running} is re-scoring your sessions; wait until it ends (GET /v1/jobs/"
            f"{running})",
            "session_ids",
        )


def rescore_job(user_id: int, session_ids: list[int], strictness: str | None) -> Job:
    """A queued-to-be ``rescore`` job of ``user_id``'s ``session_ids`` (at most
    :data:`MAX_RESCORE_SESSIONS`) at ``strictness`` (None: each session's own)."""
    params = {"session_ids": session_ids, "strictness": strictness}
    return Job(user_id=user_id, kind=RESCORE_KIND, params_json=json.dumps(params))


def admin_batch(
    db: Session, routine_id: int | None, after_session_id: int
) -> tuple[list[Job], int, int | None]:
    """The jobs re-scoring the next :data:`ADMIN_BATCH_SESSIONS` sessions (of
    ``routine_id``, if given) with ids over ``after_session_id``, in id order: one job per
    owner and :data:`MAX_RESCORE_SESSIONS` sessions, so that each job is its owner's (in
    their ``getJob``, erased with their account) and re-scores only their sessions. Returns
    the jobs (not stored), the sessions they take and the last id when more are left.
    404 for a ``routine_id`` that does not exist."""
    query = select(WorkoutSession.id, WorkoutSession.user_id).where(
        WorkoutSession.id > after_session_id
    )
    if routine_id is not None:
        if db.get(Routine, routine_id) is None:
            raise ApiError(404, "not_found", f"no routine {routine_id}", "routine_id")
        query = query.where(WorkoutSession.routine_id == routine_id)
    rows = db.execute(query.order_by(WorkoutSession.id).limit(ADMIN_BATCH_SESSIONS + 1)).all()
    more = len(rows) > ADMIN_BATCH_SESSIONS
    rows = rows[:ADMIN_BATCH_SESSIONS]
    owners: dict[int, list[int]] = defaultdict(list)
    for session_id, user_id in rows:
        owners[user_id].append(session_id)
    jobs = [
        rescore_job(user_id, ids[start : start + MAX_RESCORE_SESSIONS], None)
        for user_id, ids in owners.items()
        for start in range(0, len(ids), MAX_RESCORE_SESSIONS)
    ]
    return jobs, len(rows), rows[-1].id if more else None
