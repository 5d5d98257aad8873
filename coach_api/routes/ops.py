"""Health, readiness and the lifter models the phone can use."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, PlainTextResponse, Response
from pydantic import BaseModel
from sqlalchemy import text

from coach_api.deps import EngineDep, SessionDep, SettingsDep
from coach_api.errors import ApiError
from coach_api.openapi_errors import error_responses
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
    """Prometheus metrics: request latency, lifting and scoring time, jobs in flight, and
    the scored sessions' drift statistics."""
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
    """The loaded lifters: the live (causal) one first, then the one for recordings."""
    lifters = [engine.lifter] + (
        [engine.recordings] if engine.recordings is not engine.lifter else []
    )
    return [
        ModelInfo(
            version=lifter.metadata.version,
            receptive_field=lifter.receptive_field,
            causal=lifter.causal,
            fps=lifter.metadata.fps,
            metrics={k: float(v) for k, v in lifter.metadata.metrics.items()},
        )
        for lifter in lifters
    ]


PLATFORM_FORMATS = {"ios": "coreml-mlprogram", "android": "onnx"}


def _sidecar(settings, platform: str) -> dict:
    path = settings.phone_artifacts / "lifter.json"
    if not path.is_file():
        raise ApiError(
            404,
            "not_exported",
            f"no phone models exported; run `coach export --out {settings.phone_artifacts}`",
        )
    sidecar = json.loads(path.read_text())
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
    responses=NOT_MODIFIED | error_responses(404, authenticated=False),
)
def phone_models(platform: Platform, request: Request, settings: SettingsDep) -> Response:
    """The sidecar for ``ios`` (Core ML) or ``android`` (ONNX): shapes, layouts, checksums.
    It carries an ``ETag``: send it back in ``If-None-Match`` to get 304 while the models
    are unchanged."""
    sidecar = PhoneModelSidecar.model_validate(_sidecar(settings, platform))
    body = sidecar.model_dump_json(exclude_none=True).encode()
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
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
        },
        **NOT_MODIFIED,
        **error_responses(404, authenticated=False),
    },
)
def download_phone_model(
    platform: Platform, name: str, request: Request, settings: SettingsDep
) -> Response:
    """One artifact: an ONNX file, or a Core ML package as a zip. Its ``ETag`` is the
    sidecar's checksum: ``If-None-Match`` with it answers 304 without the body."""
    sidecar = _sidecar(settings, platform)
    if name not in sidecar["artifacts"]:
        raise ApiError(404, "not_found", f"no artifact {name!r} for {platform}", "name")
    path = settings.phone_artifacts / name
    etag = f'"{sidecar["artifacts"][name]["sha256"]}"'
    if _matches(request, etag):
        return Response(status_code=304, headers={"ETag": etag})
    if path.is_dir():
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                archive.write(file, str(Path(name) / file.relative_to(path)))
        return Response(
            buffer.getvalue(),
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{name}.zip"', "ETag": etag},
        )
    return FileResponse(
        path, media_type="application/octet-stream", filename=name, headers={"ETag": etag}
    )
