"""Admin-only: roles, invitations, and exports (feedback for retraining)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from coach_api.accounts import create_invitation
from coach_api.db import Feedback, User
from coach_api.deps import AdminUser, Id, SessionDep
from coach_api.errors import ApiError
from coach_api.openapi_errors import error_responses
from coach_api.schemas import (
    FeedbackPublic,
    InvitationCreate,
    InvitationPublic,
    RoleUpdate,
    UserPublic,
)

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
