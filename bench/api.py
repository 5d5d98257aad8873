"""The coach API under load on loopback: scored sessions per second and latency.

Starts ``coach-api serve`` in a child process (a throw-away data folder, the bundled
lifter), creates a routine, then submits simulated 10-s and 60-s sessions from N
concurrent clients (p50/p99 latency, sessions/s), and runs 20 concurrent live streams
at 30 fps in 5-frame batches (p50/p99 from batch sent to answer received).
Baseline in the same run: one client at a time. Targets: live p99 <= 50 ms with 20
streams.

Run: ``python -m bench.api``. Writes ``bench/results/api.json`` / ``.md``.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from bench.common import report
from coach_client.local_server import free_port, grant_role, server_env, start_server
from synthetic_data.detector import phone_json
from synthetic_data.generator import ClipRequest, generate_clip, trainer_clip

COLUMNS = ["test", "clients", "requests", "per_second", "p50_ms", "p99_ms"]


async def _sessions(url, headers, routine_id, payload, clients, total):
    latencies = []

    async def worker(client, count):
        for _ in range(count):
            start = time.perf_counter()
            response = await client.post(
                "/sessions", json={"routine_id": routine_id, "keypoints": payload}
            )
            response.raise_for_status()
            latencies.append(time.perf_counter() - start)

    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=300) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client, total // clients) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, latencies


async def _live(ws_url, token, routine_id, payload, streams, seconds=10, batch=5):
    import websockets

    latencies = []

    async def stream():
        async with websockets.connect(ws_url, max_size=2**24) as socket:
            header = {k: payload[k] for k in ("layout", "fps", "image_width", "image_height")}
            start = {"type": "start", "token": token, "routine_id": routine_id, **header}
            await socket.send(json.dumps(start))
            await socket.recv()
            frames = payload["frames"][: int(seconds * payload["fps"])]
            for start in range(0, len(frames), batch):
                sent = time.perf_counter()
                await socket.send(
                    json.dumps({"type": "frames", "frames": frames[start : start + batch]})
                )
                while json.loads(await socket.recv())["type"] != "progress":
                    pass
                latencies.append(time.perf_counter() - sent)
                await asyncio.sleep(max(0.0, batch / payload["fps"] - (time.perf_counter() - sent)))
            await socket.send(json.dumps({"type": "stop"}))
            await socket.recv()

    await asyncio.gather(*(stream() for _ in range(streams)))
    return latencies


def _row(test, clients, latencies, per_second=None):
    return {
        "test": test,
        "clients": clients,
        "requests": len(latencies),
        "per_second": round(per_second, 2) if per_second is not None else "-",
        "p50_ms": round(1000 * float(np.percentile(latencies, 50)), 1),
        "p99_ms": round(1000 * float(np.percentile(latencies, 99)), 1),
    }


def main(argv: list[str] | None = None) -> None:
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        # One account makes every request and streams all 20 live streams.
        limits = {
            "rate_per_minute": 100000,
            "rate_burst": 100000,
            "live_max_streams_per_user": 100,
        }
        server = start_server(Path(data), port, **limits)
        url = f"http://127.0.0.1:{port}/v1"
        try:
            http = httpx.Client(base_url=url, timeout=300)
            http.post(
                "/auth/register", json={"email": "t@example.com", "password": "bench password"}
            )
            grant_role("t@example.com", "trainer", server_env(Path(data), **limits))
            token = http.post(
                "/auth/login", data={"username": "t@example.com", "password": "bench password"}
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            routine = http.post(
                "/routines",
                headers=headers,
                json={
                    "name": "squat",
                    "movement": "squat",
                    "keypoints": phone_json(trainer_clip("squat")),
                },
            ).json()
            rows = []
            for seconds in (10, 60):
                clip = generate_clip(
                    ClipRequest(seed=5, movement="squat", duration_s=seconds, num_cameras=1)
                )
                payload = phone_json(clip, 1)
                for clients, total in ((1, 6), (4, 16)):
                    rate, latencies = asyncio.run(
                        _sessions(url, headers, routine["id"], payload, clients, total)
                    )
                    rows.append(_row(f"session {seconds} s", clients, latencies, rate))
            live_payload = phone_json(
                generate_clip(ClipRequest(seed=6, movement="squat", duration_s=10, num_cameras=1))
            )
            for streams in (1, 20):
                latencies = asyncio.run(
                    _live(
                        f"ws://127.0.0.1:{port}/v1/live",
                        token,
                        routine["id"],
                        live_payload,
                        streams,
                    )
                )
                rows.append(_row("live 5-frame batch", streams, latencies))
        finally:
            server.terminate()
            server.wait(timeout=30)
    report("api", "Coach API on loopback", rows, COLUMNS)


if __name__ == "__main__":
    main()
