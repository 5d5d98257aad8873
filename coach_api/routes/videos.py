"""Video uploads: stored, turned into keypoints on the server, then used like keypoints:
scored as a session, or (a trainer's video) stored as a routine."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse

from coach_api.db import Job, Routine
from coach_api.deps import RateLimitedUser, SessionDep
from coach_api.errors import ApiError
from coach_api.routes.routines import music_of, store_routine
from coach_api.routes.sessions import score_and_store
from coach_api.schemas import JobPublic, check_beat_times
from coach_api.video import VIDEO_TYPES, extract_keypoints

router = APIRouter(tags=["videos"])

BEATS_HELP = "For a routine to music: a JSON list of the beats' times in seconds."


def _check_type(video: UploadFile) -> str:
    """The stored file suffix of an accepted video type; 415 for anything else."""
    if video.content_type not in VIDEO_TYPES:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"expected one of {', '.join(VIDEO_TYPES)}, got {video.content_type}",
            "video",
        )
    return VIDEO_TYPES[video.content_type]


async def _start_job(
    request: Request, db, user_id: int, video: UploadFile, suffix: str, keep: bool, finish
) -> JSONResponse:
    """Store the video, queue its job (extract keypoints, then ``finish``), answer 202."""
    settings = request.app.state.settings
    name = f"video-{uuid.uuid4().hex}{suffix}"
    settings.blobs.put(name, await video.read())
    job = Job(user_id=user_id, video_blob=name if keep else "")
    db.add(job)
    db.commit()
    task = asyncio.create_task(_process(request.app, job.id, name, keep, finish))
    request.app.state.background.add(task)
    task.add_done_callback(request.app.state.background.discard)
    return JSONResponse(JobPublic.model_validate(job).model_dump(mode="json"), status_code=202)


@router.post("/videos", status_code=202, response_model=JobPublic, operation_id="uploadVideo")
async def upload_video(
    request: Request,
    user: RateLimitedUser,
    db: SessionDep,
    routine_id: Annotated[int, Form(ge=1, le=2**62)],
    video: Annotated[UploadFile, File()],
    keep_video: Annotated[bool, Form()] = False,
    beat_times: Annotated[str | None, Form(description=BEATS_HELP)] = None,
) -> JSONResponse:
    """Upload a workout video; a background job extracts keypoints and scores them.

    The video is deleted after processing unless ``keep_video`` is true.
    """
    suffix = _check_type(video)
    beats = check_beat_times(beat_times)
    if db.get(Routine, routine_id) is None:
        raise ApiError(404, "not_found", f"no routine {routine_id}", "routine_id")
    settings, engine, user_id = request.app.state.settings, request.app.state.engine, user.id

    async def finish(db, job: Job, sequence) -> None:
        routine = db.get(Routine, routine_id)
        row = await score_and_store(
            engine, settings, db, user_id, routine, sequence, settings.strictness, beats
        )
        job.session_id = row.id

    return await _start_job(request, db, user_id, video, suffix, keep_video, finish)


@router.post(
    "/routines/video",
    status_code=202,
    response_model=JobPublic,
    operation_id="createRoutineFromVideo",
)
async def create_routine_from_video(
    request: Request,
    user: RateLimitedUser,
    db: SessionDep,
    name: Annotated[str, Form(min_length=1, max_length=120)],
    movement: Annotated[str, Form(min_length=1, max_length=40)],
    video: Annotated[UploadFile, File()],
    keep_video: Annotated[bool, Form()] = False,
    beat_times: Annotated[str | None, Form(description=BEATS_HELP)] = None,
    beats_per_rep: Annotated[int | None, Form(ge=4, le=256, multiple_of=4)] = None,
) -> JSONResponse:
    """Upload a trainer's video; a background job extracts keypoints and stores the routine
    (the job's ``routine_id`` when done). The video is deleted unless ``keep_video``."""
    suffix = _check_type(video)
    music = music_of(check_beat_times(beat_times), beats_per_rep)
    settings, engine, user_id = request.app.state.settings, request.app.state.engine, user.id

    async def finish(db, job: Job, sequence) -> None:
        routine = await store_routine(
            engine, settings, db, user_id, name, movement, sequence, music
        )
        job.routine_id = routine.id

    return await _start_job(request, db, user_id, video, suffix, keep_video, finish)


async def _process(app, job_id: int, name: str, keep: bool, finish) -> None:
    """Run one video job: keypoints from the video, then ``finish``; failures are recorded
    on the job (the service carries on) and the video is deleted unless kept."""
    settings, engine = app.state.settings, app.state.engine
    with app.state.sessionmaker() as db:
        job = db.get(Job, job_id)
        job.status = "running"
        db.commit()
        try:
            with tempfile.TemporaryDirectory() as folder:
                local = Path(folder) / name
                local.write_bytes(settings.blobs.get(name))
                sequence = await engine.run(
                    extract_keypoints, local, settings.resolved_pose_task, settings.max_frames
                )
            await finish(db, job, sequence)
            job.status = "done"
        except Exception as exc:  # reported on the job; the service carries on
            db.rollback()
            job = db.get(Job, job_id)
            job.status, job.error = "failed", str(exc)[:500] or type(exc).__name__
        finally:
            if not keep:
                settings.blobs.delete(name)
        db.commit()
