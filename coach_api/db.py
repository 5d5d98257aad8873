"""Persistence: SQLAlchemy models and the engine (SQLite in WAL mode by default)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import ForeignKey, String, Text, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker


class Base(DeclarativeBase):
    pass


def _now() -> datetime:
    return datetime.now(UTC)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="user")
    created_at: Mapped[datetime] = mapped_column(default=_now)
    sessions: Mapped[list[WorkoutSession]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )
    feedback: Mapped[list[Feedback]] = relationship(cascade="all, delete-orphan")
    jobs: Mapped[list[Job]] = relationship(cascade="all, delete-orphan")
    routines: Mapped[list[Routine]] = relationship(
        back_populates="owner", cascade="all, delete-orphan"
    )


class Routine(Base):
    """A trainer's reference performance: the lifted 3D motion is a blob."""

    __tablename__ = "routines"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    movement: Mapped[str] = mapped_column(String(40))
    fps: Mapped[float]
    frames: Mapped[int]
    reps: Mapped[int]
    blob: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=_now)
    owner: Mapped[User] = relationship(back_populates="routines")


class WorkoutSession(Base):
    """A scored user session; the report is JSON, the lifted motion a blob."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    routine_id: Mapped[int] = mapped_column(ForeignKey("routines.id"), index=True)
    score: Mapped[float]
    report_json: Mapped[str] = mapped_column(Text)
    blob: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=_now, index=True)
    user: Mapped[User] = relationship(back_populates="sessions")

    @property
    def report(self) -> dict:
        return json.loads(self.report_json)


class Job(Base):
    """Background work (a long session, a video): queued -> running -> done | failed.

    When done, ``session_id`` names the scored session, or ``routine_id`` the routine a
    trainer's video became.
    """

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="queued")
    session_id: Mapped[int | None] = mapped_column(default=None)
    routine_id: Mapped[int | None] = mapped_column(default=None)
    error: Mapped[str] = mapped_column(String(500), default="")
    video_blob: Mapped[str] = mapped_column(String(200), default="")  # a video the user kept
    created_at: Mapped[datetime] = mapped_column(default=_now)


class Feedback(Base):
    """A user's verdict on one cue of a session, kept for retraining."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    error_index: Mapped[int]
    kind: Mapped[str] = mapped_column(String(40))
    verdict: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=_now)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout."""
    sqlite = url.startswith("sqlite")
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30} if sqlite else {}
    )
    if sqlite:

        @event.listens_for(engine, "connect")
        def _pragmas(connection, _record) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    Base.metadata.create_all(engine)
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)
