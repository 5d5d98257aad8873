"""What each kind of background job does, looked up by the job row's ``kind``.

A job's work reads everything from its row (parameters, keypoint or video blob), never
from the request that made it, so any worker process can run it, again, after a crash.
Each step starts at a boundary (:meth:`coach_api.jobs.JobRun.step`: progress, lease,
cancel) and the result is stored with the job's ``done`` in one transaction; a
re-scoring stores each session as it goes, marked with the job's id (see
:func:`rescore_sessions`).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import NamedTuple

import anyio

from coach_api.db import Job, Routine, WorkoutSession
from coach_api.errors import ApiError
from coach_api.jobs import RESCORE_KIND, JobRun, WorkerContext
from coach_api.persistence import (
    SessionInput,
    load_keypoints,
    observe_stats,
    replace_scoring,
    save_routine,
    store_session,
)
from coach_api.services import music_of
from coach_api.shadow import shadow_score
from pose2d.video import extract_keypoints
from pose3d.sequence_json import KeypointSequence

Work = Callable[[JobRun], Awaitable[None]]
KINDS: dict[str, Work] = {}


def kind(name: str) -> Callable[[Work], Work]:
    """Register the work of jobs of kind ``name``."""

    def register(work: Work) -> Work:
        KINDS[name] = work
        return work

    return register


@kind("session")
async def score_session(run: JobRun) -> None:
    """A long session: its stored keypoints scored against the routine."""
    await anyio.to_thread.run_sync(run.step, "reading the keypoints", 0.05)
    blobs = run.ctx.settings.blobs
    source = await anyio.to_thread.run_sync(load_keypoints, blobs, run.job.input_blob)
    await _score_and_store(run, source.sequence)


@kind("video_session")
async def score_video(run: JobRun) -> None:
    """A workout video: keypoints extracted, then scored like a session."""
    await _score_and_store(run, await _video_keypoints(run))


@kind("video_routine")
async def routine_from_video(run: JobRun) -> None:
    """A trainer's video: keypoints extracted, lifted into a routine and stored."""
    sequence = await _video_keypoints(run)
    await anyio.to_thread.run_sync(run.step, "lifting the routine", 0.5)
    ctx, params = run.ctx, run.job.params
    music = music_of(params["beat_times"], params["beats_per_rep"])
    engine = ctx.engine
    motion, reps = await engine.run(engine.build_reference, sequence, params["movement"], music)
    await anyio.to_thread.run_sync(run.step, "storing", 0.9)
    routine = Routine(
        owner_id=run.job.user_id,
        name=params["name"],
        movement=params["movement"],
        fps=sequence.fps,
        frames=sequence.num_frames,
        reps=reps,
        published=params["published"],
        job_id=run.job.id,
    )

    def store() -> None:
        with ctx.sessionmaker() as db:
            finish = lambda db, row: run.finish(db, routine_id=row.id)  # noqa: E731
            save_routine(ctx.settings, db, routine, motion, finish)

    await anyio.to_thread.run_sync(store)


async def _video_keypoints(run: JobRun) -> KeypointSequence:
    """The keypoints of the job's video (copied to a local file for the decoder)."""
    await anyio.to_thread.run_sync(run.step, "extracting keypoints", 0.05)
    settings, engine, name = run.ctx.settings, run.ctx.engine, run.job.video_blob
    with tempfile.TemporaryDirectory() as folder:
        local = Path(folder) / name
        local.write_bytes(await anyio.to_thread.run_sync(settings.blobs.get, name))
        return await engine.run(extract_video_keypoints, local, settings, engine.limits.max_frames)


async def _score_and_store(run: JobRun, sequence: KeypointSequence) -> None:
    """Score ``sequence`` against the job's routine, if it still exists, and store the
    session with the job's ``done``."""
    ctx, params = run.ctx, run.job.params
    await anyio.to_thread.run_sync(run.step, "scoring", 0.4)
    routine = await anyio.to_thread.run_sync(_routine, ctx, params["routine_id"])
    if routine is None:
        raise ValueError("the routine was deleted before the session was scored")
    engine = ctx.engine
    reference = await engine.run(engine.reference, ctx.settings.blobs, routine)
    scored = await engine.run(
        engine.score, sequence, reference, params["strictness"], params["beat_times"]
    )
    await anyio.to_thread.run_sync(run.step, "storing", 0.9)

    def store() -> WorkoutSession:
        with ctx.sessionmaker() as db:
            return store_session(
                ctx.settings,
                db,
                run.job.user_id,
                routine.id,
                routine.name,
                scored.report,
                scored.poses,
                sequence.fps,
                SessionInput(sequence, params["beat_times"]),
                job_id=run.job.id,
                finish=lambda db, row: run.finish(db, session_id=row.id),
                stats=scored.stats,
            )

    row = await anyio.to_thread.run_sync(store)
    observe_stats(engine, scored.stats)
    # The job is done and its session stored: the challenger's scoring delays nothing.
    await shadow_score(
        engine,
        ctx.settings,
        ctx.sessionmaker,
        row,
        routine,
        sequence,
        params["strictness"],
        params["beat_times"],
    )


@kind(RESCORE_KIND)
async def rescore_sessions(run: JobRun) -> None:
    """Score the job owner's sessions (``session_ids``) again, one per step, at the job's
    ``strictness`` (None: each session's own), from their stored keypoints, lifted and
    judged against their routine's reference as a new session would be. Each session's
    new report and motion are stored in a transaction of their own, marked with the
    job's id: an attempt after a crash skips the sessions an earlier one stored, a cancel
    keeps them. The result (rescored, skipped and why) is stored with the job's ``done``.
    """
    params = run.job.params
    session_ids: list[int] = params["session_ids"]
    rescored, skipped = 0, []
    for index, session_id in enumerate(session_ids):
        stage = f"re-scoring {index + 1} of {len(session_ids)}"
        await anyio.to_thread.run_sync(run.step, stage, index / len(session_ids))
        try:
            await _rescore(run, session_id, params["strictness"])
            rescored += 1
        except _Skip as skip:
            skipped.append({"session_id": session_id, "reason": skip.reason, "message": str(skip)})
    result = {"rescored": rescored, "skipped": len(skipped), "skipped_sessions": skipped}

    def store() -> None:
        with run.ctx.sessionmaker() as db:
            run.finish(db, result_json=json.dumps(result))
            db.commit()

    await anyio.to_thread.run_sync(store)


class _Skip(Exception):
    """A session a re-scoring leaves as it is: ``reason`` (a ``SkipReason``), and why in
    words."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class _Rescorable(NamedTuple):
    """A session to re-score: its motion blob (replaced), keypoints blob, strictness and
    routine."""

    blob: str
    keypoints_blob: str
    strictness: str
    routine: Routine


async def _rescore(run: JobRun, session_id: int, strictness: str | None) -> None:
    """Re-score session ``session_id`` (at ``strictness``, None: its own) and store it,
    unless this job already did; raises :class:`_Skip` when it cannot or need not be."""
    ctx, engine, blobs = run.ctx, run.ctx.engine, run.ctx.settings.blobs
    target = await anyio.to_thread.run_sync(_rescorable, ctx, run.job, session_id)
    if target is None:  # an earlier attempt of this job stored it
        return
    source = await anyio.to_thread.run_sync(load_keypoints, blobs, target.keypoints_blob)
    try:
        reference = await engine.run(engine.reference, blobs, target.routine)
    except ValueError as exc:  # today's checks make no reference of the routine's motion
        raise _Skip("unscorable", f"the routine's reference: {exc}") from None
    try:
        scored = await engine.run(
            engine.score,
            source.sequence,
            reference,
            strictness or target.strictness,
            source.beat_times,
        )
    except ApiError as exc:  # today's checks refuse the keypoints (e.g. no person)
        raise _Skip("unscorable", exc.message) from None

    def store() -> bool:
        with ctx.sessionmaker() as db:
            return replace_scoring(
                ctx.settings,
                db,
                session_id,
                target.blob,
                target.routine.name,
                scored.report,
                scored.poses,
                source.sequence.fps,
                run.job.id,
                run.hold,
                stats=scored.stats,
            )

    if await anyio.to_thread.run_sync(store):
        observe_stats(engine, scored.stats)
    else:
        # Its motion changed meanwhile: deleted (looking again raises that _Skip), or
        # replaced by another re-scoring job.
        await anyio.to_thread.run_sync(_rescorable, ctx, run.job, session_id)
        raise _Skip("rescored_meanwhile", "another re-scoring job replaced its report first")


def _rescorable(ctx: WorkerContext, job: Job, session_id: int) -> _Rescorable | None:
    """What re-scoring session ``session_id`` for ``job`` needs; None if ``job`` already
    re-scored it; :class:`_Skip` if it cannot be (gone, no keypoints, no routine)."""
    with ctx.sessionmaker() as db:
        row = db.get(WorkoutSession, session_id)
        if row is None or row.user_id != job.user_id:
            raise _Skip("not_found", f"no session {session_id}")
        if row.rescored_by_job == job.id:
            return None
        if not row.keypoints_blob:
            raise _Skip("no_keypoints", "stored before sessions kept their keypoints")
        routine = db.get(Routine, row.routine_id)
        if routine is None:
            raise _Skip("routine_deleted", f"its routine {row.routine_id} was deleted")
        return _Rescorable(row.blob, row.keypoints_blob, row.report["strictness"], routine)


def _routine(ctx, routine_id: int) -> Routine | None:
    with ctx.sessionmaker() as db:
        return db.get(Routine, routine_id)


def extract_video_keypoints(path: Path, settings, max_frames: int) -> KeypointSequence:
    """Keypoints of the video at ``path`` within the settings' decoding budget."""
    return extract_keypoints(
        path,
        settings.resolved_pose_task,
        max_frames,
        max_pixels=settings.video_max_pixels,
        max_side=settings.video_max_side,
        max_people=settings.video_max_people,
    )
