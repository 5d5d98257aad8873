"""A session's kept video (the user opted in with ``keep_video``), streamed to its owner
with HTTP byte ranges, so that a ``<video>`` element can seek without the whole file.

The video is the blob of the job that scored the session (``Job.session_id``): a job
drops its blob when done unless the user kept it (:meth:`coach_api.jobs.JobRun.finish`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from coach_api.db import Job
from coach_api.errors import ApiError
from pose2d.video import VIDEO_TYPES

# One range, as browsers ask: "bytes=START-", "bytes=START-END" or "bytes=-LAST".
_RANGE = re.compile(r"bytes=(\d{0,19})-(\d{0,19})")
MAX_RANGE_HEADER = 100  # characters; a single range never needs more
_MEDIA_TYPES = {suffix: media for media, suffix in VIDEO_TYPES.items()}


def not_kept() -> ApiError:
    """The 404 for a session without a kept video."""
    return ApiError(404, "video_not_kept", "the session's video is not kept", "session_id")


def kept_video(db: Session, user_id: int, session_id: int) -> str | None:
    """The blob name of ``session_id``'s kept video (the user's own), or None."""
    return db.scalar(
        select(Job.video_blob).where(
            Job.session_id == session_id,
            Job.user_id == user_id,
            Job.keep_video.is_(True),
            Job.video_blob != "",
        )
    )


def with_kept_video(db: Session, user_id: int, session_ids: Iterable[int]) -> set[int]:
    """Which of the user's ``session_ids`` have a kept video (one query for a page)."""
    ids = list(session_ids)
    if not ids:
        return set()
    rows = db.scalars(
        select(Job.session_id).where(
            Job.session_id.in_(ids),
            Job.user_id == user_id,
            Job.keep_video.is_(True),
            Job.video_blob != "",
        )
    )
    return set(rows)


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (start, end) that a ``Range`` header asks of ``size`` bytes; None for
    the whole file (no header, or one this server does not serve in parts, such as several
    ranges: answering all of it is what HTTP allows). 416 when the range lies outside."""
    if header is None:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.groups()
    if first == "":  # the last N bytes
        start, end = max(0, size - int(last)), size - 1
    else:
        start = int(first)
        end = min(size - 1, int(last)) if last else size - 1
    if start >= size or end < start or size == 0:
        raise ApiError(
            416,
            "range_not_satisfiable",
            f"the range {header[:MAX_RANGE_HEADER]!r} is outside the video's {size} bytes",
            "range",
            {"Content-Range": f"bytes */{size}"},
        )
    return start, end


def video_response(blobs, name: str, range_header: str | None) -> StreamingResponse:
    """The blob ``name`` as a video answer: all of it (200) or the asked range (206), with
    its media type (from the stored suffix) and ``Accept-Ranges: bytes``."""
    try:
        size = blobs.size(name)
    except FileNotFoundError:
        # The row names a blob that is gone (removed by hand, a lost bucket): nothing kept.
        raise not_kept() from None
    wanted = byte_range(range_header, size)
    start, end = wanted if wanted else (0, size - 1)
    headers = {"Accept-Ranges": "bytes", "Content-Length": str(end - start + 1)}
    headers["Cache-Control"] = "private, no-cache"  # a person's video: no shared cache
    if wanted:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    media = _MEDIA_TYPES.get("." + name.rsplit(".", 1)[-1], "application/octet-stream")
    body = blobs.open_range(name, start, end) if size else iter(())
    return StreamingResponse(
        body, status_code=206 if wanted else 200, media_type=media, headers=headers
    )
