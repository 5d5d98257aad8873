"""Running the API as a separate process on loopback: ``coach fuzz-api`` and
``coach demo`` (a free port), the benchmarks (``bench.api``, ``bench.hostile``) and the
restart tests. Not part of the service: it starts the server the way ``coach serve``
does."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from coach_api.settings import Settings


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(data_dir: Path, port: int, **settings: str) -> subprocess.Popen:
    """``uvicorn`` serving the API on ``port`` with ``COACH_DATA_DIR=data_dir`` and extra
    ``COACH_*`` settings (keyword names, upper-cased); returns once ``/v1/readyz`` answers."""
    env = {**os.environ, "COACH_DATA_DIR": str(data_dir)}
    env |= {f"COACH_{key.upper()}": str(value) for key, value in settings.items()}
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "coach_api.main:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--ws-max-size",  # as `coach serve` does
        str(Settings.model_fields["live_max_message_bytes"].default),
    ]
    server = subprocess.Popen(command, env=env)
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/readyz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            if server.poll() is not None:
                break
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("the API server did not start")
