"""The web app as the API serves it: the page and its files with a strict
Content-Security-Policy, and a committed bundle built from today's sources."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from coach_api.main import create_app
from coach_api.web_app import STATIC_DIR
from tests.coach_api.conftest import app_settings

WEB = Path(__file__).resolve().parents[2] / "web"


def sources_digest() -> str:
    """What ``web/build.mjs`` stamps on the bundle: SHA-256 over every file under
    web/src (sorted by path), the lock file and the build script, each as its path, its
    byte length and its bytes."""
    names = sorted(p.relative_to(WEB).as_posix() for p in (WEB / "src").rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for name in [*names, "package-lock.json", "build.mjs"]:
        data = (WEB / name).read_bytes()
        digest.update(f"{name}\n{len(data)}\n".encode())
        digest.update(data)
    return digest.hexdigest()


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with TestClient(create_app(app_settings(tmp_path_factory.mktemp("web")))) as test_client:
        yield test_client


def test_the_committed_bundle_is_built_from_todays_sources():
    stamp = f"coach-web sources sha256:{sources_digest()}"
    for name in ("app.js", "app.css", "index.html"):
        first_line = (STATIC_DIR / name).read_text().splitlines()[0]
        assert stamp in first_line, f"coach_api/web/static/{name} is stale: cd web && npm run build"
    assert (STATIC_DIR / "icon.svg").read_bytes() == (WEB / "src" / "icon.svg").read_bytes()


def test_the_page_loads_only_its_own_files(client):
    response = client.get("/app")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert "media-src 'self' blob:" in policy  # the camera's preview, a kept video
    # The page itself may ask for the camera (recording a session), for nothing else.
    assert response.headers["permissions-policy"] == "camera=(self), microphone=(), geolocation=()"
    assert response.headers["cache-control"] == "no-cache"
    page = response.text
    assert '<meta name="viewport"' in page
    # No inline script or style: every script and stylesheet is a file of ours.
    assert re.findall(r"<script\b[^>]*>", page) == [
        '<script type="module" src="/app/static/app.js">'
    ]
    assert "<style" not in page and " style=" not in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page), "nothing from another server"


@pytest.mark.parametrize(("name", "kind"), [("app.js", "javascript"), ("app.css", "text/css")])
def test_the_files_are_served_with_the_policy_and_revalidated(client, name, kind):
    response = client.get(f"/app/static/{name}")
    assert response.status_code == 200
    assert kind in response.headers["content-type"]
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-cache"
    again = client.get(f"/app/static/{name}", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


def test_the_bundle_fetches_nothing_from_elsewhere():
    script = (STATIC_DIR / "app.js").read_text()
    assert not re.search(r"fetch\(\s*[\"'`]https?://", script)
    assert "/v1" in script  # it calls this API, on this origin


def test_unknown_files_are_404_and_the_app_is_not_an_api_operation(client):
    assert client.get("/app/static/nope.js").status_code == 404
    assert client.get("/app/static/../main.py").status_code == 404
    paths = client.get("/v1/openapi.json").json()["paths"]
    assert not any(path.startswith("/app") for path in paths)


def test_the_servers_address_opens_the_app(client):
    answer = client.get("/", follow_redirects=False)
    assert answer.status_code == 307 and answer.headers["location"] == "/app"
    assert "/" not in client.get("/v1/openapi.json").json()["paths"]
