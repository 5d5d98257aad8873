"""A throwaway Redis server for the tests that need one (shared state across replicas).

Started from the Debian package's ``redis-server`` on 127.0.0.1 and a free port, without
persistence; the tests that use it are skipped where it is not installed (``.ci/run``
installs it).
"""

from __future__ import annotations

import shutil
import subprocess
import time

import redis

from coach_client.local_server import free_port


def available() -> bool:
    """Whether a Redis server can be started here."""
    return shutil.which("redis-server") is not None


class RedisServer:
    """A running server; :meth:`stop` ends it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not start")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
