"""Accounts' roles: invitations and grants (trainers and admins are never self-made).

The first admin is made by whoever runs the service: ``coach-api users grant EMAIL --role
admin`` on its database. Admins then grant roles (``PUT /v1/admin/users/{id}/role``) or
hand out single-use invitation codes (``POST /v1/admin/invitations``).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from coach_api.db import Invitation, User
from coach_api.schemas import normalise_email


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def create_invitation(
    db: Session, admin: User | None, role: str, valid_days: int
) -> tuple[str, Invitation]:
    """A new single-use code for ``role`` (returned once) and its stored row."""
    code = secrets.token_urlsafe(18)
    invitation = Invitation(
        code_sha256=_digest(code),
        role=role,
        created_by=admin.id if admin is not None else None,
        expires_at=datetime.now(UTC) + timedelta(days=valid_days),
    )
    db.add(invitation)
    db.commit()
    return code, invitation


def open_invitation(db: Session, code: str) -> Invitation | None:
    """The unused, unexpired invitation with this code, or ``None``."""
    invitation = db.scalar(select(Invitation).where(Invitation.code_sha256 == _digest(code)))
    if invitation is None or invitation.used_by is not None:
        return None
    expires = invitation.expires_at
    if expires.tzinfo is None:  # SQLite returns naive datetimes (stored as UTC)
        expires = expires.replace(tzinfo=UTC)
    return invitation if expires > datetime.now(UTC) else None


def grant_role(db: Session, email: str, role: str) -> User:
    """Give the account ``email`` the ``role``; LookupError if there is none."""
    user = db.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise LookupError(f"no account {email!r}")
    user.role = role
    db.commit()
    return user


def grant_role_in(database_url: str, email: str, role: str) -> User:
    """:func:`grant_role` on the database at ``database_url`` (the operator's command, and
    demos and tests that run the API as a separate server)."""
    from coach_api.db import make_engine, make_sessionmaker

    engine = make_engine(database_url, pool_size=1)
    try:
        with make_sessionmaker(engine)() as db:
            return grant_role(db, email, role)
    finally:
        engine.dispose()
