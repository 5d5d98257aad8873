"""Hostile inputs against a running API: peak memory growth and wall time per case.

Each worst case of the hardening work (issue 15) is sent to a fresh server on loopback
(``uvicorn`` in its own process, body limits as shipped), interleaved with a
baseline (one valid 10-s session scored end to end), three times each. The server's RSS
is sampled every 5 ms; a row gives the growth over the RSS just before the case (min and
median over the repetitions) and the wall time until the answer (or until the job the case
started has ended), also as a ratio to the baseline's median. RSS growth after
earlier cases understates a little (freed memory is reused before the process grows), so
the interleaving matters more than the absolute figure.

    python -m bench.hostile            # table + bench/results/hostile.{json,md}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import psutil

from bench.common import report
from coach_client.local_server import free_port, grant_role, server_env, start_server
from synthetic_data.detector import phone_json
from synthetic_data.generator import ClipRequest, generate_clip, trainer_clip

MIB = 2**20
PASSWORD = "bench password"


class PeakRss:
    """Samples a process's RSS every ``interval_s`` while in a ``with`` block."""

    def __init__(self, pid: int, interval_s: float = 0.005) -> None:
        self.process, self.interval_s = psutil.Process(pid), interval_s

    def __enter__(self) -> PeakRss:
        self.start = self.peak = self.process.memory_info().rss
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(self.interval_s)

    def __exit__(self, *_) -> None:
        self.running = False
        self.thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / MIB


def _empty_frames_body(size_bytes: int) -> bytes:
    """A session body of ``[[]]`` frames, ``size_bytes`` long (the issue's 7.6 MiB case)."""
    head = b'{"routine_id": 1, "keypoints": {"layout": "mediapipe33", "fps": 30, '
    head += b'"image_width": 1080, "image_height": 1920, "frames": ['
    count = (size_bytes - len(head) - 4) // 5
    return head + b",".join([b"[[]]"] * count) + b"]}}"


def _black_video(path: Path) -> Path:
    """300 black 1080p frames as MPEG-4 (~850 kB): decoded whole, 1.5 GB of pixels."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (1920, 1080))
    frame = np.zeros((1080, 1920, 3), np.uint8)
    for _ in range(300):
        writer.write(frame)
    writer.release()
    return path


def _pose_task(folder: Path) -> Path | None:
    """The MediaPipe pose model assembled from the cached wheel, if pip can get it."""
    from pose2d.task_builder import PoseTaskError, assemble_pose_task, download_wheel

    try:
        wheel = download_wheel(Path(".cache/wheels"))
    except PoseTaskError:
        return None
    return assemble_pose_task(wheel, folder / "pose_landmarker.task")


def _wait_job(client: httpx.Client, headers: dict, response: httpx.Response) -> str:
    """The final status of the job ``response`` started (or the response's status)."""
    if response.status_code != 202:
        return str(response.status_code)
    job_id = response.json()["id"]
    while True:
        job = client.get(f"/jobs/{job_id}", headers=headers).json()
        if job["status"] in ("done", "failed"):
            return f"202, job {job['status']}"
        time.sleep(0.05)


async def _silent_sockets(ws_url: str, count: int, wait_s: float) -> str:
    """Open ``count`` sockets that never authenticate; how many are open after ``wait_s``."""
    import websockets

    sockets = [await websockets.connect(ws_url) for _ in range(count)]
    await asyncio.sleep(wait_s)
    still_open = sum(s.state.name == "OPEN" for s in sockets)
    for socket in sockets:
        await socket.close()
    return f"{still_open}/{count} open after {wait_s:g} s"


async def _oversized_message(ws_url: str, size_bytes: int) -> str:
    import websockets

    async with websockets.connect(ws_url, max_size=None) as socket:
        try:  # the server may close while the message is still being sent
            await socket.send("x" * size_bytes)
            await socket.recv()
        except websockets.ConnectionClosed as closed:
            return f"closed {closed.rcvd.code if closed.rcvd else '-'}"
    return "answered"


async def _many_streams(ws_url: str, token: str, routine_id: int, count: int) -> str:
    """One account starts ``count`` live streams at once, keeping each socket open until
    all have their answer; how many were ready and what the others were told."""
    import websockets

    start = {"type": "start", "token": token, "routine_id": routine_id, "layout": "coco17"}
    start |= {"fps": 30, "image_width": 640, "image_height": 480}
    sockets = [await websockets.connect(ws_url) for _ in range(count)]
    for socket in sockets:
        await socket.send(json.dumps(start))
    answers = [json.loads(await socket.recv()) for socket in sockets]
    for socket in sockets:
        await socket.close()
    kinds = Counter(a["error"]["code"] if a["type"] == "error" else a["type"] for a in answers)
    return ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))


def _cases(client: httpx.Client, url: str, headers: dict, user_body: dict, folder: Path):
    """(name, callable returning a status text) for every hostile case and the baseline."""
    json_type = {"Content-Type": "application/json"}
    empty = _empty_frames_body(int(7.6 * MIB))

    def post_raw(body: bytes, auth: bool) -> str:
        chosen = {**json_type, **(headers if auth else {})}
        return str(client.post("/sessions", content=body, headers=chosen).status_code)

    def eight_at_once() -> str:
        codes = []

        def one():
            with httpx.Client(base_url=url, timeout=300) as own:
                chosen = {**json_type, **headers}
                codes.append(own.post("/sessions", content=empty, headers=chosen))

        threads = [threading.Thread(target=one) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return ",".join(sorted({str(r.status_code) for r in codes}))

    slow = dict(user_body)
    slow["keypoints"] = {**user_body["keypoints"], "fps": 0.01}

    def logins() -> str:
        codes = []

        def one():
            form = {"username": "user@example.com", "password": "wrong password"}
            with httpx.Client(base_url=url, timeout=300) as own:
                codes.append(own.post("/auth/login", data=form).status_code)

        threads = [threading.Thread(target=one) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return ",".join(sorted({str(c) for c in codes}))

    video = _black_video(folder / "black.mp4")

    def upload() -> str:
        files = {"video": ("black.mp4", video.read_bytes(), "video/mp4")}
        response = client.post("/videos", headers=headers, data={"routine_id": 1}, files=files)
        return _wait_job(client, headers, response)

    ws_url = url.replace("http", "ws") + "/live"
    token = headers["Authorization"].split()[1]

    def session(body: dict) -> str:
        return str(client.post("/sessions", headers=headers, json=body).status_code)

    return [
        ("baseline: valid 10-s session", lambda: session(user_body)),
        ("7.6 MiB of [[]] frames, no token", lambda: post_raw(empty, auth=False)),
        ("7.6 MiB of [[]] frames, token", lambda: post_raw(empty, auth=True)),
        ("8 such bodies at once", eight_at_once),
        ("fps 0.01, 300 frames", lambda: session(slow)),
        ("16 concurrent logins", logins),
        ("846 kB black 1080p video, 300 frames", upload),
        (
            "15 MB live message before auth",
            lambda: asyncio.run(_oversized_message(ws_url, 15_000_000)),
        ),
        ("200 silent live sockets", lambda: asyncio.run(_silent_sockets(ws_url, 200, 12.0))),
        (
            "one account starts 50 live streams",
            lambda: asyncio.run(_many_streams(ws_url, token, user_body["routine_id"], 50)),
        ),
    ]


def _measure(pid: int, case: Callable[[], str]) -> tuple[str, float, float]:
    with PeakRss(pid) as rss:
        started = time.perf_counter()
        status = case()
        seconds = time.perf_counter() - started
    return status, rss.growth_mb, seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as data:
        folder, port = Path(data), free_port()
        task = _pose_task(folder)
        settings = {
            "rate_per_minute": 1e9,
            "rate_burst": 10**9,
            "login_per_minute": 1e9,
            "login_failures_per_account": 10**9,
        }
        if task is not None:
            settings["pose_task"] = task
        server = start_server(folder / "data", port, **settings)
        url = f"http://127.0.0.1:{port}/v1"
        try:
            with httpx.Client(base_url=url, timeout=300) as client:
                for email in ("trainer@example.com", "user@example.com"):
                    client.post("/auth/register", json={"email": email, "password": PASSWORD})
                env = server_env(folder / "data", **settings)
                grant_role("trainer@example.com", "trainer", env)
                token = client.post(
                    "/auth/login", data={"username": "trainer@example.com", "password": PASSWORD}
                ).json()["access_token"]
                headers = {"Authorization": f"Bearer {token}"}
                routine = {"name": "Squats", "movement": "squat", "published": True}
                routine["keypoints"] = phone_json(trainer_clip("squat"))
                client.post("/routines", headers=headers, json=routine).raise_for_status()
                clip = generate_clip(ClipRequest(seed=5, movement="squat", duration_s=10.0))
                user_body = {"routine_id": 1, "keypoints": phone_json(clip)}
                cases = _cases(client, url, headers, user_body, folder)
                results = {name: [] for name, _ in cases}
                baseline_name, baseline = cases[0]
                for _ in range(args.repeats):
                    for name, case in cases[1:]:
                        results[baseline_name].append(_measure(server.pid, baseline))
                        results[name].append(_measure(server.pid, case))
                alive = client.get("/readyz").status_code == 200
        finally:
            server.kill()
            server.wait(timeout=10)
    base_s = float(np.median([r[2] for r in results[baseline_name]]))
    rows = []
    for name, runs in results.items():
        growth, seconds = np.array([r[1] for r in runs]), np.array([r[2] for r in runs])
        rows.append(
            {
                "case": name,
                "answer": ",".join(sorted({r[0] for r in runs})),
                "runs": len(runs),
                "rss_growth_mb_min": round(float(growth.min()), 1),
                "rss_growth_mb_median": round(float(np.median(growth)), 1),
                "wall_ms_min": round(1000 * float(seconds.min()), 1),
                "wall_ms_median": round(1000 * float(np.median(seconds)), 1),
                "wall_vs_baseline": round(float(np.median(seconds)) / base_s, 2),
            }
        )
    rows.append({"case": "server ready after all cases", "answer": str(alive)})
    rows[-1] |= {key: "-" for key in rows[0] if key not in rows[-1]}
    report("hostile", "Hostile inputs: server RSS growth and wall time", rows, list(rows[0]))
    print(json.dumps({"pose_task": task is not None}))


if __name__ == "__main__":
    main()
