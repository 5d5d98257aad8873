"""60-s sessions under load: this working tree against a baseline commit, interleaved.

Two ``coach-api serve`` processes on loopback, each with a throw-away data folder and the
bundled lifter: one runs the baseline commit's code (exported with ``git archive``), the
other this working tree's. Against a trainer's routine, N concurrent clients POST the same
simulated 60-s session (1,800 frames of MediaPipe-33 keypoints at 30 fps, ~1.5 MB of
JSON) to ``/v1/sessions``, while one more client asks ``/v1/healthz`` every 20 ms. For
each concurrency (1, 4, 16) the two servers take turns (ABBA order), ``--repeats`` runs
each. Rows: sessions per second, session latency p50/p99, healthz latency p50/p99/max
during the run, and requests answered otherwise than 201; each as the min and median
over the repetitions per server, and new / baseline of the medians.

    python -m bench.api_sessions --baseline 37f936b   # bench/results/api_sessions.{json,md}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from bench.common import export_tree, report
from coach_client.local_server import free_port, grant_role, server_env, start_server
from synthetic_data.detector import phone_json
from synthetic_data.generator import ClipRequest, generate_clip, trainer_clip

REPO = Path(__file__).resolve().parent.parent
VARIANTS = ("baseline", "new")
CONCURRENCY = (1, 4, 16)
REQUESTS = {1: 4, 4: 8, 16: 16}  # sessions per run, shared by the clients
HEALTH_EVERY_S = 0.02
# The bench is one user, its clients all phones of that account (bench.live: up to 200
# live streams on one replica).
SETTINGS = {
    "rate_per_minute": 10**6,
    "rate_burst": 10**6,
    "live_max_streams": 10**6,
    "live_max_streams_per_user": 10**6,
}
EMAIL, PASSWORD = "coach@example.com", "bench password"
JSON = {"Content-Type": "application/json"}
COLUMNS = ["measure", "clients", "base_min", "base_median", "new_min", "new_median", "ratio"]
# (row name, key of a run's result); latencies are in ms
MEASURES = [
    ("sessions/s", "per_second"),
    ("session p50 ms", "p50_ms"),
    ("session p99 ms", "p99_ms"),
    ("healthz p50 ms", "health_p50_ms"),
    ("healthz p99 ms", "health_p99_ms"),
    ("healthz max ms", "health_max_ms"),
    ("answers not 201", "failed"),
]


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout.strip()


class Server:
    """A running server of one source tree, with a trainer's token and routine."""

    def __init__(self, tree: Path, data: Path, **settings: object) -> None:
        """``settings``: more ``COACH_*`` settings for this server (keyword names)."""
        port = free_port()
        self.process = start_server(data, port, cwd=tree, **SETTINGS | settings)
        self.url = f"http://127.0.0.1:{port}/v1"
        with httpx.Client(base_url=self.url, timeout=300) as http:
            http.post("/auth/register", json={"email": EMAIL, "password": PASSWORD})
            grant_role(EMAIL, "trainer", server_env(data, **SETTINGS))
            login = http.post("/auth/login", data={"username": EMAIL, "password": PASSWORD})
            self.headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            body = {
                "name": "squat",
                "movement": "squat",
                "keypoints": phone_json(trainer_clip("squat")),
            }
            routine = http.post("/routines", headers=self.headers, json=body)
            routine.raise_for_status()
            self.routine_id = routine.json()["id"]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


async def _run(server: Server, body: bytes, clients: int) -> dict:
    """``REQUESTS[clients]`` sessions from ``clients`` concurrent clients, healthz polled
    meanwhile: throughput and latencies (ms)."""
    latencies, health, failed = [], [], 0
    running = True

    async def poll(http: httpx.AsyncClient) -> None:
        while running:
            started = time.perf_counter()
            (await http.get("/healthz")).raise_for_status()
            health.append(time.perf_counter() - started)
            await asyncio.sleep(HEALTH_EVERY_S)

    async def post(http: httpx.AsyncClient, count: int) -> None:
        nonlocal failed
        for _ in range(count):
            started = time.perf_counter()
            response = await http.post("/sessions", content=body, headers=JSON)
            if response.status_code == 201:
                latencies.append(time.perf_counter() - started)
            else:
                failed += 1

    async with (
        httpx.AsyncClient(base_url=server.url, headers=server.headers, timeout=600) as http,
        httpx.AsyncClient(base_url=server.url, timeout=60) as health_http,
    ):
        poller = asyncio.create_task(poll(health_http))
        started = time.perf_counter()
        per_client = REQUESTS[clients] // clients
        await asyncio.gather(*(post(http, per_client) for _ in range(clients)))
        elapsed = time.perf_counter() - started
        running = False
        await poller
    ms = [1000 * np.asarray(x) for x in (latencies or [np.nan], health)]
    return {
        "per_second": len(latencies) / elapsed,
        "p50_ms": float(np.percentile(ms[0], 50)),
        "p99_ms": float(np.percentile(ms[0], 99)),
        "health_p50_ms": float(np.percentile(ms[1], 50)),
        "health_p99_ms": float(np.percentile(ms[1], 99)),
        "health_max_ms": float(ms[1].max()),
        "failed": failed,
    }


def _rows(runs: dict[tuple[str, int], list[dict]]) -> list[dict]:
    rows = []
    for name, key in MEASURES:
        for clients in CONCURRENCY:
            base, new = ([run[key] for run in runs[v, clients]] for v in VARIANTS)
            ratio = round(float(np.median(new) / np.median(base)), 2) if np.median(base) else "-"
            rows.append(
                {
                    "measure": name,
                    "clients": clients,
                    "base_min": round(float(np.min(base)), 2),
                    "base_median": round(float(np.median(base)), 2),
                    "new_min": round(float(np.min(new)), 2),
                    "new_median": round(float(np.median(new)), 2),
                    "ratio": ratio,
                }
            )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default="HEAD", help="commit to compare the tree with")
    parser.add_argument("--repeats", type=int, default=3, help="runs per server and concurrency")
    args = parser.parse_args(argv)
    context = {
        "baseline": _git("rev-parse", "--short", args.baseline),
        "new": _git("describe", "--always", "--dirty"),
        "repeats": args.repeats,
    }
    clip = generate_clip(ClipRequest(seed=5, movement="squat", duration_s=60, num_cameras=1))
    keypoints = phone_json(clip, 1)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        trees = {"baseline": export_tree(args.baseline, folder / "baseline"), "new": REPO}
        servers = {v: Server(trees[v], folder / f"data-{v}") for v in VARIANTS}
        try:
            bodies = {
                v: json.dumps({"routine_id": s.routine_id, "keypoints": keypoints}).encode()
                for v, s in servers.items()
            }
            for v in VARIANTS:  # warm-up: the routine's reference, lazy imports
                asyncio.run(_run(servers[v], bodies[v], 1))
            runs = {(v, c): [] for v in VARIANTS for c in CONCURRENCY}
            for repeat in range(args.repeats):
                for clients in CONCURRENCY:
                    order = VARIANTS if repeat % 2 == 0 else VARIANTS[::-1]
                    for v in order:
                        runs[v, clients].append(asyncio.run(_run(servers[v], bodies[v], clients)))
        finally:
            for server in servers.values():
                server.stop()
    context["body_bytes"] = len(bodies["new"])
    title = f"60-s sessions: {context['new']} vs {context['baseline']} (new / baseline)"
    report("api_sessions", title, _rows(runs), COLUMNS, context)


if __name__ == "__main__":
    main()
