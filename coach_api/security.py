"""Passwords (argon2) and bearer tokens (JWT, HS256).

A token names its account by id and by the account's ``token_key``: a token outlives
neither its account (ids are never reused, and a new account has a new key) nor a
change of the key. Password hashing is bounded: argon2 takes 64 MiB per hash, so at
most ``HASHING_SLOTS`` run at once and a caller waits briefly for a slot or is told to
retry (503).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from coach_api.errors import ApiError

_hasher = PasswordHasher()
HASHING_SLOTS = 2  # concurrent argon2 hashes (64 MiB each): one per core
HASHING_WAIT_S = 10.0
_hashing = threading.BoundedSemaphore(HASHING_SLOTS)
# Verified when the email is unknown, so a wrong email costs as long as a wrong password
# (no account enumeration by timing).
_DUMMY_HASH = _hasher.hash("not a password of anyone")


def _slot():
    if not _hashing.acquire(timeout=HASHING_WAIT_S):
        raise ApiError(503, "busy", "too many sign-ins at once; retry in a few seconds", None)
    return _hashing


def hash_password(password: str) -> str:
    slot = _slot()
    try:
        return _hasher.hash(password)
    finally:
        slot.release()


def verify_password(password: str, hashed: str | None) -> bool:
    """Whether ``password`` matches ``hashed``; with ``hashed=None`` (unknown account) a
    dummy hash is verified, taking the same time, and the answer is False."""
    slot = _slot()
    try:
        return _hasher.verify(hashed or _DUMMY_HASH, password) and hashed is not None
    except (VerificationError, InvalidHashError):
        return False
    finally:
        slot.release()


def create_token(user_id: int, token_key: str, key: str, minutes: int) -> str:
    now = datetime.now(UTC)
    payload = {
        "sub": str(user_id),
        "key": token_key,
        "iat": now,
        "exp": now + timedelta(minutes=minutes),
    }
    return jwt.encode(payload, key, algorithm="HS256")


def read_token(token: str, key: str) -> tuple[int, str] | None:
    """The (user id, account token key) of a valid, unexpired token, or ``None``."""
    try:
        claims = jwt.decode(token, key, algorithms=["HS256"], options={"require": ["exp"]})
        return int(claims["sub"]), str(claims["key"])
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        return None
