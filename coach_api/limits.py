"""HTTP middleware: the request-body limit of each endpoint (enforced while the body is
read, not only from Content-Length, and for gzip bodies again while it is decompressed) and
the security headers of every response."""

from __future__ import annotations

import anyio
from fastapi import HTTPException
from starlette.datastructures import Headers

from coach_api.body_limits import BodyLimit, BodyLimits
from coach_api.gzip_body import BoundedGunzip, GzipError, TooLarge

GZIP = ("gzip", "x-gzip")  # x-gzip: the old name, the same coding (RFC 9110)
IDENTITY = ("", "identity")


class BodySizeLimit:
    """ASGI middleware: a request's body within its route's limit (:mod:`~coach_api.
    body_limits`).

    The limit is applied when the app first asks for the body, once routing has named the
    route (a body the app never reads, e.g. after a 401, is never read at all). The body
    is then read here chunk by chunk (chunked uploads have no Content-Length) and handed
    on whole, decompressed when ``Content-Encoding: gzip``, so the app never sees a
    truncated body and memory stays bounded by the limit; file uploads are handed on as
    they arrive, counted. Past the limit: 413; another encoding: 415; broken gzip: 400,
    raised as HTTP errors so that the app answers them in its one error shape.
    """

    def __init__(self, app, settings) -> None:
        self.app, self.limits = app, BodyLimits.from_settings(settings)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        await self.app(scope, _LimitedBody(scope, receive, self.limits), send)


class _LimitedBody:
    """One request's ``receive``, within the limit of the route it was routed to."""

    def __init__(self, scope, receive, limits: BodyLimits) -> None:
        self.scope, self.receive, self.limits = scope, receive, limits
        self.limit: BodyLimit | None = None  # known at the first call, after routing
        self.size = 0  # body bytes received so far

    async def __call__(self) -> dict:
        if self.limit is None:
            self.limit = self.limits.for_route(self.scope.get("route"))
            gzip = self._check_headers()
            if not self.limit.streamed:
                return await self._whole(gzip)
        return await self._counted()

    def _check_headers(self) -> bool:
        """Refuse a declared length over the limit and unknown encodings; whether the body
        is gzip."""
        headers = Headers(scope=self.scope)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit.max_bytes:
            raise self._too_large()
        encoding = headers.get("content-encoding", "").strip().lower()
        if encoding in IDENTITY:
            return False
        if encoding in GZIP and not self.limit.streamed:
            return True
        accepted = "no encoding" if self.limit.streamed else "gzip or no encoding"
        raise HTTPException(
            415, f"Content-Encoding {encoding[:40]!r} is not accepted here; send {accepted}"
        )

    async def _counted(self) -> dict:
        """The next message as it comes, its body counted against the limit."""
        message = await self.receive()
        if message["type"] == "http.request":
            self.size += len(message.get("body", b""))
            if self.size > self.limit.max_bytes:
                raise self._too_large()
        return message

    async def _whole(self, gzip: bool) -> dict:
        """The whole body in one message (decompressed if ``gzip``), or the disconnect."""
        inflater = BoundedGunzip(self.limit.max_bytes) if gzip else None
        pieces = []
        more = True
        while more:
            message = await self._counted()
            if message["type"] != "http.request":
                return message  # the client went away
            chunk, more = message.get("body", b""), message.get("more_body", False)
            if inflater is None:
                pieces.append(chunk)
                continue
            try:
                for piece in inflater.feed(chunk):
                    pieces.append(piece)
                    await anyio.lowlevel.checkpoint()  # other requests go between slices
                if not more:
                    inflater.finish()
            except TooLarge:
                raise self._too_large("decompressed, ") from None
            except GzipError as exc:
                raise HTTPException(400, f"the body is not valid gzip: {exc}") from None
        return {"type": "http.request", "body": b"".join(pieces), "more_body": False}

    def _too_large(self, how: str = "") -> HTTPException:
        limit = self.limit
        return HTTPException(413, f"{how}the {limit.what} exceeds {limit.max_bytes} bytes")


class SecurityHeaders:
    """ASGI middleware: headers every response carries, so that browsers never sniff a
    download into a page, and no page of ours is framed or leaks its URL onward."""

    HEADERS = (
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
    )

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)
