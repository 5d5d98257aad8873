"""One JSON error shape for every 4xx/5xx: ``{"error": {"code", "message", "field"?}}``."""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, compile_path

logger = logging.getLogger("coach_api")

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
    503: "unavailable",
}


def route_methods(routes: list[tuple[str, BaseRoute]]) -> list[tuple[re.Pattern, frozenset]]:
    """Each ``(prefix, route)``'s full path as a pattern (with its convertors), and its
    methods: the table :func:`allowed_methods` reads."""
    table = []
    for prefix, route in routes:
        methods = getattr(route, "methods", None)
        if methods:
            table.append((compile_path(prefix + route.path)[0], frozenset(methods)))
    return table


def allowed_methods(request: Request) -> str:
    """Every method some route takes at the request's path (``Allow`` of a 405). Each
    operation is a route of its own, so the route that answered knows only its methods."""
    path = request.url.path
    table = getattr(request.app.state, "route_methods", [])
    allowed = {method for pattern, methods in table if pattern.match(path) for method in methods}
    return ", ".join(sorted(allowed))


class ApiError(Exception):
    """An error the client can act on."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.headers = headers


def error_body(code: str, message: str, field: str | None = None) -> dict:
    error = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    return {"error": error}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message, exc.field),
            status_code=exc.status,
            headers=exc.headers,
        )

    @app.exception_handler(PoolTimeout)
    async def _saturated(_: Request, exc: PoolTimeout) -> JSONResponse:
        # Every database connection is busy: tell the client when to come back instead of
        # letting requests queue (and time out) behind each other.
        return JSONResponse(
            error_body("busy", "the service is saturated; retry shortly"),
            status_code=503,
            headers={"Retry-After": "2"},
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        field = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or None
        return JSONResponse(
            error_body("invalid_input", first.get("msg", "invalid"), field), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _CODES.get(exc.status_code, "error")
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse(
            error_body("internal_error", "something went wrong on our side"), status_code=500
        )
