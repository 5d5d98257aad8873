"""Storing what the engine made: a trainer's routine, a user's scored session (with what
it was scored from, so that it can be scored again), a re-scored session.

Each is all or nothing (a failed commit deletes the blobs just written), and the database
connection is not held while the lifting or scoring runs. Database and file work runs in
threads, lifting and scoring in the engine's pool: the event loop only waits (a commit
or a compressed blob would otherwise stall every other request). Used by the routes that
take keypoints, by the live socket when a session ends, and by the background jobs of
long sessions and videos, which pass ``finish``: the job's ``done`` written in the
result's own transaction (:meth:`coach_api.jobs.JobRun.finish`), so a job stores its
result once or not at all.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

import anyio
import numpy as np
from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from coach_api.db import Routine, SessionStats, WorkoutSession
from coach_api.services import Engine, save_motion, save_poses
from coach_api.settings import Settings
from pose3d.sequence_json import KeypointSequence
from scoring.stored_motion import Motion, Music

if TYPE_CHECKING:
    from scoring.live import LiveSession


class SessionInput(NamedTuple):
    """What a session is scored from: the phone's keypoints (as the request's checks left
    them: pixels, scores in [0, 1]) and, for a routine to music, the beats' times (s from
    the first frame)."""

    sequence: KeypointSequence
    beat_times: list[float] | None = None


def save_keypoints(blobs, name: str, source: SessionInput) -> str:
    """Store ``source`` as the npz blob ``name`` (a job's input, a session's keypoints):
    keypoints ``(T, J, 2)``, scores ``(T, J)``, fps, layout, image size, and the beats and
    the extraction's notes (a video's: who was followed) when there are some. Returns the
    name."""
    sequence = source.sequence
    extra = {}
    if source.beat_times is not None:
        extra["beat_times"] = np.asarray(source.beat_times, dtype=np.float64)
    if sequence.notes:  # a re-scored session's report says them again
        extra["notes"] = np.array(sequence.notes, dtype=np.str_)
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        keypoints=sequence.keypoints,
        scores=sequence.scores,
        fps=np.float64(sequence.fps),
        layout=np.str_(sequence.layout),
        image_size=np.array([sequence.image_width, sequence.image_height]),
        **extra,
    )
    blobs.put(name, buffer.getvalue())
    return name


def load_keypoints(blobs, name: str) -> SessionInput:
    """What :func:`save_keypoints` stored (a blob without beats: ``beat_times`` None;
    without notes, as stored before they were: none)."""
    with np.load(io.BytesIO(blobs.get(name))) as data:
        width, height = (int(v) for v in data["image_size"])
        sequence = KeypointSequence(
            layout=str(data["layout"]),
            fps=float(data["fps"]),
            image_width=width,
            image_height=height,
            keypoints=data["keypoints"],
            scores=data["scores"],
            notes=tuple(str(n) for n in data["notes"]) if "notes" in data.files else (),
        )
        beats = data["beat_times"].tolist() if "beat_times" in data.files else None
    return SessionInput(sequence, beats)


def live_input(session: LiveSession) -> SessionInput | None:
    """What a finished live session was judged on: the phone's keypoints of the frames
    that became poses (the stream's header), and its beats; None before any frame."""
    received = session.received()
    if received is None:
        return None
    header = session.header()
    sequence = KeypointSequence(
        header["layout"],
        header["fps"],
        header["image_width"],
        header["image_height"],
        *received,
    )
    return SessionInput(sequence, session.beat_times)


async def store_routine(
    engine: Engine,
    settings: Settings,
    db: Session,
    owner_id: int,
    name: str,
    movement: str,
    sequence: KeypointSequence,
    music: Music | None = None,
    published: bool = False,
) -> Routine:
    """Lift ``sequence`` into a reference (to ``music``, if given) and store it; nothing is
    left on failure. The database connection is not held while the lifting runs."""
    await anyio.to_thread.run_sync(db.commit)  # ends the read transaction: connection freed
    motion, reps = await engine.run(engine.build_reference, sequence, movement, music)
    routine = Routine(
        owner_id=owner_id,
        name=name,
        movement=movement,
        fps=sequence.fps,
        frames=sequence.num_frames,
        reps=reps,
        published=published,
    )
    return await anyio.to_thread.run_sync(save_routine, settings, db, routine, motion)


# Called with the transaction and the stored row (its id known) just before the commit.
Finish = Callable[[Session, object], None]


def save_routine(
    settings: Settings,
    db: Session,
    routine: Routine,
    motion: Motion,
    finish: Finish | None = None,
) -> Routine:
    """Store a lifted routine: its ``motion`` (poses, music, repetitions) as a blob, then
    its row (and ``finish``, in the same transaction); nothing is left on failure.
    Blocking: run in a thread."""
    name = f"routine-{uuid.uuid4().hex}.npz"
    routine.blob = save_motion(settings.blobs, name, motion)
    _commit(settings, db, routine, finish)
    return routine


def _commit(settings: Settings, db: Session, row, finish: Finish | None) -> None:
    """Add ``row``, run ``finish`` and commit; on any failure roll back and delete the
    row's blobs (nothing half-stored)."""
    db.add(row)
    try:
        if finish is not None:
            db.flush()  # the row's id, for the job
            finish(db, row)
        db.commit()
    except BaseException:
        db.rollback()
        settings.blobs.delete(row.blob)
        if getattr(row, "keypoints_blob", None):
            settings.blobs.delete(row.keypoints_blob)
        raise


async def score_and_store(
    engine: Engine,
    settings: Settings,
    db: Session,
    user_id: int,
    routine: Routine,
    sequence: KeypointSequence,
    strictness: str,
    beat_times: list[float] | None = None,
) -> WorkoutSession:
    """Score ``sequence`` (with the music's ``beat_times`` on it, for routines to music)
    against ``routine`` and store it; nothing is left on failure. The database connection
    is not held while the work runs."""
    routine_id, routine_name = routine.id, routine.name
    await anyio.to_thread.run_sync(db.commit)  # ends the read transaction: connection freed
    reference = await engine.run(engine.reference, settings.blobs, routine)
    scored = await engine.run(engine.score, sequence, reference, strictness, beat_times)

    def store() -> WorkoutSession:
        source = SessionInput(sequence, beat_times)
        return store_session(
            settings,
            db,
            user_id,
            routine_id,
            routine_name,
            scored.report,
            scored.poses,
            sequence.fps,
            source,
            stats=scored.stats,
        )

    row = await anyio.to_thread.run_sync(store)
    observe_stats(engine, scored.stats)
    return row


def observe_stats(engine: Engine, stats: dict[str, float]) -> None:
    """Export a stored session's statistics to the service's metrics (if it has them)."""
    if engine.metrics is not None:
        engine.metrics.observe_session(stats)


def store_session(
    settings: Settings,
    db: Session,
    user_id: int,
    routine_id: int,
    routine_name: str,
    report: dict,
    poses: np.ndarray,
    fps: float,
    source: SessionInput | None,
    job_id: int | None = None,
    finish: Finish | None = None,
    stats: dict[str, float] | None = None,
) -> WorkoutSession:
    """Store a scored session: its ``report``, its lifted ``poses`` ``(T, 17, 3)`` (m, at
    ``fps``) and what it was scored from, ``source`` (None: nothing to keep, it cannot be
    re-scored), as blobs; made by job ``job_id`` if given (and ``finish``), with its drift
    ``stats`` (:mod:`scoring.session_stats`) if given, all in the same transaction;
    nothing is left on failure. Recorded sessions and finished live ones are stored alike.
    Blocking: run in a thread."""
    blobs = settings.blobs
    blob = save_poses(blobs, f"session-{uuid.uuid4().hex}.npz", poses, fps)
    keypoints = None
    try:
        if source is not None:
            name = f"session-keypoints-{uuid.uuid4().hex}.npz"
            keypoints = save_keypoints(blobs, name, source)
    except BaseException:
        blobs.delete(blob)
        raise
    row = WorkoutSession(
        user_id=user_id,
        routine_id=routine_id,
        routine_name=routine_name,
        score=report["score"],
        report_json=json.dumps(report),
        blob=blob,
        job_id=job_id,
        keypoints_blob=keypoints,
    )

    def finish_with_stats(db: Session, row: WorkoutSession) -> None:
        if stats is not None:
            db.add(SessionStats(session_id=row.id, user_id=user_id, stats_json=json.dumps(stats)))
        if finish is not None:
            finish(db, row)

    _commit(settings, db, row, finish_with_stats)
    return row


# Called inside the re-scoring's transaction before its commit; raises to store nothing
# (:meth:`coach_api.jobs.JobRun.hold`: the job was cancelled or taken over).
Hold = Callable[[Session], None]


def replace_scoring(
    settings: Settings,
    db: Session,
    session_id: int,
    replaced_blob: str,
    routine_name: str,
    report: dict,
    poses: np.ndarray,
    fps: float,
    job_id: int,
    hold: Hold,
    stats: dict[str, float],
) -> bool:
    """Give session ``session_id`` a re-scoring's ``report`` and ``poses`` ``(T, 17, 3)``
    (m, at ``fps``) and its routine's ``routine_name`` of today, marked as job
    ``job_id``'s, and its drift ``stats`` (replacing the old ones), in one
    transaction with ``hold`` (the job still owns its attempt).
    Only while its motion is still ``replaced_blob``: False, and nothing stored, when it
    was re-scored by someone else or deleted meanwhile. The replaced motion blob is
    deleted after the commit (a crash in between leaves a blob, never a row naming a
    deleted one). Blocking: run in a thread."""
    blobs = settings.blobs
    blob = save_poses(blobs, f"session-{uuid.uuid4().hex}.npz", poses, fps)
    try:
        hold(db)  # first: the job's row lock orders this against a cancel
        changed = db.execute(
            update(WorkoutSession)
            .where(WorkoutSession.id == session_id, WorkoutSession.blob == replaced_blob)
            .values(
                score=report["score"],
                report_json=json.dumps(report),
                blob=blob,
                routine_name=routine_name,
                rescored_by_job=job_id,
                rescored_at=datetime.now(UTC),
            )
        ).rowcount
        if changed == 1:
            db.execute(delete(SessionStats).where(SessionStats.session_id == session_id))
            owner = db.get(WorkoutSession, session_id).user_id
            db.add(SessionStats(session_id=session_id, user_id=owner, stats_json=json.dumps(stats)))
            db.commit()
        else:
            db.rollback()
    except BaseException:
        db.rollback()
        blobs.delete(blob)
        raise
    blobs.delete(replaced_blob if changed == 1 else blob)
    return changed == 1
