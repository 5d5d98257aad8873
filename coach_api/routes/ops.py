"""Health, readiness and the lifter models the phone can use."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy import text

from coach_api.deps import EngineDep, SessionDep
from coach_api.errors import ApiError
from coach_api.schemas import ModelInfo

router = APIRouter(tags=["ops"])


@router.get("/healthz", operation_id="health")
def health() -> dict:
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
    metadata = engine.lifter.metadata
    return [
        ModelInfo(
            version=metadata.version,
            receptive_field=engine.lifter.receptive_field,
            causal=engine.lifter.causal,
            fps=metadata.fps,
            metrics={k: float(v) for k, v in metadata.metrics.items()},
        )
    ]
