"""Who may see and use what: the one place routine visibility is decided.

A routine is private to its trainer until published; a published routine is in the
catalogue every account may read and score against. Whatever the caller may not see
answers 404, exactly like what does not exist, so ids reveal nothing.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from coach_api.db import Routine, User, WorkoutSession
from coach_api.errors import ApiError

TRAINER_ROLES = ("trainer", "admin")


def visible_to(user: User) -> ColumnElement[bool]:
    """SQL condition: routines ``user`` may see (their own, or published)."""
    return or_(Routine.owner_id == user.id, Routine.published.is_(True))


def usable_routine(db: Session, user: User, routine_id: int, field: str = "routine_id") -> Routine:
    """The routine if ``user`` may score against it (theirs or published); 404 otherwise."""
    routine = db.scalar(select(Routine).where(Routine.id == routine_id, visible_to(user)))
    if routine is None:
        raise ApiError(404, "not_found", f"no routine {routine_id}", field)
    return routine


def owned_routine(db: Session, user: User, routine_id: int) -> Routine:
    """The routine if ``user`` owns it (may change or delete it); 404 otherwise."""
    routine = db.get(Routine, routine_id)
    if routine is None or routine.owner_id != user.id:
        raise ApiError(404, "not_found", f"no routine {routine_id}", "routine_id")
    return routine


def check_progress_allowed(db: Session, user: User, routine_id: int) -> None:
    """A routine's progress is the user's if they may see the routine, or scored it before
    (their history outlives the routine's deletion or unpublishing); 404 otherwise."""
    if db.scalar(select(Routine.id).where(Routine.id == routine_id, visible_to(user))):
        return
    scored = select(WorkoutSession.id).where(
        WorkoutSession.user_id == user.id, WorkoutSession.routine_id == routine_id
    )
    if db.scalar(scored.limit(1)) is None:
        raise ApiError(404, "not_found", f"no routine {routine_id}", "routine_id")


def require_trainer(user: User) -> None:
    """403 unless ``user`` may create routines (trainers, admins)."""
    if user.role not in TRAINER_ROLES:
        raise ApiError(
            403,
            "trainer_only",
            "only trainers create routines; an admin grants the trainer role (or sends an "
            "invitation)",
        )
