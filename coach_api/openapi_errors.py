"""The error model in the OpenAPI schema: which statuses each operation answers.

Every 4xx/5xx body is ``{"error": {"code", "message", "field"?}}``
(:mod:`coach_api.errors`). Routes declare theirs with :func:`error_responses`, so that
generated clients know the shape and schema checks can hold the server to it.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

DESCRIPTIONS = {
    400: "The request cannot be read (malformed body or encoding)",
    401: "Missing, expired or revoked bearer token",
    403: "The account's role may not do this",
    404: "No such resource, or not the caller's (the two are not told apart)",
    409: "Conflicts with the current state (e.g. the e-mail is taken)",
    413: "The body, or what it decodes to, is over this endpoint's limit",
    415: "The body's media type or content encoding is not accepted",
    416: "The ``Range`` asked for lies outside the file (``Content-Range`` gives its size)",
    422: "A field is invalid: ``field`` names it",
    429: "Rate limited: retry after the ``Retry-After`` header's seconds",
    503: "Saturated or not ready: retry after the ``Retry-After`` header's seconds",
}
# What any operation may answer: its input invalid, the service saturated.
ALWAYS = (422, 503)
# What an authenticated operation adds.
AUTHENTICATED = (401,)
# What an operation with a request body adds: unreadable, too large, wrong type or encoding.
BODY = (400, 413, 415)
# Errors are JSON whatever the operation answers on success (a page, a file).
ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}


class ErrorDetail(BaseModel):
    code: str = Field(description="stable machine-readable code, e.g. not_found, rate_limited")
    message: str = Field(description="what went wrong, for people")
    field: str | None = Field(default=None, description="the request field at fault, if one")


class ErrorResponse(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail


def error_responses(
    *statuses: int, authenticated: bool = True, body: bool = False
) -> dict[int | str, dict]:
    """``responses=`` for a route answering ``statuses`` (plus :data:`ALWAYS`,
    :data:`AUTHENTICATED` unless ``authenticated`` is false, and :data:`BODY` if it takes
    a ``body``), each with the error model (``ErrorResponse``, in the schema's components:
    see :func:`coach_api.main.create_app`)."""
    wanted = {*statuses, *ALWAYS}
    wanted |= {*(AUTHENTICATED if authenticated else ()), *(BODY if body else ())}
    return {
        status: {"description": DESCRIPTIONS[status], "content": ERROR_CONTENT}
        for status in sorted(wanted)
    }
