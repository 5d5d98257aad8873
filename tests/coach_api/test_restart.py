"""Kill the server while sessions are being submitted; restart; nothing committed is lost."""

from __future__ import annotations

import signal
import sqlite3
import threading
import time

import httpx
import pytest

from coach_api.accounts import grant_role_in
from coach_client.local_server import free_port, start_server
from tests.conftest import tiny_lifter_checkpoint

pytestmark = pytest.mark.slow  # a real server process, killed and restarted


def test_killed_server_loses_no_committed_session(tmp_path, trainer_payload, user_payload):
    checkpoint = tiny_lifter_checkpoint(tmp_path, "restart")
    data, port = tmp_path / "data", free_port()
    url = f"http://127.0.0.1:{port}/v1"
    server = start_server(
        data, port, lifter_checkpoint=checkpoint, rate_per_minute=100000, rate_burst=100000
    )
    try:
        client = httpx.Client(base_url=url, timeout=60)
        client.post("/auth/register", json={"email": "a@example.com", "password": "long password"})
        grant_role_in(f"sqlite:///{data / 'coach.db'}", "a@example.com", "trainer")
        token = client.post(
            "/auth/login", data={"username": "a@example.com", "password": "long password"}
        ).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        routine = client.post(
            "/routines",
            headers=headers,
            json={"name": "s", "movement": "squat", "keypoints": trainer_payload},
        ).json()
        committed: list[int] = []

        def submit():
            with httpx.Client(base_url=url, timeout=60) as own:
                while True:
                    try:
                        response = own.post(
                            "/sessions",
                            headers=headers,
                            json={"routine_id": routine["id"], "keypoints": user_payload},
                        )
                    except httpx.HTTPError:
                        return
                    if response.status_code == 201:
                        committed.append(response.json()["id"])

        threads = [threading.Thread(target=submit) for _ in range(3)]
        for thread in threads:
            thread.start()
        deadline = time.time() + 60
        while len(committed) < 4 and time.time() < deadline:
            time.sleep(0.05)
        server.send_signal(signal.SIGKILL)  # mid-load: requests are in flight
        server.wait(timeout=10)
        for thread in threads:
            thread.join(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    assert len(committed) >= 4
    server = start_server(
        data, port, lifter_checkpoint=checkpoint, rate_per_minute=100000, rate_burst=100000
    )
    try:
        stored = httpx.get(f"{url}/sessions?limit=100", headers=headers, timeout=30).json()
        ids = {item["id"] for item in stored["items"]}
        assert set(committed) <= ids
    finally:
        server.terminate()
        server.wait(timeout=30)
    connection = sqlite3.connect(data / "coach.db")
    assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    blobs = {row[0] for row in connection.execute("SELECT blob FROM sessions")}
    assert all((data / "blobs" / name).is_file() for name in blobs)  # no row without its motion
