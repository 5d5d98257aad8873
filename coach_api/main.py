"""Build the FastAPI app: settings, database, lifter (loaded once), routes under /v1."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from coach_api.db import make_engine, make_sessionmaker
from coach_api.errors import install_error_handlers
from coach_api.limits import BodySizeLimit
from coach_api.observability import Metrics, RateLimiter, RequestLog
from coach_api.routes import admin, auth, live, ops, routines, sessions, videos
from coach_api.services import Engine
from coach_api.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application; ``settings`` default to the environment (``COACH_*``)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        from pose3d.lifter import Lifter
        from scoring import PopulationModel

        lifter = Lifter.from_checkpoint(settings.lifter_checkpoint)
        # Recorded sessions use the bundled non-causal model when one ships.
        bundled = settings.lifter_checkpoint is None
        recordings = Lifter.for_recordings() if bundled else lifter
        app.state.engine = Engine(
            lifter,
            recordings,
            PopulationModel.load(),
            settings.worker_threads,
            settings.min_frames,
            settings.max_frames,
            app.state.metrics,
        )
        yield
        app.state.db_engine.dispose()

    app = FastAPI(
        title="Fitness coach API",
        version="1",
        openapi_url="/v1/openapi.json",
        docs_url="/v1/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.background = set()  # running background jobs (kept referenced)
    app.state.rate_limiter = RateLimiter(settings.rate_per_minute, settings.rate_burst)
    app.state.db_engine = make_engine(settings.resolved_database_url)
    app.state.sessionmaker = make_sessionmaker(app.state.db_engine)
    install_error_handlers(app)
    for router in (
        auth.router,
        routines.router,
        sessions.router,
        ops.router,
        live.router,
        admin.router,
        videos.router,
    ):
        app.include_router(router, prefix="/v1")
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestLog, metrics=app.state.metrics)
    return app
