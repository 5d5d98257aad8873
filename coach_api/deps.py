"""Dependencies shared by the routes (``SessionDep``, ``CurrentUser`` ...)."""

from __future__ import annotations

import secrets
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


def user_for_token(db: Session, token: str | None, settings: Settings) -> User | None:
    """The account a bearer token belongs to, or ``None`` (bad, expired, or the account was
    deleted or its tokens revoked)."""
    claims = read_token(token, settings.signing_key) if token else None
    if claims is None:
        return None
    user = db.get(User, claims[0])
    if user is None or not secrets.compare_digest(user.token_key, claims[1]):
        return None
    return user


def current_user(
    db: SessionDep, settings: SettingsDep, token: Annotated[str | None, Depends(oauth2)]
) -> User:
    user = user_for_token(db, token, settings)
    if user is None:
        raise ApiError(401, "unauthorized", "a valid bearer token is required")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def rate_limited_user(request: Request, user: CurrentUser) -> User:
    """The current user, if they have an expensive request left (else 429). Nothing is
    spent here: the route calls :func:`spend_rate` once the request is valid."""
    request.app.state.rate_limits.peek_scoring(user.id)
    return user


RateLimitedUser = Annotated[User, Depends(rate_limited_user)]


def spend_rate(request: Request, user: User) -> None:
    """Count a valid expensive request against the user's rate limit (429 if none left)."""
    request.app.state.rate_limits.spend_scoring(user.id)


def client_address(request: Request) -> str:
    """The client's address (behind a proxy, uvicorn's ``--proxy-headers`` sets it)."""
    return request.client.host if request.client is not None else "unknown"


def require_admin(user: CurrentUser) -> User:
    if user.role != "admin":
        raise ApiError(403, "forbidden", "admins only")
    return user


AdminUser = Annotated[User, Depends(require_admin)]
