"""What a signed link opens without a bearer header: a session's report page."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from coach_api.deps import EngineDep, SessionDep, SettingsDep
from coach_api.openapi_errors import error_responses
from coach_api.report_links import linked_session
from coach_api.report_page import REPORT_HEADERS, report_page

router = APIRouter(tags=["shared"])

# The page is someone's workout: no cache keeps it after the link expires. (Every answer
# also carries Referrer-Policy: no-referrer, so the link never leaks as a Referer.)
SHARED_HEADERS = {**REPORT_HEADERS, "Cache-Control": "private, no-store"}


@router.get(
    "/shared/reports/{token}",
    response_class=HTMLResponse,
    operation_id="getSharedReport",
    responses=error_responses(404, authenticated=False),
)
async def shared_report(
    token: str, db: SessionDep, engine: EngineDep, settings: SettingsDep
) -> HTMLResponse:
    """The report page a link from ``createReportLink`` opens, without a bearer header.
    404 for a link that is expired, altered, or whose session or account is gone: the
    same answer as for one that never existed."""
    row = linked_session(db, token, settings.signing_key)
    return await report_page(row, db, engine, settings, SHARED_HEADERS)
