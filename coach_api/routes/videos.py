"""Video uploads: stored, turned into keypoints on the server, then used like keypoints:
scored as a session, or (a trainer's video) stored as a routine."""

from __future__ import annotations

import json
import uuid
from typing import Annotated

import anyio
from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BeforeValidator

from coach_api.access import require_trainer, usable_routine
from coach_api.db import Job
from coach_api.deps import RateLimitedUser, SessionDep, spend_rate
from coach_api.errors import ApiError
from coach_api.jobs import check_job_room, submit_job
from coach_api.json_requests import media_type
from coach_api.openapi_errors import error_responses
from coach_api.schemas import DisplayText, JobPublic, Movement, check_beat_times
from coach_api.services import music_of
from pose2d.video import VIDEO_TYPES


def _true_or_false(value: object) -> object:
    """A form's yes/no field is ``true`` or ``false`` (any case): pydantic's lax booleans
    would also take ``0``, ``on`` or ``y``, which the schema's boolean does not allow."""
    if isinstance(value, str) and value.lower() not in ("true", "false"):
        raise ValueError("must be true or false")
    return value


FormFlag = Annotated[bool, Form(), BeforeValidator(_true_or_false)]
# The multipart body's video part: one of the types the server decodes, named in the part.
VIDEO_PART = {
    "requestBody": {
        "content": {
            "multipart/form-data": {"encoding": {"video": {"contentType": ", ".join(VIDEO_TYPES)}}}
        }
    }
}
router = APIRouter(tags=["videos"])

BEATS_HELP = "For a routine to music: a JSON list of the beats' times in seconds."


def _check_type(video: UploadFile) -> str:
    """The stored file suffix of an accepted video type (media-type parameters such as
    ``codecs=avc1`` allowed); 415 for anything else."""
    declared = video.content_type or ""
    media = media_type(declared)
    if media not in VIDEO_TYPES:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"expected one of {', '.join(VIDEO_TYPES)}, got {declared[:60] or 'no type'}",
            "video",
        )
    return VIDEO_TYPES[media]


async def _start_job(
    request: Request,
    db,
    user_id: int,
    video: UploadFile,
    suffix: str,
    keep: bool,
    kind: str,
    params: dict,
) -> JSONResponse:
    """Store the video, queue its job of ``kind`` with ``params``, answer 202. The job row
    names the video, so whichever worker runs it (again, after a crash) finds it."""
    blobs = request.app.state.settings.blobs
    name = f"video-{uuid.uuid4().hex}{suffix}"
    blobs.put(name, await video.read())
    job = Job(
        user_id=user_id,
        kind=kind,
        params_json=json.dumps(params),
        video_blob=name,
        keep_video=keep,
    )
    # A job that cannot be stored leaves no video behind (nothing half-stored). The commit
    # and the queue's write run in a thread: never on the event loop.
    return await anyio.to_thread.run_sync(
        submit_job, request.app, db, job, lambda: blobs.delete(name)
    )


@router.post(
    "/videos",
    status_code=202,
    response_model=JobPublic,
    operation_id="uploadVideo",
    responses=error_responses(404, 429, body=True),
    openapi_extra=VIDEO_PART,
)
async def upload_video(
    request: Request,
    user: RateLimitedUser,
    db: SessionDep,
    routine_id: Annotated[int, Form(ge=1, le=2**62)],
    video: Annotated[UploadFile, File()],
    keep_video: FormFlag = False,
    beat_times: Annotated[str | None, Form(description=BEATS_HELP)] = None,
) -> JSONResponse:
    """Upload a workout video for a routine the user may use; a background job extracts
    keypoints and scores them. The video is deleted after processing unless ``keep_video``.
    429 ``too_many_jobs`` while the account has ``COACH_MAX_JOBS_PER_USER`` jobs queued or
    running (nothing is stored)."""
    suffix = _check_type(video)
    beats = check_beat_times(beat_times)
    usable_routine(db, user, routine_id)
    await anyio.to_thread.run_sync(check_job_room, db, request.app.state.settings, user.id)
    spend_rate(request, user)
    params = {
        "routine_id": routine_id,
        "strictness": request.app.state.settings.strictness,
        "beat_times": beats,
    }
    return await _start_job(
        request, db, user.id, video, suffix, keep_video, "video_session", params
    )


@router.post(
    "/routines/video",
    status_code=202,
    response_model=JobPublic,
    operation_id="createRoutineFromVideo",
    responses=error_responses(403, 429, body=True),
    openapi_extra=VIDEO_PART,
)
async def create_routine_from_video(
    request: Request,
    user: RateLimitedUser,
    db: SessionDep,
    name: Annotated[DisplayText, Form(min_length=1, max_length=120)],
    movement: Annotated[Movement, Form()],
    video: Annotated[UploadFile, File()],
    keep_video: FormFlag = False,
    beat_times: Annotated[str | None, Form(description=BEATS_HELP)] = None,
    beats_per_rep: Annotated[int | None, Form(ge=4, le=256, multiple_of=4)] = None,
    published: FormFlag = False,
) -> JSONResponse:
    """Upload a trainer's video (trainers only); a background job extracts keypoints and
    stores the routine (the job's ``routine_id`` when done). The video is deleted unless
    ``keep_video``. 429 ``too_many_jobs`` while the account has ``COACH_MAX_JOBS_PER_USER``
    jobs queued or running (nothing is stored)."""
    require_trainer(user)
    suffix = _check_type(video)
    music = music_of(check_beat_times(beat_times), beats_per_rep)
    await anyio.to_thread.run_sync(check_job_room, db, request.app.state.settings, user.id)
    spend_rate(request, user)
    params = {
        "name": name,
        "movement": movement,
        "beat_times": music.beat_times if music else None,
        "beats_per_rep": music.beats_per_rep if music else None,
        "published": published,
    }
    return await _start_job(
        request, db, user.id, video, suffix, keep_video, "video_routine", params
    )
