"""Two API processes and one worker process on one database, queue and blob storage are
one service: an account registered on one replica logs in on the other, a job submitted
to one is run by the worker and read from the other (stored once), and the login limit
counts across both.

The production configuration (PostgreSQL and a Redis queue) and the embedded default (a
SQLite file and a SQLite queue in the data folder, one machine); rate limits live in
Redis in both, as the README's "Several replicas" asks. ``test_replicas.py`` shows the
same with in-process apps, and that limits kept in memory are per replica.
"""

from __future__ import annotations

import secrets
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import create_engine, text

from coach_api.accounts import grant_role_in
from coach_client.local_server import free_port, start_server, start_worker
from tests import postgres_server
from tests.conftest import tiny_lifter_checkpoint

pytestmark = pytest.mark.slow  # three real processes (and PostgreSQL): ~15 s a variant

EMAIL, PASSWORD = "ana@example.com", "correct horse"
LOGINS_PER_MINUTE = 3
# Another client address on the loopback interface (Linux routes all of 127/8 there): the
# login limit counts per client address, so a client from here has a budget of its own.
OTHER_ADDRESS = "127.0.0.2"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The data folder all three processes share: the blobs (routines' motion, jobs'
    inputs) and, in the SQLite variant, the database and the queue."""
    return tmp_path / "data"


@pytest.fixture
def shared_redis(redis_url: str) -> str:
    """The module's Redis server, emptied: no login counts or queued job ids left by the
    other variant."""
    with redis.Redis.from_url(redis_url) as client:
        client.flushdb()
    return redis_url


@dataclass
class Store:
    """Where the processes keep rows and queue jobs."""

    settings: dict[str, str]  # the COACH_* settings that say so (none: the default)
    database_url: str  # the database, for the test itself to grant roles and count rows


@pytest.fixture(params=["postgres", "sqlite"])
def store(request: pytest.FixtureRequest, data_dir: Path, shared_redis: str) -> Iterator[Store]:
    """A throwaway PostgreSQL database and the Redis queue (production), or the embedded
    default: a SQLite file and a SQLite queue in the data folder."""
    if request.param == "sqlite":
        yield Store({}, f"sqlite:///{data_dir / 'coach.db'}")
        return
    if not postgres_server.available():
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    # Not under tmp_path: as root the server runs as `postgres`, who may not enter pytest's
    # private temporary folders.
    with tempfile.TemporaryDirectory(prefix="coach-postgres-") as folder:
        server = postgres_server.PostgresServer(Path(folder))
        try:
            url = server.new_database()
            yield Store({"database_url": url, "job_queue_url": shared_redis}, url)
        finally:
            server.stop()


def _settings(tmp_path: Path, store: Store, redis_url: str) -> dict[str, object]:
    """Every process's settings: the store, a tiny lifter (fast start, fast job), a signing
    key and the rate-limit counters shared, and jobs left to the worker."""
    checkpoint = tiny_lifter_checkpoint(tmp_path, "replicas")
    return {
        **store.settings,
        "lifter_checkpoint": checkpoint,
        "secret_key": secrets.token_urlsafe(32),
        "rate_limit_storage": redis_url,
        "login_per_minute": LOGINS_PER_MINUTE,
        "job_worker": "external",
        # No lease runs out during the test, so no sweep resends the job: the worker must
        # run it from the message the API sent.
        "job_lease_s": 600,
    }


def _login(client: httpx.Client) -> httpx.Response:
    return client.post("/auth/login", data={"username": EMAIL, "password": PASSWORD})


def _wait_done(client: httpx.Client, headers: dict, job_id: int, seconds: float = 60) -> dict:
    """Poll ``/jobs/{job_id}`` until the job has ended (done, failed or cancelled)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = client.get(f"/jobs/{job_id}", headers=headers).json()
        if job["status"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not end in {seconds} s: {job}")


def _sessions_of_job(database_url: str, job_id: int) -> int:
    """How many sessions job ``job_id`` stored."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as db:
            query = text("SELECT COUNT(*) FROM sessions WHERE job_id = :job")
            return db.execute(query, {"job": job_id}).scalar_one()
    finally:
        engine.dispose()


def _client(port: int, **options: object) -> httpx.Client:
    return httpx.Client(base_url=f"http://127.0.0.1:{port}/v1", timeout=60, **options)


def _one_account_on_both(a: httpx.Client, b: httpx.Client, data_dir: Path) -> dict:
    """Register on A, log in on B, use B's token on A; returns the token's headers."""
    registered = a.post("/auth/register", json={"email": EMAIL, "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    login = _login(b)
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    assert a.get("/me", headers=headers).json()["email"] == EMAIL
    # Signed with the shared COACH_SECRET_KEY, not a key file both read from the folder.
    assert not (data_dir / "secret.key").exists()
    return headers


def _login_limit_holds_on_both(a: httpx.Client, b: httpx.Client, port_b: int) -> None:
    """After one login (on B), the rest of this address's login budget spent on A: B
    refuses the address too, and still serves another address."""
    spent = [_login(a).status_code for _ in range(LOGINS_PER_MINUTE - 1)]
    assert spent == [200] * (LOGINS_PER_MINUTE - 1)
    refused = _login(b)
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    # Only that address's budget is spent (nor is B broken, nor the account locked).
    other = httpx.HTTPTransport(local_address=OTHER_ADDRESS)
    with _client(port_b, transport=other) as elsewhere:
        assert _login(elsewhere).status_code == 200


def _job_from_a_done_and_read_on_b(
    a: httpx.Client, b: httpx.Client, headers: dict, store: Store, trainer: dict, user: dict
) -> None:
    """A routine and a session job submitted to A, run by the worker (neither API runs
    jobs), followed and read on B; the job stored one session."""
    grant_role_in(store.database_url, EMAIL, "trainer")
    body = {"name": "Squats", "movement": "squat", "keypoints": trainer}
    routine = a.post("/routines", headers=headers, json=body)
    assert routine.status_code == 201, routine.text
    body = {"routine_id": routine.json()["id"], "keypoints": user}
    submitted = a.post("/session-jobs", headers=headers, json=body)
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["id"]
    job = _wait_done(b, headers, job_id)
    assert (job["status"], job["attempts"]) == ("done", 1), job
    session = b.get(f"/sessions/{job['session_id']}", headers=headers)
    assert session.status_code == 200, session.text
    assert 0 <= session.json()["report"]["score"] <= 100
    assert _sessions_of_job(store.database_url, job_id) == 1
    assert a.get("/sessions", headers=headers).json()["total"] == 1


def test_two_api_processes_and_a_worker_are_one_service(
    tmp_path, data_dir, store, shared_redis, trainer_payload, user_payload
):
    settings = _settings(tmp_path, store, shared_redis)
    processes: list[subprocess.Popen] = []
    try:
        # A first: it migrates the database (a SQLite file has no lock to let two replicas
        # do it at once), then the worker loads its models while B starts.
        port_a = free_port()
        processes.append(start_server(data_dir, port_a, **settings))
        processes.append(start_worker(data_dir, **settings))
        port_b = free_port()
        processes.append(start_server(data_dir, port_b, **settings))
        with _client(port_a) as a, _client(port_b) as b:
            headers = _one_account_on_both(a, b, data_dir)
            _login_limit_holds_on_both(a, b, port_b)
            _job_from_a_done_and_read_on_b(a, b, headers, store, trainer_payload, user_payload)
    finally:
        for process in processes:
            process.kill()
            process.wait(timeout=10)
