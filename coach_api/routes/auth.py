"""Register, log in, who am I, and erase me."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select

from coach_api.accounts import open_invitation
from coach_api.db import User
from coach_api.deps import CurrentUser, EngineDep, SessionDep, SettingsDep, client_address
from coach_api.errors import ApiError
from coach_api.live_streams import delete_chunks
from coach_api.openapi_errors import error_responses
from coach_api.schemas import Token, UserCreate, UserPublic, normalise_email
from coach_api.security import create_token, hash_password, verify_password

router = APIRouter(tags=["auth"])


@router.post(
    "/auth/register",
    response_model=UserPublic,
    status_code=201,
    operation_id="register",
    responses=error_responses(403, 409, 429, authenticated=False, body=True),
)
def register(body: UserCreate, db: SessionDep, request: Request) -> UserPublic:
    """A new account (role ``user``; ``trainer`` or ``admin`` with an invitation of that
    role). Sign-ups are limited per client address."""
    request.app.state.rate_limits.check_signup(client_address(request))
    invitation = open_invitation(db, body.invitation) if body.invitation else None
    if body.invitation and invitation is None:
        raise ApiError(
            403, "invalid_invitation", "unknown, used or expired invitation", "invitation"
        )
    role = invitation.role if invitation is not None and body.role == "user" else body.role
    if role != "user" and (invitation is None or invitation.role != role):
        raise ApiError(
            403,
            "invitation_required",
            f"a {role} account needs an invitation from an admin",
            "role",
        )
    if db.scalar(select(User.id).where(User.email == body.email)) is not None:
        raise ApiError(409, "email_taken", "an account with this email exists", "email")
    user = User(email=body.email, password_hash=hash_password(body.password), role=role)
    db.add(user)
    db.flush()
    if invitation is not None:
        invitation.used_by = user.id  # single use, in the same transaction
    db.commit()
    return UserPublic.model_validate(user)


@router.post(
    "/auth/login",
    response_model=Token,
    operation_id="login",
    responses=error_responses(401, 429, authenticated=False, body=True),
)
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    db: SessionDep,
    settings: SettingsDep,
    request: Request,
) -> Token:
    """A bearer token. Logins are limited per client address, and an account with many
    failed logins waits (429 with Retry-After) whatever the password."""
    email = normalise_email(form.username)[:320]
    limits = request.app.state.rate_limits
    limits.check_login(client_address(request), email)
    user = db.scalar(select(User).where(User.email == email))
    # An unknown email verifies a dummy hash: it answers as slowly as a wrong password.
    if not verify_password(form.password[:200], user.password_hash if user else None):
        limits.login_failed(email)
        raise ApiError(401, "bad_credentials", "wrong email or password")
    token = create_token(user.id, user.token_key, settings.signing_key, settings.token_minutes)
    return Token(access_token=token)


@router.get("/me", response_model=UserPublic, operation_id="getMe", responses=error_responses())
def me(user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(user)


@router.delete("/me", status_code=204, operation_id="deleteMe", responses=error_responses())
def delete_me(user: CurrentUser, db: SessionDep, settings: SettingsDep, engine: EngineDep) -> None:
    """Erase the account with its routines, sessions, feedback, videos, stored motion and
    keypoints (sessions' and queued jobs'); its tokens stop working. Users' sessions of
    its routines stay theirs (see README)."""
    blobs = [s.blob for s in user.sessions] + [r.blob for r in user.routines]
    blobs += [s.keypoints_blob for s in user.sessions if s.keypoints_blob]
    blobs += [name for job in user.jobs for name in (job.video_blob, job.input_blob) if name]
    streams = [stream.id for stream in user.live_streams]
    db.delete(user)
    db.commit()
    for name in blobs:
        engine.forget_reference(name)
        settings.blobs.delete(name)
    for stream_id in streams:
        delete_chunks(settings, stream_id)
