"""Build the FastAPI app: settings, database, lifter (loaded once), routes under /v1."""

from __future__ import annotations

import asyncio
import gc
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from coach_api.db import make_engine, make_sessionmaker
from coach_api.docs_page import install_docs
from coach_api.errors import install_error_handlers, route_methods
from coach_api.job_queue import JobQueue
from coach_api.job_worker import JobWorker
from coach_api.json_requests import DOCUMENTED_BODIES
from coach_api.limits import BodySizeLimit, SecurityHeaders
from coach_api.live_admission import LiveAdmission
from coach_api.live_batcher import LiveBatcher
from coach_api.observability import Metrics, RequestLog
from coach_api.openapi_errors import ErrorResponse
from coach_api.ratelimits import RateLimits
from coach_api.routes import admin, auth, live, ops, routines, sessions, shared, videos
from coach_api.services import load_engine
from coach_api.settings import Settings
from coach_api.web_app import install_web_app

# What a web page of an allowed origin may send: the methods the API answers, the bearer
# token, JSON (and gzip) bodies, an ETag to revalidate a model download, its own request
# id. Credentials (cookies) are never used: the token travels in a header.
CORS_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
CORS_REQUEST_HEADERS = [
    "Authorization",
    "Content-Type",
    "Content-Encoding",
    "If-None-Match",
    "X-Request-ID",
    "X-App-Version",
]
# Headers the page's script may read besides the always-readable ones.
CORS_RESPONSE_HEADERS = [
    "Retry-After",
    "ETag",
    "X-Request-ID",
    "X-Model-Version",
    "X-Model-Champion",
    "X-Min-App-Version",
]


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application; ``settings`` default to the environment (``COACH_*``)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.engine = load_engine(settings, app.state.metrics)
        app.state.live_batcher = LiveBatcher(app.state.engine)
        worker = None
        if settings.job_worker == "embedded":  # nothing else to start: this process runs jobs
            worker = JobWorker(
                settings, app.state.sessionmaker, app.state.engine, asyncio.get_running_loop(), True
            )
            worker.start()
            app.state.job_queue = worker.queue
        else:  # `coach-api worker` processes run them
            app.state.job_queue = JobQueue(settings)
        gc.freeze()  # what start-up made (models, modules) lives on: collections skip it
        yield
        gc.unfreeze()  # collectable again once the app is gone (tests start many)
        if worker is not None:
            worker.stop()
            await worker.hand_back()
        app.state.db_engine.dispose()

    app = FastAPI(
        title="Fitness coach API",
        version="1",
        openapi_url="/v1/openapi.json",
        docs_url=None,  # served from the installed Swagger UI package: install_docs
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.rate_limits = RateLimits.from_settings(settings)
    app.state.live_admission = LiveAdmission(
        settings.live_max_streams,
        settings.live_max_streams_per_user,
        app.state.metrics.live_streams,
    )
    settings.private_data_dir()
    app.state.db_engine = make_engine(
        settings.resolved_database_url, settings.db_pool_size, settings.db_pool_timeout_s
    )
    app.state.sessionmaker = make_sessionmaker(app.state.db_engine)
    install_error_handlers(app)
    routers = (
        auth.router,
        routines.router,
        sessions.router,
        ops.router,
        live.router,
        admin.router,
        videos.router,
        shared.router,
    )
    for router in routers:
        app.include_router(router, prefix="/v1")
    install_docs(app)
    install_web_app(app)
    app.state.route_methods = route_methods(
        [("", route) for route in app.router.routes]
        + [("/v1", route) for router in routers for route in router.routes]
    )
    # The last added is the outermost: CORS headers go on every answer, the body limit's
    # 413 too, and preflights are logged.
    app.add_middleware(BodySizeLimit, settings=settings)
    app.add_middleware(SecurityHeaders)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=CORS_METHODS,
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=CORS_RESPONSE_HEADERS,
        )
    app.add_middleware(RequestLog, metrics=app.state.metrics)
    app.openapi = _with_read_bodies(app.openapi)
    return app


def _with_read_bodies(generate):
    """Wrap ``app.openapi`` so that the bodies routes read by hand (after authentication)
    and the error model are in the schema's components, where their ``$ref`` points."""

    def openapi() -> dict:
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (*DOCUMENTED_BODIES, ErrorResponse):
            if model.__name__ not in components:
                body = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(body.pop("$defs", {}))
                components[model.__name__] = body
        return schema

    return openapi
