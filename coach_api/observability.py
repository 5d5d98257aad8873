"""Request ids, structured logs and Prometheus metrics."""

from __future__ import annotations

import json
import logging
import time
import uuid

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

logger = logging.getLogger("coach_api.requests")  # one JSON line per request


class Metrics:
    """The service's Prometheus metrics, in a registry of its own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Histogram(
            "coach_request_seconds",
            "HTTP request latency",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.work = Histogram(
            "coach_work_seconds", "Lifting and scoring time", ["step"], registry=self.registry
        )
        self.queue = Gauge(
            "coach_work_in_flight", "CPU jobs running or waiting", registry=self.registry
        )
        # Shadow scoring (coach_api/shadow.py): sessions the challenger also scored, the
        # cues it disagreed on per error kind, how far its score was, and its failures.
        self.shadow_sessions = Counter(
            "coach_shadow_sessions",
            "Sessions shadow-scored by the challenger",
            registry=self.registry,
        )
        self.shadow_disagreements = Counter(
            "coach_shadow_disagreements",
            "Cues only one of the champion and the challenger gave",
            ["kind"],
            registry=self.registry,
        )
        self.shadow_score_difference = Histogram(
            "coach_shadow_score_difference",
            "Absolute score difference, challenger against champion (points of 100)",
            buckets=(1, 2, 5, 10, 20, 50, 100),
            registry=self.registry,
        )
        self.shadow_failures = Counter(
            "coach_shadow_failures", "Shadow scorings that failed", registry=self.registry
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


class RequestLog:
    """ASGI middleware: a request id per request (``X-Request-ID``), a JSON log line, metrics."""

    def __init__(self, app, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        request_id = headers.get(b"x-request-id", b"").decode()[:64] or uuid.uuid4().hex
        started = time.perf_counter()
        status = {"code": 500}

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = scope.get("route").path if scope.get("route") is not None else "unmatched"
            self.metrics.requests.labels(scope["method"], route, str(status["code"])).observe(
                seconds
            )
            logger.info(
                json.dumps(
                    {
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status["code"],
                        "ms": round(1000 * seconds, 1),
                    }
                )
            )
