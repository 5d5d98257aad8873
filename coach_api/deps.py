"""Dependencies shared by the routes (``SessionDep``, ``CurrentUser`` ...)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from coach_api.db import User
from coach_api.errors import ApiError
from coach_api.security import read_token
from coach_api.services import Engine
from coach_api.settings import Settings

oauth2 = OAuth2PasswordBearer(tokenUrl="/v1/auth/login", auto_error=False)


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.sessionmaker() as session:
        yield session


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


MAX_ID = 2**62  # larger ids cannot exist in the database (and overflow SQLite integers)
Id = Annotated[int, Path(ge=1, le=MAX_ID)]  # a row id in a URL path
SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_db)]
EngineDep = Annotated[Engine, Depends(get_engine)]


def current_user(
    db: SessionDep, settings: SettingsDep, token: Annotated[str | None, Depends(oauth2)]
) -> User:
    user_id = read_token(token, settings.signing_key) if token else None
    user = db.get(User, user_id) if user_id is not None else None
    if user is None:
        raise ApiError(401, "unauthorized", "a valid bearer token is required")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def rate_limited_user(request: Request, user: CurrentUser) -> User:
    """The current user, if under their rate limit for expensive requests (else 429)."""
    request.app.state.rate_limiter.check(user.id)
    return user


RateLimitedUser = Annotated[User, Depends(rate_limited_user)]
