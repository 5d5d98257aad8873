"""Admin-only exports (feedback for retraining)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from coach_api.db import Feedback
from coach_api.deps import CurrentUser, SessionDep
from coach_api.errors import ApiError
from coach_api.schemas import FeedbackPublic

router = APIRouter(tags=["admin"])


@router.get("/admin/feedback", response_model=list[FeedbackPublic], operation_id="exportFeedback")
def export_feedback(user: CurrentUser, db: SessionDep) -> list[FeedbackPublic]:
    """Every cue verdict users gave, oldest first."""
    if user.role != "admin":
        raise ApiError(403, "forbidden", "admins only")
    rows = db.scalars(select(Feedback).order_by(Feedback.id))
    return [FeedbackPublic.model_validate(r) for r in rows]
