"""What a browser needs: the docs page works offline (Swagger UI served by the API, no
CDN), and a Flutter Web page of an allowed origin may call the API (CORS), others not."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from coach_api.main import create_app
from coach_api.settings import Settings

APP_ORIGIN = "https://app.example.com"
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type, content-encoding",
}
ASSET_TYPES = {".js": ("text/javascript", "application/javascript"), ".css": ("text/css",)}


def test_the_docs_page_loads_nothing_from_elsewhere(shared_client):
    page = shared_client.get("/v1/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "SwaggerUIBundle" in page.text and "'/v1/openapi.json'" in page.text
    assert not re.search(r"https?://", page.text), "the page names another server"
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert {a.rsplit(".", 1)[1] for a in assets} == {"js", "css", "png"}
    for asset in assets:
        assert asset.startswith("/v1/docs-assets/"), asset
        served = shared_client.get(asset)
        assert served.status_code == 200, asset
        kind = served.headers["content-type"].split(";")[0]
        suffix = asset[asset.rindex(".") :]
        assert kind in ASSET_TYPES.get(suffix, ("image/png",)), (asset, kind)
        if suffix == ".css":  # what the style loads in turn is inline too
            assert all(u.startswith("data:") for u in re.findall(r"url\(\"?([^\")]*)", served.text))


def test_the_docs_are_no_operations(shared_client):
    paths = shared_client.get("/v1/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith("/v1/docs")]
    assert shared_client.get("/v1/docs-assets/no-such-file.js").status_code == 404


@pytest.fixture
def cors_client(settings):
    """An app that lets pages of APP_ORIGIN call it."""
    settings.cors_origins = [APP_ORIGIN]
    with TestClient(create_app(settings)) as client:
        yield client


def test_an_allowed_origin_may_call_the_api(cors_client):
    preflight = cors_client.options("/v1/sessions", headers={"Origin": APP_ORIGIN, **PREFLIGHT})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "POST" in preflight.headers["access-control-allow-methods"]
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "content-encoding", "x-app-version"} <= set(
        allowed.split(", ")
    )
    # The answer itself (an error too) is readable by the page, with its request id.
    answer = cors_client.get("/v1/me", headers={"Origin": APP_ORIGIN})
    assert answer.status_code == 401
    assert answer.headers["access-control-allow-origin"] == APP_ORIGIN
    exposed = answer.headers["access-control-expose-headers"].lower().split(", ")
    assert {"x-request-id", "x-model-version", "x-model-champion"} <= set(exposed)


def test_another_origin_gets_no_cors_headers(cors_client):
    other = {"Origin": "https://evil.example"}
    preflight = cors_client.options("/v1/sessions", headers={**other, **PREFLIGHT})
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    answer = cors_client.get("/v1/healthz", headers=other)
    assert answer.status_code == 200 and "access-control-allow-origin" not in answer.headers


def test_no_origin_is_allowed_by_default(shared_client):
    assert Settings.model_fields["cors_origins"].default == []
    headers = {"Origin": APP_ORIGIN, **PREFLIGHT}
    preflight = shared_client.options("/v1/sessions", headers=headers)
    assert preflight.status_code == 405
    assert not [h for h in preflight.headers if h.startswith("access-control-")]


def test_origins_are_set_comma_separated_in_the_environment(monkeypatch):
    monkeypatch.setenv("COACH_CORS_ORIGINS", f"{APP_ORIGIN}, http://localhost:5000")
    assert Settings().cors_origins == [APP_ORIGIN, "http://localhost:5000"]
