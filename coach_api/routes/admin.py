"""Admin-only: roles, invitations, exports (feedback for retraining), re-scoring, the
shadow scoring's agreement."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from coach_api.accounts import create_invitation
from coach_api.db import Feedback, User
from coach_api.deps import AdminUser, Id, SessionDep
from coach_api.errors import ApiError
from coach_api.jobs import submit_jobs
from coach_api.openapi_errors import error_responses
from coach_api.rescoring import admin_batch
from coach_api.schemas import (
    MAX_SHADOW_SESSIONS,
    AdminRescoreCreate,
    FeedbackPublic,
    InvitationCreate,
    InvitationPublic,
    JobPublic,
    RescoreBatchPublic,
    RoleUpdate,
    ShadowSummary,
    UserPublic,
)
from coach_api.shadow import summary

router = APIRouter(tags=["admin"])


@router.get(
    "/admin/feedback",
    response_model=list[FeedbackPublic],
    operation_id="exportFeedback",
    responses=error_responses(403),
)
def export_feedback(admin: AdminUser, db: SessionDep) -> list[FeedbackPublic]:
    """Every cue verdict users gave, oldest first."""
    rows = db.scalars(select(Feedback).order_by(Feedback.id))
    return [FeedbackPublic.model_validate(r) for r in rows]


@router.post(
    "/admin/invitations",
    response_model=InvitationPublic,
    status_code=201,
    operation_id="createInvitation",
    responses=error_responses(403, body=True),
)
def invite(body: InvitationCreate, admin: AdminUser, db: SessionDep) -> InvitationPublic:
    """A single-use code: whoever registers with it gets the role (shown only here)."""
    code, invitation = create_invitation(db, admin, body.role, body.valid_days)
    return InvitationPublic(code=code, role=invitation.role, expires_at=invitation.expires_at)


@router.put(
    "/admin/users/{user_id}/role",
    response_model=UserPublic,
    operation_id="setUserRole",
    responses=error_responses(403, 404, body=True),
)
def set_role(user_id: Id, body: RoleUpdate, admin: AdminUser, db: SessionDep) -> UserPublic:
    """Grant (or take back) the trainer or admin role."""
    user = db.get(User, user_id)
    if user is None:
        raise ApiError(404, "not_found", f"no user {user_id}", "user_id")
    user.role = body.role
    db.commit()
    return UserPublic.model_validate(user)


@router.post(
    "/admin/rescore",
    response_model=RescoreBatchPublic,
    status_code=202,
    operation_id="rescoreAllSessions",
    responses=error_responses(403, 404, body=True),
)
def rescore_all(
    request: Request, body: AdminRescoreCreate, admin: AdminUser, db: SessionDep
) -> RescoreBatchPublic:
    """Re-score every session (of ``routine_id``, if given) with today's lifter, checks
    and references, e.g. after a model or scoring update: the next batch of up to 1,000
    sessions with ids over ``after_session_id`` (call again with the answer's
    ``next_after_session_id`` until it is null). One job per owner (and 500 sessions),
    not one for all: each job is its owner's like the ones they queue themselves (in
    their ``getJob``, gone with their account), re-scores only their sessions, and jobs
    of different users run side by side on the workers. Admins see and may cancel every
    job. 404 for a ``routine_id`` that does not exist."""
    jobs, sessions, next_after = admin_batch(db, body.routine_id, body.after_session_id)
    submit_jobs(request.app, db, jobs)
    return RescoreBatchPublic(
        jobs=[JobPublic.model_validate(job) for job in jobs],
        sessions=sessions,
        next_after_session_id=next_after,
    )


@router.get(
    "/admin/shadow",
    response_model=ShadowSummary,
    operation_id="shadowSummary",
    responses=error_responses(403),
)
def shadow_summary(
    admin: AdminUser,
    db: SessionDep,
    limit: Annotated[int, Query(ge=1, le=MAX_SHADOW_SESSIONS)] = 500,
) -> ShadowSummary:
    """How the challenger models (``COACH_SHADOW_ALIAS``) agree with the served champion
    on the latest ``limit`` sessions: per pair of model sets, the score difference and per
    error kind the cues each gave and the ones only one of them gave."""
    return summary(db, limit)
