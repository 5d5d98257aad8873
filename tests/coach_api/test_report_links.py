"""Shared report links: the owner gets a signed, short-lived link that opens the report
page without a bearer header; a link that is expired, altered, for another session, or
whose session or account is gone answers 404, like one that never existed.

The tests share one app with a routine and users' scored sessions (``scored``)."""

from __future__ import annotations

import base64
import json
import logging
import logging.config
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import jwt
import pytest

from coach_api.db import WorkoutSession
from coach_api.logging_config import log_config
from coach_api.report_links import AUDIENCE
from tests.coach_api.conftest import auth_headers, new_email, published_routine


class Scored(NamedTuple):
    """A user's scored session."""

    headers: dict
    session_id: int


@pytest.fixture(scope="module")
def client(shared_client):
    return shared_client


@pytest.fixture(scope="module")
def routine_id(client, trainer_payload) -> int:
    return published_routine(client, trainer_payload)


@pytest.fixture
def scored(client, routine_id, user_payload) -> Scored:
    """A new user's scored session."""
    headers = auth_headers(client, new_email())
    body = {"routine_id": routine_id, "keypoints": user_payload}
    response = client.post("/v1/sessions", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return Scored(headers, response.json()["id"])


def _link(client, scored: Scored) -> dict:
    response = client.post(f"/v1/sessions/{scored.session_id}/report-link", headers=scored.headers)
    assert response.status_code == 200, response.text
    return response.json()


def _claims(client, url: str) -> dict:
    """The claims of a link, read with the app's key."""
    key = client.app.state.settings.signing_key
    return jwt.decode(url.rsplit("/", 1)[1], key, algorithms=["HS256"], audience=AUDIENCE)


def _forged(client, claims: dict, key: str | None = None) -> str:
    """A link carrying ``claims``, signed with ``key`` (default: the app's own)."""
    token = jwt.encode(claims, key or client.app.state.settings.signing_key, algorithm="HS256")
    return f"/v1/shared/reports/{token}"


def _gone(client, url: str) -> None:
    """``url`` opens nothing: 404, the same answer as a link that never existed."""
    response = client.get(url)
    assert response.status_code == 404, response.text
    assert response.json()["error"] == {
        "code": "not_found",
        "message": "no such report link (links expire)",
        "field": "token",
    }


def test_the_owners_link_opens_the_page_without_a_header(client, scored):
    link = _link(client, scored)
    assert link["url"].startswith("/v1/shared/reports/")
    expires = datetime.fromisoformat(link["expires_at"])
    assert link["expires_at"].endswith("Z")
    assert abs(expires - datetime.now(UTC) - timedelta(minutes=15)) < timedelta(seconds=30)
    page = client.get(link["url"])  # no Authorization header
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f"session {scored.session_id}" in page.text and "data:image/png;base64," in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "private, no-store"


def test_only_the_owner_gets_a_link(client, scored):
    other = auth_headers(client, new_email("bob"))
    url = f"/v1/sessions/{scored.session_id}/report-link"
    assert client.post(url, headers=other).status_code == 404
    assert client.post(url).status_code == 401


def test_an_expired_link_is_gone(client, scored, monkeypatch):
    monkeypatch.setattr(client.app.state.settings, "report_link_minutes", -1)
    _gone(client, _link(client, scored)["url"])


def test_an_altered_link_is_gone(client, scored):
    url = _link(client, scored)["url"]
    header, _, signature = url.rsplit("/", 1)[1].split(".")
    claims = _claims(client, url)
    longer = {**claims, "exp": claims["exp"] + 86_400}  # a day more, without the key
    payload = base64.urlsafe_b64encode(json.dumps(longer).encode()).rstrip(b"=").decode()
    _gone(client, f"/v1/shared/reports/{header}.{payload}.{signature}")
    _gone(client, _forged(client, claims, key="not the app's key" * 3))
    _gone(client, "/v1/shared/reports/not-a-token")


def test_a_link_opens_its_own_session_only(client, scored, routine_id, user_payload):
    claims = _claims(client, _link(client, scored)["url"])
    others = auth_headers(client, new_email("bob"))
    body = {"routine_id": routine_id, "keypoints": user_payload}
    other_id = client.post("/v1/sessions", headers=others, json=body).json()["id"]
    _gone(client, _forged(client, {**claims, "sid": other_id}))  # someone else's session
    _gone(client, _forged(client, {**claims, "key": "0" * 64}))  # not the account's key


def test_links_and_bearer_tokens_are_not_interchangeable(client, scored):
    url = _link(client, scored)["url"]
    link_token = url.rsplit("/", 1)[1]
    me = client.get("/v1/me", headers={"Authorization": f"Bearer {link_token}"})
    assert me.status_code == 401
    _gone(client, f"/v1/shared/reports/{scored.headers['Authorization'].split()[1]}")


def test_deleting_the_session_kills_its_links(client, scored):
    url = _link(client, scored)["url"]
    with client.app.state.sessionmaker() as db:
        db.delete(db.get(WorkoutSession, scored.session_id))
        db.commit()
    _gone(client, url)


def test_deleting_the_account_kills_its_links(client, scored):
    url = _link(client, scored)["url"]
    assert client.delete("/v1/me", headers=scored.headers).status_code == 204
    _gone(client, url)


def test_the_link_operations_declare_their_errors(client):
    paths = client.get("/v1/openapi.json").json()["paths"]
    issue = paths["/v1/sessions/{session_id}/report-link"]["post"]
    shared = paths["/v1/shared/reports/{token}"]["get"]
    assert {"200", "401", "404", "422"} <= set(issue["responses"])
    assert "404" in shared["responses"] and "401" not in shared["responses"]
    assert "security" not in shared


def test_link_tokens_are_not_logged(capfd):
    logging.config.dictConfig(log_config())
    try:
        line = '{"path": "/v1/shared/reports/abc.def.ghi", "status": 200}'
        logging.getLogger("coach_api.requests").info(line)
        logged = capfd.readouterr().err
    finally:
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
    assert "abc.def.ghi" not in logged and "/v1/shared/reports/[redacted]" in logged
