"""Storing what the engine made: a trainer's routine, a user's scored session.

Each is all or nothing (a failed commit deletes the blob just written), and the database
connection is not held while the lifting or scoring runs. Database and file work runs in
threads, lifting and scoring in the engine's pool: the event loop only waits (a commit
or a compressed blob would otherwise stall every other request). Used by the routes that
take keypoints, by the live socket when a session ends, and by the background jobs of
long sessions and videos, which pass ``finish``: the job's ``done`` written in the
result's own transaction (:meth:`coach_api.jobs.JobRun.finish`), so a job stores its
result once or not at all.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import anyio
import numpy as np
from sqlalchemy.orm import Session

from coach_api.db import Routine, WorkoutSession
from coach_api.services import Engine, Music, save_poses
from coach_api.settings import Settings
from pose3d.sequence_json import KeypointSequence


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
    poses, reps = await engine.run(engine.build_reference, sequence, movement, music)
    routine = Routine(
        owner_id=owner_id,
        name=name,
        movement=movement,
        fps=sequence.fps,
        frames=sequence.num_frames,
        reps=reps,
        published=published,
    )
    return await anyio.to_thread.run_sync(save_routine, settings, db, routine, poses, music)


# Called with the transaction and the stored row (its id known) just before the commit.
Finish = Callable[[Session, object], None]


def save_routine(
    settings: Settings,
    db: Session,
    routine: Routine,
    poses: np.ndarray,
    music: Music | None,
    finish: Finish | None = None,
) -> Routine:
    """Store a lifted routine: its ``poses`` (with the ``music``) as a blob, then its row
    (and ``finish``, in the same transaction); nothing is left on failure. Blocking: run
    in a thread."""
    name = f"routine-{uuid.uuid4().hex}.npz"
    routine.blob = save_poses(settings.blobs, name, poses, routine.fps, music)
    _commit(settings, db, routine, finish)
    return routine


def _commit(settings: Settings, db: Session, row, finish: Finish | None) -> None:
    """Add ``row``, run ``finish`` and commit; on any failure roll back and delete the
    row's blob (nothing half-stored)."""
    db.add(row)
    try:
        if finish is not None:
            db.flush()  # the row's id, for the job
            finish(db, row)
        db.commit()
    except BaseException:
        db.rollback()
        settings.blobs.delete(row.blob)
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
    report, poses = await engine.run(engine.score, sequence, reference, strictness, beat_times)
    return await anyio.to_thread.run_sync(
        store_session, settings, db, user_id, routine_id, routine_name, report, poses, sequence.fps
    )


def store_session(
    settings: Settings,
    db: Session,
    user_id: int,
    routine_id: int,
    routine_name: str,
    report: dict,
    poses: np.ndarray,
    fps: float,
    job_id: int | None = None,
    finish: Finish | None = None,
) -> WorkoutSession:
    """Store a scored session: its ``report`` and its lifted ``poses`` (a blob), made by
    job ``job_id`` if given (and ``finish``, in the same transaction); nothing is left on
    failure. Recorded sessions and finished live ones are stored alike. Blocking: run in
    a thread."""
    blob = save_poses(settings.blobs, f"session-{uuid.uuid4().hex}.npz", poses, fps)
    row = WorkoutSession(
        user_id=user_id,
        routine_id=routine_id,
        routine_name=routine_name,
        score=report["score"],
        report_json=json.dumps(report),
        blob=blob,
        job_id=job_id,
    )
    _commit(settings, db, row, finish)
    return row
