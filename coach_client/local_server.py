"""Running the API as a separate process on loopback: ``coach demo`` and ``coach
fuzz-api`` (a free port and a throw-away data folder), the benchmarks (``bench.api``,
``bench.hostile``), and the tests that restart, kill or replicate the service's processes.

The server is the service's own command, ``python -m coach_api serve``, so it runs as an
operator's ``coach-api serve`` does (the live socket's message limit included); so is a
job worker (``python -m coach_api worker``); roles are granted with ``python -m coach_api
users grant`` under the same ``COACH_*`` environment. Nothing here imports ``coach_api``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_env(data_dir: Path, **settings: object) -> dict[str, str]:
    """This process's environment with ``COACH_DATA_DIR=data_dir`` and extra ``COACH_*``
    settings (keyword names, upper-cased): what the server and its operator commands see."""
    env = {**os.environ, "COACH_DATA_DIR": str(data_dir)}
    env |= {f"COACH_{key.upper()}": str(value) for key, value in settings.items()}
    return env


def start_server(
    data_dir: Path, port: int, cwd: Path | None = None, **settings: object
) -> subprocess.Popen:
    """``coach-api serve`` on ``127.0.0.1:port`` with :func:`server_env`'s environment
    (warnings only in its log); returns once ``/v1/readyz`` answers. ``cwd``: the folder it
    starts in; a source tree there is served instead of the installed package (a
    benchmark's baseline commit)."""
    command = [sys.executable, "-m", "coach_api", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--log-level", "warning"]
    server = subprocess.Popen(command, env=server_env(data_dir, **settings), cwd=cwd)
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


def start_worker(data_dir: Path, **settings: object) -> subprocess.Popen:
    """``coach-api worker`` with :func:`server_env`'s environment: it runs the jobs queued
    by servers started with ``job_worker="external"`` and the same queue and database
    settings. Returns at once: a worker serves nothing to wait for, it takes jobs from the
    queue once it has loaded its models."""
    command = [sys.executable, "-m", "coach_api", "worker"]
    return subprocess.Popen(command, env=server_env(data_dir, **settings))


def grant_role(email: str, role: str, env: Mapping[str, str] | None = None) -> None:
    """Give the account ``email`` the ``role``, as the operator's ``coach-api users grant``
    does, on the database the ``COACH_*`` variables of ``env`` name (default: this
    process's environment, i.e. the settings of a server started with none, such as
    ``make run`` from the same folder). RuntimeError with the command's message if it
    fails (e.g. no such account)."""
    command = [sys.executable, "-m", "coach_api", "users", "grant", email, "--role", role]
    environment = dict(os.environ if env is None else env)
    done = subprocess.run(command, env=environment, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(
            f"`coach-api users grant {email} --role {role}` failed:\n{done.stderr or done.stdout}"
        )
