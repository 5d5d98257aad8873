"""Two API replicas behind one database act as one service: a token from one works on
the other, and rate limits count across both when their counters are in Redis."""

from __future__ import annotations

from fastapi.testclient import TestClient

from coach_api.main import create_app

LOGINS_PER_MINUTE = 2


def _replicas(settings, storage: str):
    """Two apps on the same database and secret, with ``storage`` for rate limits."""
    settings.rate_limit_storage = storage
    settings.login_per_minute = LOGINS_PER_MINUTE
    return TestClient(create_app(settings)), TestClient(create_app(settings))


def _login(client: TestClient):
    form = {"username": "ana@example.com", "password": "correct horse"}
    return client.post("/v1/auth/login", data=form)


def test_limits_in_redis_hold_across_replicas(settings, redis_url):
    first, second = _replicas(settings, redis_url)
    with first, second:
        body = {"email": "ana@example.com", "password": "correct horse"}
        assert first.post("/v1/auth/register", json=body).status_code == 201
        logins = [_login(first) for _ in range(LOGINS_PER_MINUTE)]
        assert [r.status_code for r in logins] == [200] * LOGINS_PER_MINUTE
        refused = _login(second)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        # One service: the token the first replica issued works on the second.
        token = logins[0].json()["access_token"]
        me = second.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["email"] == "ana@example.com"


def test_limits_in_memory_are_per_replica(settings):
    """Why replicas need the shared storage: each replica counts alone."""
    first, second = _replicas(settings, "memory://")
    with first, second:
        body = {"email": "ana@example.com", "password": "correct horse"}
        assert first.post("/v1/auth/register", json=body).status_code == 201
        logins = [_login(first).status_code for _ in range(LOGINS_PER_MINUTE + 1)]
        assert logins == [200] * LOGINS_PER_MINUTE + [429]
        assert _login(second).status_code == 200
