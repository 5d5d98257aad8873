"""Persistence: SQLAlchemy models and the engine (SQLite in WAL mode by default).

Ids are never reused (``AUTOINCREMENT`` on SQLite, sequences elsewhere): a deleted
account's, session's or job's id never names a newer row, so a stale token or link
cannot reach someone else's data.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import ForeignKey, String, Text, create_engine, event, false
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker

from coach_api.migrate import upgrade_database


class Base(DeclarativeBase):
    pass


NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


def _now() -> datetime:
    return datetime.now(UTC)


def new_token_key() -> str:
    """A random per-account value that every token of the account carries: replacing it
    (or deleting the account) invalidates all of them."""
    return secrets.token_urlsafe(16)


class User(Base):
    __tablename__ = "users"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="user")
    token_key: Mapped[str] = mapped_column(String(32), default=new_token_key)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    sessions: Mapped[list[WorkoutSession]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )
    feedback: Mapped[list[Feedback]] = relationship(cascade="all, delete-orphan")
    jobs: Mapped[list[Job]] = relationship(cascade="all, delete-orphan")
    routines: Mapped[list[Routine]] = relationship(
        back_populates="owner", cascade="all, delete-orphan"
    )
    live_streams: Mapped[list[LiveStream]] = relationship(cascade="all, delete-orphan")


class Routine(Base):
    """A trainer's reference performance: the lifted 3D motion is a blob.

    Private to its trainer until ``published``; published routines are the catalogue
    every user may score against.
    """

    __tablename__ = "routines"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    movement: Mapped[str] = mapped_column(String(40))
    fps: Mapped[float]
    frames: Mapped[int]
    reps: Mapped[int]
    blob: Mapped[str] = mapped_column(String(200))
    published: Mapped[bool] = mapped_column(default=False, index=True)
    # The job that made it (a trainer's video): unique, so a retried job cannot store twice.
    job_id: Mapped[int | None] = mapped_column(default=None, unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    owner: Mapped[User] = relationship(back_populates="routines")


class WorkoutSession(Base):
    """A scored user session; the report is JSON, the lifted motion a blob.

    ``routine_id`` is not a foreign key: a session is the user's and outlives the
    trainer's routine (its deletion, or the trainer's erasure). It keeps its own copy of
    what it needs (report, motion, the routine's name and movement); only the trainer's
    reference motion, the trainer's data, goes with the routine.
    """

    __tablename__ = "sessions"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    routine_id: Mapped[int] = mapped_column(index=True)
    routine_name: Mapped[str] = mapped_column(String(120), default="")
    score: Mapped[float]
    report_json: Mapped[str] = mapped_column(Text)
    blob: Mapped[str] = mapped_column(String(200))
    # The job that scored it, if one did: unique, so a retried job cannot store twice.
    job_id: Mapped[int | None] = mapped_column(default=None, unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=_now, index=True)
    # What it was scored from (the phone's keypoints and the music's beats, an npz blob:
    # :func:`coach_api.persistence.save_keypoints`), kept so that it can be scored again;
    # None for sessions stored before inputs were kept.
    keypoints_blob: Mapped[str | None] = mapped_column(String(200), default=None)
    # The re-scoring job that made the current report and motion, and when; None while
    # they are the first scoring's. A retried re-scoring job skips the sessions it marked.
    rescored_by_job: Mapped[int | None] = mapped_column(default=None, index=True)
    rescored_at: Mapped[datetime | None] = mapped_column(default=None)
    user: Mapped[User] = relationship(back_populates="sessions")

    @property
    def report(self) -> dict:
        return json.loads(self.report_json)


class Job(Base):
    """Background work (a long session, a video, a re-scoring): a job's durable record.

    queued -> running -> done | failed | cancelled, and running -> queued again for a
    retry (a transient error, or its worker died: its lease ran out). ``kind`` names the
    work (:data:`coach_api.job_kinds.KINDS`), ``params_json`` its parameters and
    ``input_blob`` its keypoints, so any worker process can run it after a crash;
    ``attempts`` counts the runs started. ``lease_until``: while running, when the
    worker's lease ends unless renewed; while queued, by when a worker must have taken it
    (else the queue's message is taken as lost and sent again). When done, ``session_id``
    names the scored session, or ``routine_id`` the routine a trainer's video became, or
    ``result_json`` holds what a re-scoring did (:class:`coach_api.schemas.RescoreResult`).
    ``video_blob`` is the uploaded video while the job needs it, and afterwards only when
    the user asked to keep it (``keep_video``).
    """

    __tablename__ = "jobs"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="queued", index=True)
    kind: Mapped[str] = mapped_column(String(20), default="")
    params_json: Mapped[str] = mapped_column(Text, default="{}")
    input_blob: Mapped[str] = mapped_column(String(200), default="")
    attempts: Mapped[int] = mapped_column(default=0)
    stage: Mapped[str] = mapped_column(String(40), default="queued")
    progress: Mapped[float] = mapped_column(default=0.0)
    lease_until: Mapped[datetime | None] = mapped_column(default=None, index=True)
    session_id: Mapped[int | None] = mapped_column(default=None)
    routine_id: Mapped[int | None] = mapped_column(default=None)
    error: Mapped[str] = mapped_column(String(500), default="")
    video_blob: Mapped[str] = mapped_column(String(200), default="")
    keep_video: Mapped[bool] = mapped_column(default=False)
    result_json: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=_now)

    @property
    def params(self) -> dict:
        return json.loads(self.params_json)

    @property
    def rescore(self) -> dict | None:
        """A finished re-scoring job's result (``JobPublic.rescore``); None otherwise."""
        return json.loads(self.result_json) if self.result_json else None


class LiveStream(Base):
    """A live socket's stream, kept so that a reconnect (to any replica) resumes it.

    ``id`` is random (the client holds it: it names no other row); the stream header,
    strictness and beat times are ``header_json``; the frames received up to the last
    checkpoint are the blobs listed in ``chunks_json`` (``frames`` in all), and
    ``reported`` repetitions were sent by then. ``generation`` grows with each resume: a
    socket whose generation is no longer the row's was superseded, and its checkpoints
    and summary are refused. ``session_id`` is the stored session once the stream ended
    (a repeated resume gets its summary). ``streaming``: a socket holds the stream now
    (set by the start and each resume, cleared by the holding socket as it ends). Rows
    untouched for ``live_resume_ttl_s`` are swept with their chunks
    (:mod:`coach_api.live_streams`).
    """

    __tablename__ = "live_streams"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    routine_id: Mapped[int]
    header_json: Mapped[str] = mapped_column(Text)
    chunks_json: Mapped[str] = mapped_column(Text, default="[]")
    frames: Mapped[int] = mapped_column(default=0)
    reported: Mapped[int] = mapped_column(default=0)
    generation: Mapped[int] = mapped_column(default=0)
    session_id: Mapped[int | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=_now, index=True)
    # A socket on some replica holds the stream (coach_api.live_admission counts them).
    streaming: Mapped[bool] = mapped_column(default=False, server_default=false())

    @property
    def chunks(self) -> list[str]:
        return json.loads(self.chunks_json)


class Feedback(Base):
    """A user's verdict on one cue of a session, kept for retraining."""

    __tablename__ = "feedback"
    __table_args__ = NEVER_REUSE_IDS

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


class SessionStats(Base):
    """A scored session's statistics for drift monitoring (:mod:`scoring.session_stats`):
    ``stats_json`` is ``{name: float}``; written in the transaction that stores (or
    re-scores) the session's report, erased with the session and with the account.
    ``created_at`` is when the statistics were made (a re-scoring makes them anew), the
    time a drift window selects by."""

    __tablename__ = "session_stats"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), unique=True, index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    stats_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=_now, index=True)

    @property
    def stats(self) -> dict[str, float]:
        return json.loads(self.stats_json)


class Invitation(Base):
    """A single-use code an admin hands out: registering with it grants ``role``.

    Only the code's SHA-256 is stored, so a leaked database does not leak usable codes.
    """

    __tablename__ = "invitations"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    code_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    expires_at: Mapped[datetime]
    used_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=_now)


def _private_sqlite_file(url: str) -> None:
    """Create a SQLite database file readable by its owner only (its WAL and shared-memory
    files take the same mode), before SQLite creates it with the umask."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url[len(prefix) :] in ("", ":memory:"):
        return
    path = Path(url[len(prefix) :].split("?", 1)[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    path.chmod(0o600)


def _connect_args(url: str) -> dict:
    if url.startswith("sqlite"):
        return {"check_same_thread": False, "timeout": 30}
    if url.startswith("postgresql"):
        return {"options": "-c timezone=UTC"}
    return {}


def make_engine(url: str, pool_size: int = 8, pool_timeout_s: float = 10.0) -> Engine:
    """An engine for ``url`` whose pool holds ``pool_size`` connections (no overflow): a
    request that waits ``pool_timeout_s`` for one fails (the API answers 503). SQLite gets
    WAL, foreign keys and a busy timeout; PostgreSQL sessions run in UTC (the times stored
    are UTC). The database is migrated to this code's schema first
    (:func:`coach_api.migrate.upgrade_database`)."""
    sqlite = url.startswith("sqlite")
    in_memory = sqlite and (url in ("sqlite://", "sqlite:///:memory:"))
    options = {} if in_memory else {"pool_size": pool_size, "max_overflow": 0}
    if sqlite:
        _private_sqlite_file(url)
    engine = create_engine(
        url,
        connect_args=_connect_args(url),
        pool_timeout=pool_timeout_s,
        **options,
    )
    if sqlite:

        @event.listens_for(engine, "connect")
        def _pragmas(connection, _record) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    upgrade_database(engine)
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)
