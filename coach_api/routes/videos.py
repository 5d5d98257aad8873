"""Video uploads: stored, turned into keypoints on the server, then scored like keypoints."""

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
from coach_api.routes.sessions import job_public, score_and_store
from coach_api.schemas import JobPublic
from coach_api.video import VIDEO_TYPES, extract_keypoints

router = APIRouter(tags=["videos"])


@router.post("/videos", status_code=202, response_model=JobPublic, operation_id="uploadVideo")
async def upload_video(
    request: Request,
    user: RateLimitedUser,
    db: SessionDep,
    routine_id: Annotated[int, Form(ge=1, le=2**62)],
    video: Annotated[UploadFile, File()],
    keep_video: Annotated[bool, Form()] = False,
) -> JSONResponse:
    """Upload a workout video; a background job extracts keypoints and scores them.

    The video is deleted after processing unless ``keep_video`` is true.
    """
    if video.content_type not in VIDEO_TYPES:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"expected one of {', '.join(VIDEO_TYPES)}, got {video.content_type}",
            "video",
        )
    if db.get(Routine, routine_id) is None:
        raise ApiError(404, "not_found", f"no routine {routine_id}", "routine_id")
    settings = request.app.state.settings
    name = f"video-{uuid.uuid4().hex}{VIDEO_TYPES[video.content_type]}"
    settings.blobs.put(name, await video.read())
    job = Job(user_id=user.id, video_blob=name if keep_video else "")
    db.add(job)
    db.commit()
    task = asyncio.create_task(_process(request.app, job.id, user.id, routine_id, name, keep_video))
    request.app.state.background.add(task)
    task.add_done_callback(request.app.state.background.discard)
    return JSONResponse(job_public(job).model_dump(mode="json"), status_code=202)


async def _process(app, job_id: int, user_id: int, routine_id: int, name: str, keep: bool) -> None:
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
                    extract_keypoints, local, settings.pose_task, settings.max_frames
                )
            routine = db.get(Routine, routine_id)
            row = await score_and_store(
                engine, settings, db, user_id, routine, sequence, settings.strictness
            )
            job.status, job.session_id = "done", row.id
        except Exception as exc:  # reported on the job; the service carries on
            db.rollback()
            job = db.get(Job, job_id)
            job.status, job.error = "failed", str(exc)[:500] or type(exc).__name__
        finally:
            if not keep:
                settings.blobs.delete(name)
        db.commit()
