"""Signed, short-lived links to a session's report page, which open without a bearer
header: in a browser the app opens, or passed on to someone.

A link is a JWT (HS256, the app's signing key) with an audience of its own, so that a
link is no bearer token and a bearer token no link. It names the session, its owner and
a digest of the owner's ``token_key``: it dies with the session, with the account, when
the account's tokens are revoked (a new key), and at its expiry
(``COACH_REPORT_LINK_MINUTES``). Whatever is wrong with a link answers 404, exactly like a
link that never existed.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy.orm import Session

from coach_api.db import User, WorkoutSession
from coach_api.errors import ApiError

AUDIENCE = "coach:report-link"
SHARED_REPORTS = "/v1/shared/reports"  # a link is this path and its token


def _key_digest(token_key: str) -> str:
    """The account's token key as a link carries it: whoever holds a link can read its
    claims, and the key itself is the account's, not the link's."""
    return hashlib.sha256(token_key.encode()).hexdigest()


def issue_link(
    row: WorkoutSession, owner: User, signing_key: str, minutes: int
) -> tuple[str, datetime]:
    """The path of a link to ``row``'s report page, and when it expires."""
    now = datetime.now(UTC).replace(microsecond=0)  # a JWT's times are whole seconds
    expires = now + timedelta(minutes=minutes)
    claims = {
        "aud": AUDIENCE,
        "sub": str(owner.id),
        "sid": row.id,
        "key": _key_digest(owner.token_key),
        "iat": now,
        "exp": expires,
    }
    return f"{SHARED_REPORTS}/{jwt.encode(claims, signing_key, algorithm='HS256')}", expires


def linked_session(db: Session, token: str, signing_key: str) -> WorkoutSession:
    """The session a link's token opens: signed by us, unexpired, its session and owner
    still there with the same token key; 404 otherwise."""
    gone = ApiError(404, "not_found", "no such report link (links expire)", "token")
    try:
        claims = jwt.decode(
            token,
            signing_key,
            algorithms=["HS256"],
            audience=AUDIENCE,
            options={"require": ["exp", "sub", "sid", "key"]},
        )
        user_id, session_id, digest = int(claims["sub"]), int(claims["sid"]), str(claims["key"])
    except (jwt.PyJWTError, ValueError, TypeError):
        raise gone from None
    row = db.get(WorkoutSession, session_id)
    owner = db.get(User, user_id)
    if row is None or owner is None or row.user_id != owner.id:
        raise gone
    if not secrets.compare_digest(_key_digest(owner.token_key), digest):
        raise gone
    return row
