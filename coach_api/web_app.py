"""The web app (``GET /app``): one page and its built script and style, served from the
package (``coach_api/web/static``, built from ``web/`` by ``npm run build`` and
committed), so the API needs no npm and loads nothing from elsewhere.

The page runs only its own script: the Content-Security-Policy allows scripts, styles,
images and API calls from this origin alone, no inline script or style attribute, no
framing; of the device's features it may use the camera alone. The files' names do not
change between builds, so browsers revalidate them each time (``no-cache`` with the ETag
StaticFiles sends: a 304 while unchanged).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

STATIC_DIR = Path(__file__).parent / "web" / "static"
APP_URL = "/app"
STATIC_URL = "/app/static"

APP_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; media-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    ),
    # The page may record the camera (a session filmed in the browser), nothing else of
    # the device; no other origin may ask for the camera through it.
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
    "Cache-Control": "no-cache",
}


class _AppFiles(StaticFiles):
    """The built files with :data:`APP_HEADERS`."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(APP_HEADERS)
        return response


def install_web_app(app: FastAPI) -> None:
    """Serve the page at :data:`APP_URL` and its files under :data:`STATIC_URL` (neither
    is an API operation: both stay out of the OpenAPI schema)."""
    app.mount(STATIC_URL, _AppFiles(directory=STATIC_DIR), name="web-app")

    @app.get(APP_URL, include_in_schema=False)
    def web_app() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers=APP_HEADERS)

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        """The server's address opens the app (the API lives under /v1)."""
        return RedirectResponse(APP_URL, status_code=307)
