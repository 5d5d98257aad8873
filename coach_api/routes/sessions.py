"""Sessions: a user's performance, lifted, aligned to the routine and scored."""

from __future__ import annotations

import json
import uuid
from typing import Annotated

import anyio
from fastapi import APIRouter, BackgroundTasks, Header, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.convertors import StringConvertor, register_url_convertor

from coach_api.access import check_progress_allowed, usable_routine
from coach_api.db import Feedback, Job, Routine, User, WorkoutSession
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
from coach_api.jobs import cancel_job, check_job_room, submit_job
from coach_api.json_requests import documented, read_keypoint_body
from coach_api.openapi_errors import error_responses
from coach_api.persistence import SessionInput, save_keypoints, score_and_store
from coach_api.report_links import issue_link
from coach_api.report_page import page_routine, report_page
from coach_api.rescoring import check_none_running, owned_sessions, rescore_job
from coach_api.schemas import (
    FeedbackCreate,
    FeedbackPublic,
    JobPublic,
    MotionPublic,
    ProgressPoint,
    ReportLinkPublic,
    RescoreCreate,
    SessionCreate,
    SessionPage,
    SessionPublic,
)
from coach_api.services import Engine
from coach_api.session_motion import session_motion
from coach_api.session_video import (
    MAX_RANGE_HEADER,
    kept_video,
    not_kept,
    video_response,
    with_kept_video,
)
from coach_api.shadow import shadow_score
from pose2d.video import VIDEO_TYPES
from pose3d.sequence_json import KeypointSequence

router = APIRouter(tags=["sessions"])


class _SessionIdSegment(StringConvertor):
    """The ``{session_id}`` of ``/sessions/{session_id}``: any segment but ``rescore``,
    which names an operation of its own. Text still reaches the route (a 422 naming
    ``session_id``, as for any text id), while a GET or OPTIONS of ``/sessions/rescore``
    answers 405 with ``Allow: POST``, the methods its schema lists."""

    regex = "(?!rescore$)[^/]+"


register_url_convertor("session_id", _SessionIdSegment())


# What reading a keypoint body may answer beyond the always-declared statuses.
KEYPOINT_BODY_ERRORS = (404, 429)


async def _read_session(
    request: Request, user: User, db: Session, engine: Engine
) -> tuple[SessionCreate, Routine, KeypointSequence]:
    """A session request's body, the routine it names (if the user may use it) and its
    checked keypoint sequence; a 4xx naming what is wrong otherwise."""
    body, frames = await read_keypoint_body(request, SessionCreate, engine)
    routine = await anyio.to_thread.run_sync(usable_routine, db, user, body.routine_id)
    sequence = await engine.run(engine.sequence, body.keypoints, frames)
    return body, routine, sequence


@router.post(
    "/sessions",
    response_model=SessionPublic,
    status_code=201,
    operation_id="createSession",
    responses=error_responses(*KEYPOINT_BODY_ERRORS, body=True),
    openapi_extra=documented(SessionCreate),
)
async def create_session(
    request: Request,
    background: BackgroundTasks,
    user: RateLimitedUser,
    db: SessionDep,
    engine: EngineDep,
    settings: SettingsDep,
) -> SessionPublic:
    """Lift, align and score a session against a routine the user may use (their own or
    a published one), and answer its report. Sessions over ``COACH_BACKGROUND_FRAMES``
    frames (3 minutes by default) answer 422 ``too_long_to_wait``: send those to
    ``createSessionJob``, which answers at once with a job to poll."""
    body, routine, sequence = await _read_session(request, user, db, engine)
    if sequence.num_frames > settings.background_frames:
        raise ApiError(
            422,
            "too_long_to_wait",
            f"{sequence.num_frames} frames are more than this request scores while the client "
            f"waits ({settings.background_frames}); POST the same body to /v1/session-jobs",
            "keypoints.frames",
        )
    spend_rate(request, user)
    strictness = body.strictness or settings.strictness
    row = await score_and_store(
        engine, settings, db, user.id, routine, sequence, strictness, body.beat_times
    )
    # After the answer is sent: the challenger's scoring never delays the user.
    background.add_task(
        shadow_score,
        engine,
        settings,
        request.app.state.sessionmaker,
        row,
        routine,
        sequence,
        strictness,
        body.beat_times,
    )
    return SessionPublic.model_validate(row)


@router.post(
    "/session-jobs",
    response_model=JobPublic,
    status_code=202,
    operation_id="createSessionJob",
    responses=error_responses(*KEYPOINT_BODY_ERRORS, body=True),
    openapi_extra=documented(SessionCreate),
)
async def create_session_job(
    request: Request,
    user: RateLimitedUser,
    db: SessionDep,
    engine: EngineDep,
    settings: SettingsDep,
):
    """The same as ``createSession`` for a session of any length, scored in the
    background: poll ``/v1/jobs/{id}`` until ``done`` (its ``session_id`` is the scored
    session), ``failed`` (its ``error`` says why) or ``cancelled``. 429
    ``too_many_jobs`` while the account has ``COACH_MAX_JOBS_PER_USER`` jobs queued or
    running."""
    body, routine, sequence = await _read_session(request, user, db, engine)
    await anyio.to_thread.run_sync(check_job_room, db, settings, user.id)
    spend_rate(request, user)
    params = {
        "routine_id": routine.id,
        "strictness": body.strictness or settings.strictness,
        "beat_times": body.beat_times,
    }
    # The job's input is kept as a blob, so any worker can run it, again after a crash.
    name = f"keypoints-{uuid.uuid4().hex}.npz"
    await anyio.to_thread.run_sync(save_keypoints, settings.blobs, name, SessionInput(sequence))
    job = Job(user_id=user.id, kind="session", params_json=json.dumps(params), input_blob=name)
    return await anyio.to_thread.run_sync(
        submit_job, request.app, db, job, lambda: settings.blobs.delete(name)
    )


@router.post(
    "/sessions/rescore",
    response_model=JobPublic,
    status_code=202,
    operation_id="rescoreSessions",
    responses=error_responses(404, 409, 429, body=True),
)
def rescore_sessions(
    request: Request, body: RescoreCreate, user: RateLimitedUser, db: SessionDep
) -> JSONResponse:
    """Score some of the caller's sessions again with today's lifter, checks and routine
    references, as a new session would be (after the coach was updated, so that their
    history stays comparable): 202 and a job to poll. When ``done``, its ``rescore`` says
    how many got a new report and which were skipped and why (sessions stored before
    sessions kept their keypoints cannot be re-scored). A cancelled job keeps the
    sessions it re-scored before. 404 naming the first id that is not the caller's
    session (nothing queued); 409 ``rescore_running`` while another re-scoring of their
    sessions is queued or running; 429 ``too_many_jobs`` while the account has
    ``COACH_MAX_JOBS_PER_USER`` jobs queued or running."""
    session_ids = owned_sessions(db, user, body.session_ids)
    check_none_running(db, user)
    check_job_room(db, request.app.state.settings, user.id)
    spend_rate(request, user)
    return submit_job(request.app, db, rescore_job(user.id, session_ids, body.strictness))


@router.get(
    "/jobs/{job_id}",
    response_model=JobPublic,
    operation_id="getJob",
    responses=error_responses(404),
)
def get_job(job_id: Id, user: CurrentUser, db: SessionDep) -> JobPublic:
    """A background job: its status, its stage and progress, its attempts. Admins may see
    every job (those re-scoring users' sessions are the users')."""
    return JobPublic.model_validate(_owned_job(db, user, job_id))


@router.post(
    "/jobs/{job_id}/cancel",
    response_model=JobPublic,
    operation_id="cancelJob",
    responses=error_responses(404, 409),
)
def cancel(job_id: Id, user: CurrentUser, db: SessionDep, settings: SettingsDep) -> JobPublic:
    """Cancel a queued or running job: it ends ``cancelled`` and stores nothing (a running
    one stops at its next step; a re-scoring keeps the sessions it re-scored before).
    409 ``job_finished`` if it had already ended. Admins may cancel every job."""
    job = _owned_job(db, user, job_id)
    if not cancel_job(db, settings, job):
        raise ApiError(409, "job_finished", f"job {job_id} has already ended", "job_id")
    return JobPublic.model_validate(job)


def _owned_job(db: Session, user: User, job_id: int) -> Job:
    """Job ``job_id`` if it is ``user``'s, or ``user`` is an admin (who queues re-scoring
    jobs on behalf of their users); 404 otherwise."""
    job = db.get(Job, job_id)
    if job is None or (job.user_id != user.id and user.role != "admin"):
        raise ApiError(404, "not_found", f"no job {job_id}", "job_id")
    return job


@router.get(
    "/sessions",
    response_model=SessionPage,
    operation_id="listSessions",
    responses=error_responses(),
)
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
    rows = list(rows)
    kept = with_kept_video(db, user.id, (r.id for r in rows))
    return SessionPage(
        items=[_public(r, r.id in kept) for r in rows],
        total=total,
        offset=offset,
        limit=limit,
    )


def _owned_session(db, user, session_id: int) -> WorkoutSession:
    row = db.get(WorkoutSession, session_id)
    if row is None or row.user_id != user.id:
        raise ApiError(404, "not_found", f"no session {session_id}", "session_id")
    return row


@router.get(
    "/sessions/{session_id:session_id}",
    response_model=SessionPublic,
    operation_id="getSession",
    responses=error_responses(404),
)
def get_session(session_id: Id, user: CurrentUser, db: SessionDep) -> SessionPublic:
    row = _owned_session(db, user, session_id)
    return _public(row, kept_video(db, user.id, row.id) is not None)


def _public(row: WorkoutSession, video_kept: bool) -> SessionPublic:
    """A session as the API answers it, saying whether its video is kept."""
    return SessionPublic.model_validate(row).model_copy(update={"video_kept": video_kept})


VIDEO_CONTENT = {media: {"schema": {"type": "string", "format": "binary"}} for media in VIDEO_TYPES}


@router.get(
    "/sessions/{session_id}/video",
    operation_id="getSessionVideo",
    response_class=StreamingResponse,
    responses={
        200: {"description": "The whole video, in its uploaded type", "content": VIDEO_CONTENT},
        206: {"description": "The part a ``Range`` header asked for", "content": VIDEO_CONTENT},
        **error_responses(404, 416),
    },
)
def get_session_video(
    session_id: Id,
    user: CurrentUser,
    db: SessionDep,
    settings: SettingsDep,
    range: Annotated[
        str | None,
        Header(max_length=MAX_RANGE_HEADER, description="one byte range: bytes=START-END"),
    ] = None,
) -> StreamingResponse:
    """The session's video, kept because the user asked (``keep_video`` on upload), in
    whole or the one byte range asked (``Range``, as a ``<video>`` element seeks). 404
    ``video_not_kept`` when it was not kept (or the session came from keypoints)."""
    row = _owned_session(db, user, session_id)
    name = kept_video(db, user.id, row.id)
    if name is None:
        raise not_kept()
    return video_response(settings.blobs, name, range)


@router.get(
    "/sessions/{session_id}/report.html",
    response_class=HTMLResponse,
    operation_id="getSessionReport",
    responses=error_responses(404),
)
async def session_report(
    session_id: Id, user: CurrentUser, db: SessionDep, engine: EngineDep, settings: SettingsDep
) -> HTMLResponse:
    """The session's report page (score, cues, alignment plot, error timeline, skeletons).
    To open it without the bearer header (a browser), get a link: ``createReportLink``."""
    return await report_page(_owned_session(db, user, session_id), db, engine, settings)


@router.get(
    "/sessions/{session_id}/motion",
    response_model=MotionPublic,
    operation_id="getSessionMotion",
    responses=error_responses(404),
)
async def get_session_motion(
    session_id: Id, user: CurrentUser, db: SessionDep, engine: EngineDep, settings: SettingsDep
) -> MotionPublic:
    """The session's motion for a 3D player: the user's lifted poses, the trainer's
    matched frame by frame to them (on the user's body) and the corrected ghost, at most
    900 frames. 404 ``routine_deleted`` once the trainer deleted the routine."""
    return await session_motion(_owned_session(db, user, session_id), db, engine, settings)


@router.post(
    "/sessions/{session_id}/report-link",
    response_model=ReportLinkPublic,
    operation_id="createReportLink",
    responses=error_responses(404),
)
def create_report_link(
    session_id: Id, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> ReportLinkPublic:
    """A link to the session's report page that opens without a bearer header (in a
    browser, or passed on) until ``expires_at`` (``COACH_REPORT_LINK_MINUTES`` from now).
    Deleting the session or the account ends it sooner. 404 ``routine_deleted`` when the
    page can no longer be drawn."""
    row = _owned_session(db, user, session_id)
    page_routine(db, row)  # no link to a page that cannot be drawn
    url, expires_at = issue_link(row, user, settings.signing_key, settings.report_link_minutes)
    return ReportLinkPublic(url=url, expires_at=expires_at)


@router.post(
    "/sessions/{session_id}/feedback",
    response_model=FeedbackPublic,
    status_code=201,
    operation_id="createFeedback",
    responses=error_responses(404, body=True),
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
    "/routines/{routine_id:int}/progress",
    response_model=list[ProgressPoint],
    operation_id="getRoutineProgress",
    responses=error_responses(404),
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
