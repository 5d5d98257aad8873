"""Register, log in, who am I, and erase me."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select

from coach_api.db import User
from coach_api.deps import CurrentUser, SessionDep, SettingsDep
from coach_api.errors import ApiError
from coach_api.schemas import Token, UserCreate, UserPublic
from coach_api.security import create_token, hash_password, verify_password

router = APIRouter(tags=["auth"])


@router.post("/auth/register", response_model=UserPublic, status_code=201, operation_id="register")
def register(body: UserCreate, db: SessionDep, settings: SettingsDep) -> UserPublic:
    email = body.email.lower()
    if db.scalar(select(User).where(User.email == email)) is not None:
        raise ApiError(409, "email_taken", "an account with this email exists", "email")
    admins = {e.lower() for e in settings.admin_emails}
    role = "admin" if email in admins else body.role
    user = User(email=email, password_hash=hash_password(body.password), role=role)
    db.add(user)
    db.commit()
    return UserPublic.model_validate(user)


@router.post("/auth/login", response_model=Token, operation_id="login")
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], db: SessionDep, settings: SettingsDep
) -> Token:
    user = db.scalar(select(User).where(User.email == form.username.lower()))
    if user is None or not verify_password(form.password, user.password_hash):
        raise ApiError(401, "bad_credentials", "wrong email or password")
    return Token(access_token=create_token(user.id, settings.signing_key, settings.token_minutes))


@router.get("/me", response_model=UserPublic, operation_id="getMe")
def me(user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(user)


@router.delete("/me", status_code=204, operation_id="deleteMe")
def delete_me(user: CurrentUser, db: SessionDep, settings: SettingsDep) -> None:
    """Erase the account with its routines, sessions, feedback, kept videos and stored motion."""
    blobs = [s.blob for s in user.sessions] + [r.blob for r in user.routines]
    blobs += [job.video_blob for job in user.jobs if job.video_blob]
    db.delete(user)
    db.commit()
    for name in blobs:
        settings.blobs.delete(name)
