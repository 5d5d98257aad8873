"""The interactive API docs (``/v1/docs``), served whole by the API: Swagger UI's script,
style and icon come from the ``swagger-ui-bundle-v2`` package (Swagger UI 5, which reads
OpenAPI 3.1), not from a CDN, so the page works offline and loads nothing from
elsewhere. This is FastAPI's documented way to self-host the docs' assets."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

DOCS_URL = "/v1/docs"
ASSETS_URL = "/v1/docs-assets"
# Swagger UI would send the schema to validator.swagger.io for its validity badge.
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}


def install_docs(app: FastAPI) -> None:
    """Serve the docs page at :data:`DOCS_URL` and its assets under :data:`ASSETS_URL`
    (neither is an API operation: both stay out of the OpenAPI schema). The app must be
    made with ``docs_url=None``."""
    app.mount(ASSETS_URL, StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title=f"{app.title}: docs",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon-32x32.png",
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )
