"""Health, readiness and the lifter models the phone can use."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, PlainTextResponse, Response
from sqlalchemy import text

from coach_api.deps import EngineDep, SessionDep, SettingsDep
from coach_api.errors import ApiError
from coach_api.schemas import ModelInfo

router = APIRouter(tags=["ops"])


@router.get("/healthz", operation_id="health")
async def health() -> dict:
    """Liveness, answered on the event loop itself (no worker thread): it is what stalls."""
    return {"status": "ok"}


@router.get("/readyz", operation_id="ready")
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
    """Prometheus metrics: request latency, lifting and scoring time, jobs in flight."""
    return PlainTextResponse(
        request.app.state.metrics.render(), media_type="text/plain; version=0.0.4"
    )


@router.get("/models", response_model=list[ModelInfo], operation_id="listModels")
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
    if platform not in PLATFORM_FORMATS:
        raise ApiError(
            404, "not_found", f"unknown platform {platform!r}; expected ios or android", "platform"
        )
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


@router.get("/models/{platform}", operation_id="getPhoneModels")
def phone_models(platform: str, settings: SettingsDep) -> dict:
    """The sidecar for ``ios`` (Core ML) or ``android`` (ONNX): shapes, layouts, checksums."""
    return _sidecar(settings, platform)


@router.get("/models/{platform}/{name}", operation_id="downloadPhoneModel")
def download_phone_model(platform: str, name: str, settings: SettingsDep) -> Response:
    """One artifact: an ONNX file, or a Core ML package as a zip."""
    sidecar = _sidecar(settings, platform)
    if name not in sidecar["artifacts"]:
        raise ApiError(404, "not_found", f"no artifact {name!r} for {platform}", "name")
    path = settings.phone_artifacts / name
    if path.is_dir():
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                archive.write(file, str(Path(name) / file.relative_to(path)))
        return Response(
            buffer.getvalue(),
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{name}.zip"'},
        )
    return FileResponse(path, media_type="application/octet-stream", filename=name)
