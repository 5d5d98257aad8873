"""Sessions: a user's performance, lifted, aligned to the routine and scored."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from coach_api.access import check_progress_allowed, usable_routine
from coach_api.db import Feedback, Job, Routine, WorkoutSession
from coach_api.deps import (
    MAX_ID,
    CurrentUser,
    EngineDep,
    Id,
    RateLimitedUser,
    SessionDep,
    SettingsDep,
    spend_rate,
)
from coach_api.errors import ApiError
from coach_api.jobs import queue_job
from coach_api.json_requests import documented, read_keypoint_body
from coach_api.persistence import score_and_store, score_into_job
from coach_api.schemas import (
    FeedbackCreate,
    FeedbackPublic,
    JobPublic,
    ProgressPoint,
    SessionCreate,
    SessionPage,
    SessionPublic,
)
from coach_api.services import load_poses

router = APIRouter(tags=["sessions"])


@router.post(
    "/sessions",
    response_model=SessionPublic,
    status_code=201,
    operation_id="createSession",
    responses={202: {"model": JobPublic, "description": "long session: scored in the background"}},
    openapi_extra=documented(SessionCreate),
)
async def create_session(
    request: Request,
    user: RateLimitedUser,
    db: SessionDep,
    engine: EngineDep,
    settings: SettingsDep,
):
    """Lift, align and score a session against a routine the user may use (their own or
    a published one); sessions over ``COACH_BACKGROUND_FRAMES`` frames answer 202 with a
    job to poll at ``/v1/jobs/{id}``."""
    body, frames = await read_keypoint_body(request, SessionCreate, engine)
    routine = await anyio.to_thread.run_sync(usable_routine, db, user, body.routine_id)
    sequence = await engine.run(engine.sequence, body.keypoints, frames)
    spend_rate(request, user)
    strictness = body.strictness or settings.strictness
    if sequence.num_frames <= settings.background_frames:
        row = await score_and_store(
            engine, settings, db, user.id, routine, sequence, strictness, body.beat_times
        )
        return SessionPublic.model_validate(row)
    app, user_id, routine_id, beats = request.app, user.id, routine.id, body.beat_times

    async def work(db, job: Job) -> None:
        await score_into_job(app, db, job, user_id, routine_id, sequence, strictness, beats)

    return queue_job(app, db, Job(user_id=user_id), work)


@router.get("/jobs/{job_id}", response_model=JobPublic, operation_id="getJob")
def get_job(job_id: Id, user: CurrentUser, db: SessionDep) -> JobPublic:
    job = db.get(Job, job_id)
    if job is None or job.user_id != user.id:
        raise ApiError(404, "not_found", f"no job {job_id}", "job_id")
    return JobPublic.model_validate(job)


@router.get("/sessions", response_model=SessionPage, operation_id="listSessions")
def list_sessions(
    user: CurrentUser,
    db: SessionDep,
    offset: int = Query(0, ge=0, le=MAX_ID),
    limit: int = Query(20, ge=1, le=100),
    routine_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> SessionPage:
    query = select(WorkoutSession).where(WorkoutSession.user_id == user.id)
    if routine_id is not None:
        query = query.where(WorkoutSession.routine_id == routine_id)
    total = db.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.scalars(
        query.order_by(WorkoutSession.created_at.desc(), WorkoutSession.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return SessionPage(
        items=[SessionPublic.model_validate(r) for r in rows],
        total=total,
        offset=offset,
        limit=limit,
    )


def _owned_session(db, user, session_id: int) -> WorkoutSession:
    row = db.get(WorkoutSession, session_id)
    if row is None or row.user_id != user.id:
        raise ApiError(404, "not_found", f"no session {session_id}", "session_id")
    return row


@router.get("/sessions/{session_id}", response_model=SessionPublic, operation_id="getSession")
def get_session(session_id: Id, user: CurrentUser, db: SessionDep) -> SessionPublic:
    return SessionPublic.model_validate(_owned_session(db, user, session_id))


@router.get(
    "/sessions/{session_id}/report.html",
    response_class=HTMLResponse,
    operation_id="getSessionReport",
)
async def session_report(
    session_id: Id, user: CurrentUser, db: SessionDep, engine: EngineDep, settings: SettingsDep
) -> HTMLResponse:
    """The session's report page (score, cues, alignment plot, error timeline, skeletons)."""
    row = _owned_session(db, user, session_id)
    routine = db.get(Routine, row.routine_id)
    if routine is None:
        raise ApiError(
            404,
            "routine_deleted",
            "the trainer deleted this session's routine, and with it the motion the page "
            "compares you with; the session's report is still at /v1/sessions/{id}",
            "session_id",
        )
    db.commit()  # ends the read transaction: the connection goes back to the pool
    reference = await engine.run(engine.reference, settings.blobs, routine)
    page = await engine.run(_render, row, routine, reference, settings.blobs)
    return HTMLResponse(page, headers=REPORT_HEADERS)


# The report is self-contained (inline style, data: images, no script): allow nothing else.
REPORT_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
}


def _render(row: WorkoutSession, routine, reference, blobs) -> str:
    from scoring.html import render_html
    from scoring.report import SessionReport

    poses, fps = load_poses(blobs, row.blob)
    report = SessionReport.from_dict(row.report)
    return render_html(report, poses, fps, reference, title=f"{routine.name}: session {row.id}")


@router.post(
    "/sessions/{session_id}/feedback",
    response_model=FeedbackPublic,
    status_code=201,
    operation_id="createFeedback",
)
def create_feedback(
    session_id: Id, body: FeedbackCreate, user: CurrentUser, db: SessionDep
) -> FeedbackPublic:
    """Mark one of the session's cues as right or wrong (kept for retraining)."""
    row = _owned_session(db, user, session_id)
    errors = row.report["errors"]
    if body.error_index >= len(errors):
        raise ApiError(422, "invalid_input", f"the session has {len(errors)} cue(s)", "error_index")
    feedback = Feedback(
        session_id=row.id,
        user_id=user.id,
        error_index=body.error_index,
        kind=errors[body.error_index]["kind"],
        verdict=body.verdict,
        comment=body.comment,
    )
    db.add(feedback)
    db.commit()
    return FeedbackPublic.model_validate(feedback)


@router.get(
    "/routines/{routine_id}/progress",
    response_model=list[ProgressPoint],
    operation_id="getRoutineProgress",
)
def routine_progress(routine_id: Id, user: CurrentUser, db: SessionDep) -> list[ProgressPoint]:
    """The user's sessions of one routine over time, oldest first: score, reps, cue count.
    404 unless the user may see the routine or has scored it before."""
    check_progress_allowed(db, user, routine_id)
    rows = db.scalars(
        select(WorkoutSession)
        .where(WorkoutSession.user_id == user.id, WorkoutSession.routine_id == routine_id)
        .order_by(WorkoutSession.created_at, WorkoutSession.id)
    )
    return [
        ProgressPoint(
            session_id=r.id,
            created_at=r.created_at,
            score=r.score,
            reps=r.report["reps"],
            errors=len(r.report["errors"]),
        )
        for r in rows
    ]
