"""Health, readiness, the served models and the lifter models the phone can use."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path as FilePath
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import FileResponse, PlainTextResponse, Response
from pydantic import BaseModel
from sqlalchemy import text

from coach_api.deps import EngineDep, SessionDep, SettingsDep
from coach_api.errors import ApiError
from coach_api.openapi_errors import error_responses
from coach_api.phone_models import (
    APP_VERSION_PATTERN,
    CHAMPION,
    SIDECAR,
    VERSION_PATTERN,
    Choice,
    choose,
)
from coach_api.schemas import ModelInfo, PhoneModelSidecar, Platform

router = APIRouter(tags=["ops"])


class Status(BaseModel):
    status: Literal["ok", "ready"]


@router.get("/healthz", response_model=Status, operation_id="health")
async def health() -> dict:
    """Liveness, answered on the event loop itself (no worker thread): it is what stalls."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Status,
    operation_id="ready",
    responses=error_responses(authenticated=False),
)
def ready(request: Request, db: SessionDep) -> dict:
    try:
        db.execute(text("SELECT 1"))
    except Exception:
        raise ApiError(503, "not_ready", "database unreachable") from None
    if getattr(request.app.state, "engine", None) is None:
        raise ApiError(503, "not_ready", "lifter not loaded")
    return {"status": "ready"}


@router.get("/metrics", response_class=PlainTextResponse, operation_id="metrics")
def metrics(request: Request) -> PlainTextResponse:
    """Prometheus metrics: request latency, lifting and scoring time, jobs in flight, live
    streams held and live sockets ended by each error, and the scored sessions' drift
    statistics."""
    return PlainTextResponse(
        request.app.state.metrics.render(), media_type="text/plain; version=0.0.4"
    )


@router.get(
    "/models",
    response_model=list[ModelInfo],
    operation_id="listModels",
    responses=error_responses(authenticated=False),
)
def list_models(engine: EngineDep) -> list[ModelInfo]:
    """Every served model: the live (causal) lifter first, the one for recordings, the
    detector and the knee network; where each came from (bundled, a configured file, or
    the registry's version and alias) and its figures."""
    models = engine.models
    lifters = {"lifter-causal": models.lifter, "lifter-recordings": models.recordings}
    listed = []
    for kind, served in models.served.items():
        lifter = lifters.get(kind)
        listed.append(
            ModelInfo(
                kind=kind,
                version=lifter.metadata.version if lifter is not None else served.label,
                source=served.source,
                registered_version=served.registered_version,
                alias=served.alias,
                label=served.label,
                receptive_field=lifter.receptive_field if lifter is not None else None,
                causal=lifter.causal if lifter is not None else None,
                fps=lifter.metadata.fps if lifter is not None else None,
                metrics=served.metrics,
            )
        )
    return listed


PLATFORM_FORMATS = {"ios": "coreml-mlprogram", "android": "onnx"}
VersionQuery = Annotated[
    str,
    Query(
        max_length=16,
        pattern=VERSION_PATTERN,
        description="``champion`` (default), ``bundled`` or a registered version number",
    ),
]
AppVersionHeader = Annotated[
    str | None,
    Header(
        alias="X-App-Version",
        max_length=20,
        pattern=APP_VERSION_PATTERN,
        description="The app's own version, ``X.Y.Z``: models it is too old for are not "
        "served (409 ``app_too_old``; for the champion, an older version it can run instead)",
    ),
]
MODEL_HEADERS = {
    "X-Model-Version": {
        "description": "The version served (as the sidecar's ``version``)",
        "schema": {"type": "string"},
    },
    "X-Model-Champion": {
        "description": "The champion's version: differs from ``X-Model-Version`` when the "
        "app is too old for the champion, or pinned another version",
        "schema": {"type": "string"},
    },
}


def _sidecar(platform: str, choice: Choice) -> dict:
    """The chosen version's sidecar with only ``platform``'s artifacts; ``version`` and
    ``min_app_version`` are the ones the choice was made on."""
    path = choice.exported.folder / SIDECAR
    if not path.is_file():
        # ``coach export-phone`` is swapping in a new export of this version this moment.
        message = f"version {choice.exported.version} is being re-exported; retry shortly"
        raise ApiError(503, "unavailable", message, headers={"Retry-After": "1"})
    sidecar = json.loads(path.read_text())
    sidecar["version"] = choice.exported.version
    sidecar["min_app_version"] = choice.exported.min_app_version
    sidecar["artifacts"] = {
        name: info
        for name, info in sidecar["artifacts"].items()
        if info["format"] == PLATFORM_FORMATS[platform]
    }
    return sidecar


def _matches(request: Request, etag: str) -> bool:
    """Whether the request's ``If-None-Match`` names ``etag`` (or is ``*``): the client's
    copy is current. Weak and strong tags compare alike (RFC 9110's weak comparison)."""
    header = request.headers.get("if-none-match")
    if header is None:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or etag in tags


NOT_MODIFIED = {304: {"description": "The copy named by ``If-None-Match`` is current"}}


@router.get(
    "/models/{platform}",
    response_model=PhoneModelSidecar,
    operation_id="getPhoneModels",
    responses={
        200: {"description": "The sidecar of the version served", "headers": MODEL_HEADERS},
        **NOT_MODIFIED,
        **error_responses(404, 409, authenticated=False),
    },
)
def phone_models(
    platform: Platform,
    request: Request,
    settings: SettingsDep,
    version: VersionQuery = CHAMPION,
    app_version: AppVersionHeader = None,
) -> Response:
    """The sidecar for ``ios`` (Core ML) or ``android`` (ONNX) of the champion or a pinned
    ``version``: which model, the oldest app it runs on, shapes, layouts, checksums. An app
    too old for the champion gets the newest earlier version it can run (``X-Model-Version``
    then differs from ``X-Model-Champion``); download the artifacts with the sidecar's
    ``version``. It carries an ``ETag`` (one per version and platform): send it back in
    ``If-None-Match`` to get 304 while the models are unchanged."""
    choice = choose(settings.phone_artifacts, version, app_version)
    sidecar = PhoneModelSidecar.model_validate(_sidecar(platform, choice))
    body = sidecar.model_dump_json(exclude_none=True).encode()
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    # The answer depends on the app's version: a shared cache must key on it too.
    headers = {"ETag": etag, "Cache-Control": "no-cache", "Vary": "X-App-Version"}
    headers |= choice.headers
    if _matches(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


BINARY = {"schema": {"type": "string", "format": "binary"}}


@router.get(
    "/models/{platform}/{name}",
    operation_id="downloadPhoneModel",
    response_class=Response,
    responses={
        200: {
            "description": "The ONNX file, or the Core ML package zipped",
            "content": {"application/octet-stream": BINARY, "application/zip": BINARY},
            "headers": MODEL_HEADERS,
        },
        **NOT_MODIFIED,
        **error_responses(404, 409, authenticated=False),
    },
)
def download_phone_model(
    platform: Platform,
    name: Annotated[str, Path(max_length=64)],
    request: Request,
    settings: SettingsDep,
    version: VersionQuery = CHAMPION,
    app_version: AppVersionHeader = None,
) -> Response:
    """One artifact of the champion or of ``version`` (pass the sidecar's, so the file is
    the one the sidecar describes): an ONNX file, or a Core ML package as a zip. Its
    ``ETag`` is the sidecar's checksum: ``If-None-Match`` with it answers 304 without the
    body."""
    choice = choose(settings.phone_artifacts, version, app_version)
    sidecar = _sidecar(platform, choice)
    if name not in sidecar["artifacts"]:
        served = choice.exported.version
        raise ApiError(
            404, "not_found", f"no artifact {name!r} for {platform} in version {served}", "name"
        )
    path = choice.exported.folder / name
    etag = f'"{sidecar["artifacts"][name]["sha256"]}"'
    headers = {"ETag": etag, "Vary": "X-App-Version"} | choice.headers
    if _matches(request, etag):
        return Response(status_code=304, headers=headers)
    if path.is_dir():
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                archive.write(file, str(FilePath(name) / file.relative_to(path)))
        headers["Content-Disposition"] = f'attachment; filename="{name}.zip"'
        return Response(buffer.getvalue(), media_type="application/zip", headers=headers)
    return FileResponse(path, media_type="application/octet-stream", filename=name, headers=headers)
