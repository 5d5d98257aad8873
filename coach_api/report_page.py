"""A stored session's report page (score, cues, alignment plot, error timeline,
skeletons; :mod:`scoring.html`), as its owner gets it
(``GET /v1/sessions/{id}/report.html``) and as a shared link opens it
(``GET /v1/shared/reports/{token}``)."""

from __future__ import annotations

from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from coach_api.db import Routine, WorkoutSession
from coach_api.errors import ApiError
from coach_api.persistence import load_keypoints
from coach_api.services import Engine, load_poses
from coach_api.settings import Settings

# The report is self-contained (inline style, data: images, no script): allow nothing else.
REPORT_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
}


def page_routine(db: Session, row: WorkoutSession) -> Routine:
    """The routine the page compares the session with; 404 ``routine_deleted`` when the
    trainer deleted it (the page draws the trainer's motion, which went with it)."""
    routine = db.get(Routine, row.routine_id)
    if routine is None:
        raise ApiError(
            404,
            "routine_deleted",
            "the trainer deleted this session's routine, and with it the motion the page "
            "compares you with; the session's report is still at /v1/sessions/{id}",
            "session_id",
        )
    return routine


async def report_page(
    row: WorkoutSession,
    db: Session,
    engine: Engine,
    settings: Settings,
    headers: dict[str, str] = REPORT_HEADERS,
) -> HTMLResponse:
    """``row``'s report page, drawn in the worker pool; the database connection is not
    held meanwhile."""
    routine = page_routine(db, row)
    db.commit()  # ends the read transaction: the connection goes back to the pool
    reference = await engine.run(engine.reference, settings.blobs, routine)
    page = await engine.run(_render, row, routine, reference, settings.blobs)
    return HTMLResponse(page, headers=headers)


def session_beat_times(blobs, row: WorkoutSession) -> list[float] | None:
    """The music's beat times the session was scored with (kept with its keypoints), so
    that the page matches the trainer to the user as scoring did; None without music, or
    for a session stored before its keypoints were kept."""
    if row.keypoints_blob is None:
        return None
    return load_keypoints(blobs, row.keypoints_blob).beat_times


def _render(row: WorkoutSession, routine: Routine, reference, blobs) -> str:
    from scoring.html import render_html
    from scoring.report import SessionReport

    poses, fps = load_poses(blobs, row.blob)
    report = SessionReport.from_dict(row.report)
    return render_html(
        report,
        poses,
        fps,
        reference,
        session_beat_times(blobs, row),
        title=f"{routine.name}: session {row.id}",
    )
