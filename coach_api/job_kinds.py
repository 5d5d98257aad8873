"""What each kind of background job does, looked up by the job row's ``kind``.

A job's work reads everything from its row (parameters, keypoint or video blob), never
from the request that made it, so any worker process can run it, again, after a crash.
Each step starts at a boundary (:meth:`coach_api.jobs.JobRun.step`: progress, lease,
cancel) and the result is stored with the job's ``done`` in one transaction.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import numpy as np

from coach_api.db import Routine
from coach_api.jobs import JobRun
from coach_api.persistence import save_routine, store_session
from coach_api.services import music_of
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


def save_sequence(blobs, name: str, sequence: KeypointSequence) -> str:
    """Store a job's keypoints (npz, as checked by the request); returns the name."""
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        keypoints=sequence.keypoints,
        scores=sequence.scores,
        fps=np.float64(sequence.fps),
        layout=np.str_(sequence.layout),
        image_size=np.array([sequence.image_width, sequence.image_height]),
    )
    blobs.put(name, buffer.getvalue())
    return name


def load_sequence(blobs, name: str) -> KeypointSequence:
    """The keypoints :func:`save_sequence` stored."""
    with np.load(io.BytesIO(blobs.get(name))) as data:
        width, height = (int(v) for v in data["image_size"])
        return KeypointSequence(
            layout=str(data["layout"]),
            fps=float(data["fps"]),
            image_width=width,
            image_height=height,
            keypoints=data["keypoints"],
            scores=data["scores"],
        )


@kind("session")
async def score_session(run: JobRun) -> None:
    """A long session: its stored keypoints scored against the routine."""
    await anyio.to_thread.run_sync(run.step, "reading the keypoints", 0.05)
    blobs = run.ctx.settings.blobs
    sequence = await anyio.to_thread.run_sync(load_sequence, blobs, run.job.input_blob)
    await _score_and_store(run, sequence)


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
    poses, reps = await engine.run(engine.build_reference, sequence, params["movement"], music)
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
            save_routine(ctx.settings, db, routine, poses, music, finish)

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
    report, poses = await engine.run(
        engine.score, sequence, reference, params["strictness"], params["beat_times"]
    )
    await anyio.to_thread.run_sync(run.step, "storing", 0.9)

    def store() -> None:
        with ctx.sessionmaker() as db:
            store_session(
                ctx.settings,
                db,
                run.job.user_id,
                routine.id,
                routine.name,
                report,
                poses,
                sequence.fps,
                job_id=run.job.id,
                finish=lambda db, row: run.finish(db, session_id=row.id),
            )

    await anyio.to_thread.run_sync(store)


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
    )
