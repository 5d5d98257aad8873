"""Live coaching over a WebSocket: frames in, 3D poses and per-repetition cues out.

Protocol (JSON text messages; models in :mod:`coach_api.live_messages`, schema generated
from them in ``docs/live-messages.schema.json``):

1. client -> ``{"type": "start", "token": JWT, "routine_id", "layout", "fps",
   "image_width", "image_height", "strictness"?, "beat_times"?}`` within
   ``COACH_LIVE_AUTH_TIMEOUT_S`` of connecting (``beat_times``: for a routine to music,
   when the music's beats play, in seconds from the first frame). The token goes in this
   message only: URLs are written to access logs, so a ``token`` query parameter is
   refused (``token_in_url``) without being looked at. The routine must be the user's
   own or a published one. Unknown keys are refused.
2. server -> ``{"type": "ready", "receptive_field", "model_version"}``
3. client -> ``{"type": "frames", "frames": [[[x, y, score], ...], ...]}`` small batches
4. server -> ``{"type": "progress", "frames": n}`` per batch, and when a repetition
   completes ``{"type": "rep", "rep": k, "start_s", "end_s", "errors": [...]}``
5. client -> ``{"type": "stop"}``; the session is stored like a recorded one (report and
   motion; in ``GET /v1/sessions``), then server -> ``{"type": "summary", "session_id",
   "report": {...}}``. A socket that ends any other way stores nothing.

Errors are ``{"type": "error", "error": {"code", "message", "field"?}}``; the socket is
then closed, with code 1008 for what the client did and 1011 (``internal_error``) for a
failure of the server. Every message is checked before it is used: text only
(``protocol``), at most ``COACH_LIVE_MAX_MESSAGE_BYTES`` (``message_too_large``), JSON
nested at most ``MAX_DEPTH`` levels (``invalid_json``). A socket silent for
``COACH_LIVE_IDLE_TIMEOUT_S`` after the start is closed (``idle_timeout``), as is one
whose start message does not come in time (``auth_timeout``); ``too_fast`` when frames
arrive faster than real time: more than ``COACH_LIVE_MAX_SPEED`` x fps after
``COACH_LIVE_BURST_S`` seconds of catch-up.

The start message is validated whole (:class:`~coach_api.live_messages.LiveStart`), and
every message sent is built from its model. This module keeps the protocol; the stream's
state, lifting and judging are :class:`scoring.live.LiveSession`'s. Lifting runs the
causal model frame by frame (bounded memory): small batches on the event loop, larger
ones in the worker pool. Finished repetitions are looked for every half second in the
background, on a thread of their own: the socket keeps taking frames while a rep is
scored, and ``rep`` messages may arrive a few batches after the rep ended (always before
the summary).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import NamedTuple, get_args

import anyio
from fastapi import APIRouter, FastAPI, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ValidationError
from starlette.websockets import WebSocketState

from coach_api.access import usable_routine
from coach_api.db import Routine, User
from coach_api.deps import MAX_ID, user_for_token
from coach_api.errors import ApiError
from coach_api.live_messages import LiveError, LiveStart, Progress, Ready, Rep, Summary
from coach_api.openapi_errors import ErrorDetail
from coach_api.persistence import live_input, store_session
from coach_api.report_models import SessionReportOut, Strictness
from coach_api.services import Engine
from coach_api.settings import Settings
from pose3d.sequence_json import SequenceFormatError
from scoring.live import LiveModels, LiveSession, LiveSummary, TooFewFrames

logger = logging.getLogger("coach_api")
router = APIRouter()
# Batches up to this many frames are lifted on the event loop (a few milliseconds): with
# many streams, handing each to the worker pool cost more in queueing and thread switches
# than the lifting itself (docs/design-notes.md, coach_api). Larger batches go to the pool.
INLINE_FRAMES = 10
# Nesting levels a message may have: a frames message has 4 ({"frames": [[[x, y, s]]]}).
# Deeper values could exhaust the recursion limit wherever they are printed or walked.
MAX_DEPTH = 6
STRICTNESS = get_args(Strictness)


def _too_large(text: str, limit: int) -> bool:
    """Whether ``text`` is over ``limit`` bytes in UTF-8. A character is 1 to 4 bytes, so
    the text is encoded only when its length alone cannot tell."""
    if len(text) > limit:
        return True
    return len(text) * 4 > limit and len(text.encode("utf-8", "surrogatepass")) > limit


def _depth_exceeds(value: object, limit: int) -> bool:
    """Whether ``value`` (decoded JSON) nests more than ``limit`` lists or objects deep.
    Iterative, so it cannot hit the recursion limit itself."""
    pending = [(value, 1)] if isinstance(value, list | dict) else []
    while pending:
        container, depth = pending.pop()
        if depth > limit:
            return True
        children = container.values() if isinstance(container, dict) else container
        pending.extend((child, depth + 1) for child in children if isinstance(child, list | dict))
    return False


def _decode(text: str) -> object:
    """The JSON value of a message; ApiError ``invalid_json`` naming what is wrong."""
    too_deep = ApiError(400, "invalid_json", f"messages nest at most {MAX_DEPTH} levels deep")
    try:
        value = json.loads(text)
    except RecursionError:  # the C decoder recurses per level: 5,000 "[" exhaust it
        raise too_deep from None
    except json.JSONDecodeError as exc:
        message = f"the message is not JSON: {exc.msg} at character {exc.pos}"
        raise ApiError(400, "invalid_json", message) from None
    except ValueError:  # an integer over Python's 4,300-digit conversion limit
        message = "a number in the message has too many digits"
        raise ApiError(400, "invalid_json", message) from None
    if _depth_exceeds(value, MAX_DEPTH):
        raise too_deep
    return value


async def _receive(websocket: WebSocket, timeout_s: float, on_timeout: ApiError) -> object:
    """The next message, decoded: text JSON, checked for size and nesting before use.

    Raises ``on_timeout`` when nothing arrives within ``timeout_s``, WebSocketDisconnect
    when the client left, and ApiError for a binary, oversized or malformed message.
    """
    try:
        with anyio.fail_after(timeout_s):
            message = await websocket.receive()
    except TimeoutError:
        raise on_timeout from None
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    text = message.get("text")
    if text is None:
        raise ApiError(400, "protocol", "messages are JSON text; binary frames are refused")
    limit = websocket.app.state.settings.live_max_message_bytes
    if _too_large(text, limit):
        raise ApiError(413, "message_too_large", f"messages are limited to {limit} bytes")
    return _decode(text)


def _invalid(message: str, field: str | None = None) -> ApiError:
    return ApiError(422, "invalid_input", message, field)


START_KEYS = frozenset(LiveStart.model_fields)
# The socket's answer when pydantic refused one of these fields, in the order they are
# reported (the first wrong one): status, code, message.
_FIELD_ERRORS = {
    "token": (401, "unauthorized", "a valid token is required in the start message"),
    "routine_id": (422, "invalid_input", f"routine_id must be a routine id (1 to {MAX_ID})"),
    "strictness": (422, "invalid_input", f"strictness must be one of {', '.join(STRICTNESS)}"),
    "beat_times": (422, "invalid_input", "beat_times must be a list of seconds"),
}


def _check_start(start: object) -> LiveStart:
    """The start message, every field validated (``fps`` a float, the image size ints);
    ApiError naming the first that is wrong."""
    try:
        return LiveStart.model_validate(start)
    except ValidationError as exc:
        raise _start_error(exc) from None


def _start_error(exc: ValidationError) -> ApiError:
    """The first problem pydantic found, as the socket reports it: not a start message,
    then an unknown key, then the fields in the order of ``_FIELD_ERRORS``."""
    errors = exc.errors()
    unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden")
    fields = {str(e["loc"][0]) if e["loc"] else "" for e in errors}
    if "" in fields or "type" in fields:  # not an object, or not {"type": "start"}
        return ApiError(400, "protocol", "the first message must be {'type': 'start', ...}")
    if unknown:
        expected = ", ".join(sorted(START_KEYS))
        message = f"unknown key in the start message (expected only {expected})"
        return _invalid(message, unknown[0][:40])
    for field, (status, code, message) in _FIELD_ERRORS.items():
        if field in fields:
            return ApiError(status, code, message, field)
    return _invalid(errors[0]["msg"])  # pydantic checks no other field


def _authorize(app: FastAPI, token: str, routine_id: int) -> tuple[int, Routine]:
    """The token's user id and the routine, if the user may stream against it (theirs or
    published)."""
    with app.state.sessionmaker() as db:
        user = user_for_token(db, token, app.state.settings)
        if user is None:
            raise ApiError(
                401, "unauthorized", "a valid token is required in the start message", "token"
            )
        # A routine the user may not see answers exactly like one that does not exist.
        return user.id, usable_routine(db, user, routine_id)


def _refuse_token_in_url(websocket: WebSocket) -> None:
    """The token travels in the start message only: URLs end up in access logs."""
    if "token" in websocket.query_params:
        raise ApiError(
            400,
            "token_in_url",
            "send the token in the start message, not in the URL: URLs are logged",
            "token",
        )


async def _receive_start(websocket: WebSocket, settings: Settings) -> LiveStart:
    """The start message, validated, if it comes within ``live_auth_timeout_s``."""
    late = ApiError(
        408,
        "auth_timeout",
        f"the start message (with the token) must come within {settings.live_auth_timeout_s:g} s",
    )
    return _check_start(await _receive(websocket, settings.live_auth_timeout_s, late))


class _Workout(NamedTuple):
    """A started stream: its state, and whose it is (the session is stored under them)."""

    session: LiveSession
    user_id: int
    routine: Routine


async def _send(websocket: WebSocket, message: BaseModel) -> None:
    """Send a server message as its model serialises it (an error's ``field`` is left
    out when there is none)."""
    await websocket.send_text(message.model_dump_json(exclude_none=True))


async def _start(websocket: WebSocket, engine: Engine) -> _Workout:
    """Take the start message (token, routine, stream header), answer ``ready``."""
    app = websocket.app
    settings: Settings = app.state.settings
    _refuse_token_in_url(websocket)
    start = await _receive_start(websocket, settings)
    # The database is not asked on the event loop (a slow query would stall every stream).
    user_id, routine = await anyio.to_thread.run_sync(
        _authorize, app, start.token, start.routine_id
    )
    if not engine.lifter.causal:
        raise ApiError(503, "unavailable", "the loaded lifter is not causal")
    reference = await engine.run(engine.reference, settings.blobs, routine)
    session = LiveSession(
        LiveModels(engine.lifter, engine.recordings, engine.population),
        reference,
        start.stream_header(),
        start.strictness or settings.strictness,
    )
    ready = Ready(
        type="ready",
        receptive_field=engine.lifter.receptive_field,
        model_version=engine.lifter.metadata.version,
    )
    await _send(websocket, ready)
    return _Workout(session, user_id, routine)


class _RepChecks:
    """The repetition check in flight on a socket, at most one: started when half a
    second of new frames came, awaited before the next one and before the summary (a
    failed check fails the socket), cancelled if the socket ends first. It runs on the
    engine's check thread and sends a ``rep`` message per finished repetition."""

    def __init__(self, websocket: WebSocket, engine: Engine, session: LiveSession) -> None:
        self.websocket, self.engine, self.session = websocket, engine, session
        self.task: asyncio.Task | None = None

    async def start_if_due(self) -> None:
        if (self.task is None or self.task.done()) and self.session.check_due():
            if self.task is not None:
                await self.task  # a failed check fails the socket
            self.task = asyncio.create_task(self._send_finished_reps())

    async def finish(self) -> None:
        if self.task is not None:
            await self.task
            self.task = None

    def cancel(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()

    async def _send_finished_reps(self) -> None:
        for rep in await self.engine.run(self.session.finished_reps, checks=True):
            await _send(self.websocket, Rep.model_validate(rep))


async def _stream(websocket: WebSocket, engine: Engine, workout: _Workout) -> None:
    """Take frame batches until ``stop``: progress per batch, reps as they finish, then
    the summary and a normal close."""
    settings: Settings = websocket.app.state.settings
    session = workout.session
    checks = _RepChecks(websocket, engine, session)
    idle = ApiError(408, "idle_timeout", f"no message for {settings.live_idle_timeout_s:g} s")
    try:
        while True:
            message = await _receive(websocket, settings.live_idle_timeout_s, idle)
            kind = message.get("type") if isinstance(message, dict) else None
            if kind == "frames":
                count = await _take_frames(engine, session, message.get("frames"), settings)
                await _send(websocket, Progress(type="progress", frames=count))
                await checks.start_if_due()
            elif kind == "stop":
                await checks.finish()
                return await _summarize(websocket, engine, workout)
            else:
                raise ApiError(400, "protocol", "expected a 'frames' or 'stop' message")
    finally:
        checks.cancel()


async def _take_frames(
    engine: Engine, session: LiveSession, frames: object, settings: Settings
) -> int:
    """Lift a batch of frames; the number of poses so far."""
    if not isinstance(frames, list):
        raise _invalid("frames must be a list of frames", "frames")
    if not session.admit(len(frames), settings.live_max_speed, settings.live_burst_s):
        raise ApiError(
            429,
            "too_fast",
            f"frames arrive faster than a {session.fps:g}-fps camera can film them; live "
            "streams are real time",
            "frames",
        )
    try:
        if len(frames) <= INLINE_FRAMES:
            return session.push(frames)  # a few ms: cheaper than a thread hop
        return await engine.run(session.push, frames)
    except SequenceFormatError as exc:
        raise _invalid(exc.message, exc.field) from None


async def _summarize(websocket: WebSocket, engine: Engine, workout: _Workout) -> None:
    """Store the finished session, send its summary and close normally."""
    try:
        summary = await engine.run(workout.session.summary)
    except TooFewFrames as exc:
        raise ApiError(422, "too_few_frames", str(exc), "frames") from None
    report = SessionReportOut.model_validate(summary.report)  # checked before it is stored
    # A blob and a commit: not on the event loop.
    session_id = await anyio.to_thread.run_sync(_store, websocket.app, workout, summary)
    await _send(websocket, Summary(type="summary", session_id=session_id, report=report))
    await websocket.close()


def _store(app: FastAPI, workout: _Workout, summary: LiveSummary) -> int:
    """Store the finished session like a recorded one (report, motion blob); its id. 401
    when the account was deleted during the session: nothing is stored."""
    with app.state.sessionmaker() as db:
        if db.get(User, workout.user_id) is None:
            raise ApiError(
                401, "unauthorized", "the account was deleted during the session; it was not kept"
            )
        row = store_session(
            app.state.settings,
            db,
            workout.user_id,
            workout.routine.id,
            workout.routine.name,
            summary.report,
            summary.poses,
            workout.session.fps,
            live_input(workout.session),
        )
        return row.id


async def _fail(
    websocket: WebSocket, code: str, message: str, field: str | None = None, close: int = 1008
) -> None:
    """Send the error message, then close with ``close``; nothing if the client left."""
    connected = WebSocketState.CONNECTED
    if websocket.client_state != connected or websocket.application_state != connected:
        return
    try:
        error = ErrorDetail(code=code, message=message, field=field)
        await _send(websocket, LiveError(type="error", error=error))
        await websocket.close(code=close)
    except WebSocketDisconnect:  # the client left meanwhile: nobody to tell
        return


@router.websocket("/live")
async def live(websocket: WebSocket) -> None:
    """The live socket (protocol in the module docstring). Every way it ends after the
    accept is one of: a summary, an error message and a close, or the client leaving."""
    await websocket.accept()
    try:
        engine: Engine = websocket.app.state.engine
        await _stream(websocket, engine, await _start(websocket, engine))
    except WebSocketDisconnect:
        return  # the client left: nobody to answer
    except ApiError as exc:
        await _fail(websocket, exc.code, exc.message, exc.field)
    except Exception:
        logger.exception("live socket failed")
        await _fail(websocket, "internal_error", "something went wrong on our side", close=1011)
