"""Reading a JSON body that carries keypoints, after the caller is authenticated.

Routes that take keypoints declare no body parameter (FastAPI would parse it before any
dependency, i.e. before the bearer token is checked): they call :func:`read_keypoint_body`
once the user is known. The OpenAPI schema still documents the body (:func:`documented`).
"""

from __future__ import annotations

import numpy as np
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from coach_api.errors import ApiError
from coach_api.json_body import BodyError, read_body_with_frames

DOCUMENTED_BODIES: list[type[BaseModel]] = []  # added to the OpenAPI components


def documented(model: type[BaseModel]) -> dict:
    """``openapi_extra`` for a route whose JSON body is ``model``, read by hand."""
    DOCUMENTED_BODIES.append(model)
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def media_type(declared: str | None) -> str:
    """``"Video/MP4; codecs=avc1"`` -> ``"video/mp4"``: the type without its parameters."""
    return (declared or "").split(";", 1)[0].strip().lower()


def check_json_type(request: Request) -> None:
    """415 unless the body is declared JSON (``application/json``, parameters allowed)."""
    declared = request.headers.get("content-type", "")
    media = media_type(declared)
    if media != "application/json" and not (
        media.startswith("application/") and media.endswith("+json")
    ):
        raise ApiError(
            415,
            "unsupported_media_type",
            f"expected an application/json body, got {declared[:60] or 'no content type'}",
        )


def reads_keypoint_body(route: object) -> bool:
    """Whether ``route`` reads a keypoint body by hand: it was declared with
    :func:`documented` (the body limits give such routes room for ``max_frames``)."""
    body = (getattr(route, "openapi_extra", None) or {}).get("requestBody", {})
    # A multipart route's extra (the video part's media types) has no JSON content.
    return "application/json" in body.get("content", {})


async def read_keypoint_body(
    request: Request, model: type[BaseModel], engine
) -> tuple[BaseModel, np.ndarray | None]:
    """The body as ``model`` (its ``keypoints.frames`` left empty) and the keypoint frames
    ``(T, J, 3)``, at most the engine's ``limits.max_frames``; 415, 413 or 422 naming what
    is wrong. The bytes are read here; parsing and validating them run in the worker pool
    (a 60-s session is ~200 ms of CPU, which must not stall the event loop)."""
    check_json_type(request)
    raw = await request.body()  # bounded by the body-size middleware
    return await engine.run(parse_keypoint_body, raw, model, engine.limits.max_frames)


def parse_keypoint_body(
    raw: bytes, model: type[BaseModel], max_frames: int
) -> tuple[BaseModel, np.ndarray | None]:
    """:func:`read_keypoint_body`'s CPU half, for a worker thread: the JSON document
    ``raw`` parsed once (frames straight into numpy) and validated as ``model``."""
    try:
        document, frames = read_body_with_frames(raw, "keypoints.frames", max_frames)
    except BodyError as exc:
        code = "payload_too_large" if exc.status == 413 else "invalid_input"
        field = None if exc.field == "$" else exc.field
        raise ApiError(exc.status, code, exc.message, field) from None
    if not isinstance(document, dict):
        raise ApiError(422, "invalid_input", "the body must be a JSON object")
    try:
        body = model.model_validate(document)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False)
        raise RequestValidationError(errors) from None
    return body, frames
