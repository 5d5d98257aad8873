"""Request ids, structured logs and Prometheus metrics."""

from __future__ import annotations

import json
import logging
import time
import uuid

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from scoring.checks import ALL_KINDS
from scoring.session_stats import CUES_PER_MIN, DETECTOR_P_MAX, DETECTOR_P_MEAN

_SHARES = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)
# Buckets of each scalar session statistic (scoring.session_stats, its units).
SESSION_BUCKETS = {
    "confidence_mean": _SHARES,
    "confidence_p10": _SHARES,
    "missing_joint_share": _SHARES,
    "swap_repaired_share": _SHARES,
    "other_person_share": _SHARES,
    "camera_yaw_deg": tuple(range(15, 181, 15)),
    "camera_distance": (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.5),
    "fps": (10, 15, 20, 24, 25, 30, 50, 60, 90, 120),
    "body_height_m": (1.0, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0, 2.2),
    "movement_m_per_s": (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0),
    "duration_s": (10, 30, 60, 120, 300, 600, 1200, 1800),
    "score": tuple(range(10, 101, 10)),
}
_CUE_RATES = (0.5, 1, 2, 4, 8, 16)
_PROBABILITIES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)

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
        self.live_streams = Gauge(
            "coach_live_streams", "Live streams this process holds", registry=self.registry
        )
        # Live sockets ended by an error, by its code: server_busy says the replicas are
        # full, too_fast and the like what clients do.
        self.live_errors = Counter(
            "coach_live_errors", "Live sockets ended by an error", ["code"], registry=self.registry
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
        # Drift monitoring: each scored session's statistics (scoring.session_stats), one
        # histogram per statistic in its own units; error kinds are a bounded label.
        self.session = {
            name: Histogram(
                f"coach_session_{name}",
                f"Scored sessions' {name} (scoring.session_stats)",
                buckets=buckets,
                registry=self.registry,
            )
            for name, buckets in SESSION_BUCKETS.items()
        }
        self.cues = Histogram(
            "coach_session_cues_per_minute",
            "Scored sessions' cues per minute, per error kind",
            ["kind"],
            buckets=_CUE_RATES,
            registry=self.registry,
        )
        self.detector = Histogram(
            "coach_session_detector_probability",
            "Scored sessions' learned-detector probability (mean or max over units), per kind",
            ["kind", "aggregate"],
            buckets=_PROBABILITIES,
            registry=self.registry,
        )

    def observe_session(self, stats: dict[str, float]) -> None:
        """Count one stored session's statistics (names outside the known set are not
        exported: label values stay bounded)."""
        aggregates = {DETECTOR_P_MEAN: "mean", DETECTOR_P_MAX: "max"}
        for name, value in stats.items():
            prefix, _, kind = name.partition(".")
            if name in self.session:
                self.session[name].observe(value)
            elif kind not in ALL_KINDS:
                continue
            elif prefix == CUES_PER_MIN:
                self.cues.labels(kind).observe(value)
            elif prefix in aggregates:
                self.detector.labels(kind, aggregates[prefix]).observe(value)

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
