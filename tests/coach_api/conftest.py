"""Test apps on temporary data folders with a tiny lifter, and keypoint payloads.

Two clients: ``client`` is a fresh app and database per test (for tests that count what
is stored, expect ids from 1, restart the app or change its settings); ``shared_client``
is one app per test module for tests that need no fresh database: they register their
own users (:func:`new_email`) and change settings only through ``monkeypatch``.

With ``COACH_TEST_POSTGRES=1`` (``make test`` sets it for its second pass) every test app
keeps its rows in a database of its own on a throwaway PostgreSQL server instead of a
SQLite file: the same tests, on the production database.
"""

from __future__ import annotations

import itertools
import os
import tempfile
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from coach_api.accounts import grant_role
from coach_api.main import create_app
from coach_api.settings import Settings
from tests import redis_server
from tests.conftest import tiny_lifter_checkpoint
from tests.dataflow_jobs.conftest import gcs_emulator  # noqa: F401 - the GCS emulator fixture
from tests.postgres_server import PostgresServer

ON_POSTGRES = os.environ.get("COACH_TEST_POSTGRES") == "1"
_POSTGRES: list[PostgresServer] = []  # the session's server, once started


@pytest.fixture(scope="session", autouse=True)
def _postgres_server():
    """The throwaway PostgreSQL server of a ``COACH_TEST_POSTGRES=1`` run."""
    if not ON_POSTGRES:
        yield
        return
    with tempfile.TemporaryDirectory(prefix="coach-postgres-") as folder:
        _POSTGRES.append(PostgresServer(Path(folder)))
        try:
            yield
        finally:
            _POSTGRES.pop().stop()


def fresh_database_url() -> str:
    """A fresh database on the PostgreSQL server in a ``COACH_TEST_POSTGRES=1`` run, else
    "" (the app's SQLite file in its data folder)."""
    return _POSTGRES[0].new_database() if ON_POSTGRES else ""


@pytest.fixture(scope="module")
def redis_url():
    """The URL of a throwaway Redis server for the module's replica tests (skipped where
    ``redis-server`` is not installed)."""
    if not redis_server.available():
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    server = redis_server.RedisServer()
    try:
        yield server.url
    finally:
        server.stop()


def app_settings(folder: Path) -> Settings:
    """Settings of a test app keeping its data under ``folder``, with a tiny causal lifter."""
    checkpoint = tiny_lifter_checkpoint(folder, "api-test")
    return Settings(
        data_dir=folder / "data",
        database_url=fresh_database_url(),
        lifter_checkpoint=checkpoint,
        live_burst_s=60.0,  # tests stream whole clips at once
        # Every test client is one address: sign-up and login limits are tested on their own.
        signup_per_minute=1000.0,
        login_per_minute=1000.0,
    )


@pytest.fixture
def settings(tmp_path):
    return app_settings(tmp_path)


@pytest.fixture
def client(settings):
    """A fresh app and database for this test."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def shared_client(tmp_path_factory):
    """One app and database for the module's tests that need no fresh one."""
    settings = app_settings(tmp_path_factory.mktemp("shared-app"))
    with TestClient(create_app(settings)) as test_client:
        yield test_client


_EMAIL_NUMBERS = itertools.count(1)


def new_email(name: str = "ana") -> str:
    """An address no other test registered: ``name-N@example.com``."""
    return f"{name}-{next(_EMAIL_NUMBERS)}@example.com"


def grant(client: TestClient, email: str, role: str) -> None:
    """Give an account a role, as the operator's ``coach users grant`` does."""
    with client.app.state.sessionmaker() as db:
        grant_role(db, email, role)


def auth_headers(client: TestClient, email: str = "ana@example.com", role: str = "user") -> dict:
    """Register ``email`` (granted ``role`` if not a plain user) and log in."""
    registered = client.post(
        "/v1/auth/register", json={"email": email, "password": "correct horse"}
    )
    assert registered.status_code == 201, registered.text
    if role != "user":
        grant(client, email, role)
    token = client.post(
        "/v1/auth/login", data={"username": email, "password": "correct horse"}
    ).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def wait_job(client: TestClient, headers: dict, job_id: int) -> dict:
    """Poll ``/v1/jobs/{job_id}`` until it has ended: done, failed or cancelled (30 s at
    most)."""
    for _ in range(600):
        job = client.get(f"/v1/jobs/{job_id}", headers=headers).json()
        if job["status"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.05)
    raise AssertionError("job did not finish")


def published_routine(client: TestClient, trainer_payload: dict) -> int:
    """The id of a published squat routine made by a new trainer."""
    trainer = auth_headers(client, new_email("coach"), role="trainer")
    body = {"name": "Squats", "movement": "squat", "keypoints": trainer_payload, "published": True}
    response = client.post("/v1/routines", headers=trainer, json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]
