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
2. server -> ``{"type": "ready", "receptive_field", "model_version", "stream_id",
   "frames": 0}``
3. client -> ``{"type": "frames", "frames": [[[x, y, score], ...], ...]}`` small batches;
   or the same batch as a binary message: little-endian float32, frame by frame, joint by
   joint, ``x, y, score`` (NaN x and y for an unseen joint). Binary is what a phone's
   Float32 arrays hold, half the bytes of the JSON, and the server reads it for about a
   third of the JSON's cost (decoding, nesting count, parsing: ``bench.live
   --binary-frames``).
4. server -> ``{"type": "progress", "frames": n}`` per batch; every
   ``COACH_LIVE_CHECKPOINT_S`` seconds of frames (the first after a random part of it:
   ``COACH_LIVE_CHECKPOINT_SPREAD``) ``{"type": "checkpoint", "frames": n}`` (the first
   n frames are saved: :mod:`coach_api.live_streams`); and when a repetition
   completes ``{"type": "rep", "rep": k, "start_s", "end_s", "errors": [...]}``
5. client -> ``{"type": "stop"}``; the session is stored like a recorded one (report and
   motion; in ``GET /v1/sessions``), then server -> ``{"type": "summary", "session_id",
   "report": {...}}``. A stream is as long as a recorded session may be
   (``COACH_MAX_DURATION_S``, and ``COACH_MAX_FRAMES`` at the recordings lifter's rate):
   the batch that reaches that is taken up to it, and the stream ends there as if
   ``stop`` had come, its summary with a ``session_limit`` note. A socket that ends any
   other way stores no session.

A cut socket is resumed on any replica: a new socket's first message is
``{"type": "resume", "token": JWT, "stream_id"}`` instead of the start; ``ready`` then
says how many ``frames`` the server holds (those of the last checkpoint) and the client
sends the frames from that index on again. Until ``COACH_LIVE_RESUME_TTL_S`` after the
last checkpoint; a stream that ended answers its summary again; the socket a resume took
the stream from is closed with ``superseded`` when it next saves or stores.

Errors are ``{"type": "error", "error": {"code", "message", "field"?}}``; the socket is
then closed, with code 1008 for what the client did, 1011 (``internal_error``) for a
failure of the server and 1013 (``server_busy``) when this replica holds its
``COACH_LIVE_MAX_STREAMS`` streams already (try again: another replica may take it). An
account may have ``COACH_LIVE_MAX_STREAMS_PER_USER`` streams open at once
(``too_many_streams``), and a new stream counts against its expensive requests
(``rate_limited``): :mod:`coach_api.live_admission`. Every message is checked before it
is used: text only (``protocol``), at most ``COACH_LIVE_MAX_MESSAGE_BYTES``
(``message_too_large``), JSON nested at most ``MAX_DEPTH`` levels (``invalid_json``). A
socket silent for ``COACH_LIVE_IDLE_TIMEOUT_S`` after the start is closed
(``idle_timeout``), as is one whose start message does not come in time
(``auth_timeout``); ``too_fast`` when frames arrive faster than real time: more than
``COACH_LIVE_MAX_SPEED`` x fps after ``COACH_LIVE_BURST_S`` seconds of catch-up. A stream
is at most ``COACH_LIVE_MAX_FPS`` (60; every frame is lifted, so a stream's cost grows
with its rate: ``invalid_input`` naming ``fps``).

The start message is validated whole (:class:`~coach_api.live_messages.LiveStart`), and
every message sent is built from its model (``progress``, sent for every batch, is
written directly and held equal to its model's by a test). This module keeps the
protocol; the stream's state, lifting and judging are
:class:`scoring.live.LiveSession`'s. Frames are checked on the event loop and answered;
the network lifts them on the engine's live thread when their poses are read (a check, a
checkpoint, the summary) or half a second of them waits, many streams' queued batches in
one call (:mod:`coach_api.live_batcher`). Finished repetitions are looked for every half
second in the background, on a thread of their own (only the frames since the last
finished repetition are examined: :mod:`scoring.live_reps`): the socket keeps taking
frames while a rep is scored, and ``rep`` messages may arrive a few batches after the rep
ended (always before the summary).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import random
import re
from dataclasses import asdict
from typing import NamedTuple, get_args

import anyio
import numpy as np
import orjson
from fastapi import APIRouter, FastAPI, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.websockets import WebSocketDisconnected, WebSocketState

from coach_api.access import usable_routine
from coach_api.db import Routine, User, WorkoutSession
from coach_api.deps import MAX_ID, user_for_token
from coach_api.errors import ApiError
from coach_api.live_admission import CLOSE_TRY_AGAIN_LATER, LiveAdmission
from coach_api.live_batcher import LiveBatcher
from coach_api.live_messages import (
    Checkpoint,
    LiveError,
    LiveResume,
    LiveStart,
    Ready,
    Rep,
    Summary,
)
from coach_api.live_streams import (
    Superseded,
    active_streams,
    checkpoint,
    create_stream,
    load_stream,
    mark_finished,
    release_stream,
)
from coach_api.openapi_errors import ErrorDetail
from coach_api.persistence import live_input, store_session
from coach_api.report_models import SessionReportOut, Strictness
from coach_api.served_models import LIVE_KINDS
from coach_api.services import Engine
from coach_api.settings import Settings
from pose3d.sequence_json import SequenceFormatError
from scoring.live import LiveModels, LiveSession, LiveSummary, TooFewFrames
from scoring.report import Note

logger = logging.getLogger("coach_api")
router = APIRouter()
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


# A JSON string (escapes included): what the nesting count skips.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')


def _nesting(text: str) -> int:
    """How many lists or objects deep the JSON ``text`` nests, counted on the text with
    its strings left out, so that nothing deeper is ever decoded (the C decoder recurses
    per level, and deep values could exhaust the recursion limit wherever they are
    printed or walked). In C passes: a frames message is counted in ~20 µs, where walking
    its decoded value took ~190 µs, more than decoding it."""
    codes = np.frombuffer(_JSON_STRING.sub("", text).encode("utf-8", "surrogatepass"), np.uint8)
    steps = (codes == ord("[")).view(np.int8) + (codes == ord("{")).view(np.int8)
    steps -= (codes == ord("]")).view(np.int8) + (codes == ord("}")).view(np.int8)
    return int(np.cumsum(steps, dtype=np.int32).max(initial=0))


def _decode(text: str, numbers_as_floats: bool = False) -> object:
    """The JSON value of a message; ApiError ``invalid_json`` naming what is wrong.

    With ``numbers_as_floats`` (the frames of a stream, where every number is a pixel
    coordinate or a score), orjson decodes it where it can: a frames message in ~16 µs
    against ~95 µs, on the event loop of every phone. It reads an integer beyond 64 bits
    as a float, which a start message's integer fields must not get. Where it refuses
    (not JSON, NaN, a number beyond float64), the standard library decodes as before and
    names the fault."""
    if _nesting(text) > MAX_DEPTH:
        raise ApiError(400, "invalid_json", f"messages nest at most {MAX_DEPTH} levels deep")
    if numbers_as_floats:
        with contextlib.suppress(orjson.JSONDecodeError):
            return orjson.loads(text)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        message = f"the message is not JSON: {exc.msg} at character {exc.pos}"
        raise ApiError(400, "invalid_json", message) from None
    except ValueError:  # an integer over Python's 4,300-digit conversion limit
        message = "a number in the message has too many digits"
        raise ApiError(400, "invalid_json", message) from None


async def _receive(
    websocket: WebSocket, timeout_s: float, on_timeout: ApiError, streaming: bool = False
) -> object:
    """The next message, checked for size (and JSON nesting) before use: a text message
    decoded; while ``streaming``, a binary one (a batch of frames) is returned as bytes,
    and text is decoded with ``numbers_as_floats`` (:func:`_decode`).

    Raises ``on_timeout`` when nothing arrives within ``timeout_s``, WebSocketDisconnect
    when the client left, and ApiError for an oversized or malformed message, or a binary
    one before the stream started.
    """
    try:
        # asyncio's own timeout, not anyio's cancel scope: this runs for every message
        # of every phone, and the scope cost ~3% of the event loop's time.
        async with asyncio.timeout(timeout_s):
            message = await websocket.receive()
    except TimeoutError:
        raise on_timeout from None
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    limit = websocket.app.state.settings.live_max_message_bytes
    text = message.get("text")
    if text is None:
        data = message.get("bytes") or b""
        if not streaming:
            raise ApiError(
                400, "protocol", "the first message is JSON text; binary is only for frames"
            )
        if len(data) > limit:
            raise ApiError(413, "message_too_large", f"messages are limited to {limit} bytes")
        return data
    if _too_large(text, limit):
        raise ApiError(413, "message_too_large", f"messages are limited to {limit} bytes")
    return _decode(text, numbers_as_floats=streaming)


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


def _check_start(start: object) -> LiveStart | LiveResume:
    """The first message, a start or a resume, every field validated (``fps`` a float,
    the image size ints); ApiError naming the first that is wrong."""
    if isinstance(start, dict) and start.get("type") == "resume":
        try:
            return LiveResume.model_validate(start)
        except ValidationError as exc:
            raise _resume_error(exc) from None
    try:
        return LiveStart.model_validate(start)
    except ValidationError as exc:
        raise _start_error(exc) from None


def _resume_error(exc: ValidationError) -> ApiError:
    """The first problem pydantic found in a resume message, as the socket reports it."""
    errors = exc.errors()
    unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden")
    fields = {str(e["loc"][0]) for e in errors if e["loc"]}
    if unknown:
        expected = ", ".join(sorted(LiveResume.model_fields))
        message = f"unknown key in the resume message (expected only {expected})"
        return _invalid(message, unknown[0][:40])
    if "token" in fields:
        return ApiError(
            401, "unauthorized", "a valid token is required in the resume message", "token"
        )
    return _invalid("stream_id must be the stream_id of the stream's ready message", "stream_id")


def _start_error(exc: ValidationError) -> ApiError:
    """The first problem pydantic found, as the socket reports it: not a start message,
    then an unknown key, then the fields in the order of ``_FIELD_ERRORS``."""
    errors = exc.errors()
    unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden")
    fields = {str(e["loc"][0]) if e["loc"] else "" for e in errors}
    if "" in fields or "type" in fields:  # not an object, or not {"type": "start"}
        return ApiError(
            400, "protocol", "the first message must be {'type': 'start', ...} or a resume"
        )
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


def _stored_summary(app: FastAPI, user_id: int, session_id: int) -> Summary:
    """The summary of a finished stream's stored session (its resume came again: the
    first summary was lost on the way); not_found if the user deleted it since."""
    with app.state.sessionmaker() as db:
        row = db.get(WorkoutSession, session_id)
        if row is None or row.user_id != user_id:
            raise ApiError(404, "not_found", "the stream's session was deleted", "stream_id")
        report = SessionReportOut.model_validate(row.report)
        return Summary(type="summary", session_id=row.id, report=report)


def _refuse_token_in_url(websocket: WebSocket) -> None:
    """The token travels in the start message only: URLs end up in access logs."""
    if "token" in websocket.query_params:
        raise ApiError(
            400,
            "token_in_url",
            "send the token in the start message, not in the URL: URLs are logged",
            "token",
        )


async def _receive_start(websocket: WebSocket, settings: Settings) -> LiveStart | LiveResume:
    """The start (or resume) message, validated, if it comes within
    ``live_auth_timeout_s``."""
    late = ApiError(
        408,
        "auth_timeout",
        f"the start message (with the token) must come within {settings.live_auth_timeout_s:g} s",
    )
    return _check_start(await _receive(websocket, settings.live_auth_timeout_s, late))


class _Workout(NamedTuple):
    """A started stream: its state, whose it is (the session is stored under them), and
    its row (``stream_id`` at ``generation``: coach_api.live_streams)."""

    session: LiveSession
    user_id: int
    routine: Routine
    stream_id: str
    generation: int
    burst_s: float  # catch-up allowed (live_burst_s; a resumed stream may resend more)
    frame_limit: int  # the most frames the stream takes (_frame_limit)

    @property
    def at_limit(self) -> bool:
        """Whether the stream has taken all the frames it may: it ends as on ``stop``."""
        return self.session.frames_taken >= self.frame_limit


async def _send(websocket: WebSocket, message: BaseModel) -> None:
    """Send a server message as its model serialises it (an error's ``field`` is left
    out when there is none)."""
    await websocket.send_text(message.model_dump_json(exclude_none=True))


async def _start(
    websocket: WebSocket, engine: Engine, held: contextlib.AsyncExitStack
) -> _Workout | None:
    """Take the start message (token, routine, stream header) and answer ``ready``; or
    take a resume message and go on with that stream (``None`` when it had already
    ended: its summary was sent again). The stream's place in this replica
    (:class:`~coach_api.live_admission.LiveAdmission`) and its release in the database
    are entered into ``held``: kept until the socket ends."""
    app = websocket.app
    settings: Settings = app.state.settings
    _refuse_token_in_url(websocket)
    start = await _receive_start(websocket, settings)
    if isinstance(start, LiveResume):
        return await _resume(websocket, engine, start, held)
    if start.fps > settings.live_max_fps:
        raise _invalid(
            f"live streams are at most {settings.live_max_fps:g} fps (each frame is lifted "
            "as it comes): send every second or fourth frame of a faster camera",
            "fps",
        )
    # The database is not asked on the event loop (a slow query would stall every stream).
    user_id, routine = await anyio.to_thread.run_sync(
        _authorize, app, start.token, start.routine_id
    )
    admission: LiveAdmission = app.state.live_admission
    held.enter_context(admission.hold(user_id))
    active = await anyio.to_thread.run_sync(
        active_streams, settings, app.state.sessionmaker, user_id
    )
    admission.check_user(user_id, active)
    app.state.rate_limits.spend_scoring(user_id)  # a new stream is an expensive request
    strictness = start.strictness or settings.strictness
    header = start.stream_header()
    session = await _new_session(engine, settings, routine, header, strictness)
    stream_id = await anyio.to_thread.run_sync(
        create_stream, app.state.sessionmaker, user_id, routine.id, header, strictness
    )
    held.push_async_callback(_release, app, stream_id, 0)
    await _send(websocket, _ready(engine, stream_id, 0))
    limit = _frame_limit(settings, engine, session.fps)
    return _Workout(session, user_id, routine, stream_id, 0, settings.live_burst_s, limit)


async def _resume(
    websocket: WebSocket, engine: Engine, resume: LiveResume, held: contextlib.AsyncExitStack
) -> _Workout | None:
    """Rebuild the stream ``resume`` names from its checkpoint and answer ``ready`` with
    the frames it holds; or send the summary again of one that ended. A place in this
    replica is held for it (``held``); the account's count is not checked again (the
    stream is one it has)."""
    app = websocket.app
    settings: Settings = app.state.settings
    user_id = await anyio.to_thread.run_sync(_user_id, app, resume.token)
    held.enter_context(app.state.live_admission.hold(user_id))
    try:
        saved = await anyio.to_thread.run_sync(
            load_stream, settings, app.state.sessionmaker, resume.stream_id, user_id
        )
    except Superseded:
        raise _superseded() from None
    if saved is not None and saved.stream.session_id is None:  # taken over: held now
        held.push_async_callback(_release, app, saved.stream.id, saved.stream.generation)
    if saved is None:
        raise ApiError(
            404,
            "not_found",
            "no live stream to resume with this stream_id: it was never started, is "
            f"another account's, or expired {settings.live_resume_ttl_s:g} s after its last "
            "checkpoint; start a new one",
            "stream_id",
        )
    stream = saved.stream
    if stream.session_id is not None:
        summary = await anyio.to_thread.run_sync(_stored_summary, app, user_id, stream.session_id)
        await _send(websocket, summary)
        await websocket.close()
        return None
    routine = await anyio.to_thread.run_sync(_usable_routine, app, user_id, stream.routine_id)
    header = json.loads(stream.header_json)
    strictness = header.pop("strictness")
    session = await _new_session(engine, settings, routine, header, strictness)
    if saved.state is not None:  # lists of up to a session's poses: off the event loop
        await anyio.to_thread.run_sync(session.restore, saved.state, stream.reported)
    await _send(websocket, _ready(engine, stream.id, stream.frames))
    # The frames after the checkpoint come again at once: up to live_checkpoint_s more.
    burst_s = settings.live_burst_s + settings.live_checkpoint_s
    limit = _frame_limit(settings, engine, session.fps)
    return _Workout(session, user_id, routine, stream.id, stream.generation, burst_s, limit)


def _frame_limit(settings: Settings, engine: Engine, fps: float) -> int:
    """The most frames a stream filmed at ``fps`` takes: a live session is bounded like a
    recorded one (``max_duration_s``, and ``max_frames`` at the recordings lifter's rate,
    which lifts the whole session again for its summary). Unbounded, a stream held open
    kept its frames and poses in memory for as long as it was fed, its summary's work
    grew with it, and its stored session could be longer than any other path stores."""
    seconds = min(settings.max_duration_s, settings.max_frames / engine.recordings.fps)
    return max(1, math.floor(seconds * fps))


async def _release(app: FastAPI, stream_id: str, generation: int) -> None:
    """Mark the stream no longer held (its socket ended), off the event loop and even
    while the socket's task is being cancelled; a failure is logged, not raised over
    the way the socket ended (the row's hold then lapses with its age)."""
    with anyio.CancelScope(shield=True):
        try:
            await anyio.to_thread.run_sync(
                release_stream, app.state.sessionmaker, stream_id, generation
            )
        except Exception:
            logger.exception("could not release live stream %s", stream_id)


def _user_id(app: FastAPI, token: str) -> int:
    """The id of the token's user (401 naming the token otherwise)."""
    with app.state.sessionmaker() as db:
        user = user_for_token(db, token, app.state.settings)
        if user is None:
            raise ApiError(
                401, "unauthorized", "a valid token is required in the resume message", "token"
            )
        return user.id


def _usable_routine(app: FastAPI, user_id: int, routine_id: int) -> Routine:
    """A resumed stream's routine, if the user may still stream against it."""
    with app.state.sessionmaker() as db:
        return usable_routine(db, db.get(User, user_id), routine_id, "stream_id")


async def _new_session(
    engine: Engine, settings: Settings, routine: Routine, header: dict, strictness: str
) -> LiveSession:
    """A live session against ``routine`` (stream header and beat times: ``header``)."""
    if not engine.lifter.causal:
        raise ApiError(503, "unavailable", "the loaded lifter is not causal")
    reference = await engine.run(engine.reference, settings.blobs, routine)
    models = LiveModels(engine.lifter, engine.recordings, engine.population)
    return LiveSession(models, reference, header, strictness)


def _ready(engine: Engine, stream_id: str, frames: int) -> Ready:
    return Ready(
        type="ready",
        receptive_field=engine.lifter.receptive_field,
        model_version=engine.lifter.metadata.version,
        stream_id=stream_id,
        frames=frames,
    )


def _superseded() -> ApiError:
    return ApiError(
        409, "superseded", "this live stream was resumed on another connection, which holds it"
    )


def _account_deleted() -> ApiError:
    """401 for a stream whose account was deleted while it ran (nothing of it is kept)."""
    return ApiError(
        401, "unauthorized", "the account was deleted during the session; it was not kept"
    )


def _lost_stream(app: FastAPI, user_id: int) -> ApiError:
    """The error for a stream whose row changed under it (``Superseded``): 401 when account
    ``user_id`` was deleted meanwhile (the row went with it), 409 superseded when another
    socket took the stream over. A database read: not on the event loop."""
    with app.state.sessionmaker() as db:
        deleted = db.get(User, user_id) is None
    return _account_deleted() if deleted else _superseded()


class _RepChecks:
    """The repetition check in flight on a socket, at most one: started when half a
    second of new frames came, awaited before the next one and before the summary (a
    failed check fails the socket), cancelled if the socket ends first. It runs on the
    engine's check thread and sends a ``rep`` message per finished repetition; ``sent``
    counts them (what a checkpoint records: a resume sends none of those again)."""

    def __init__(
        self, websocket: WebSocket, engine: Engine, batcher: LiveBatcher, session: LiveSession
    ) -> None:
        self.websocket, self.engine, self.session = websocket, engine, session
        self.batcher = batcher
        self.task: asyncio.Task | None = None
        self.sent = session.reported

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
        """Stop the check in flight as the socket ends. One that already failed is
        logged here unless the client left (its socket gone), since nobody awaits it."""
        if self.task is None:
            return
        if not self.task.done():
            self.task.cancel()
            return
        failure = None if self.task.cancelled() else self.task.exception()
        if failure is not None and not isinstance(
            failure, WebSocketDisconnect | WebSocketDisconnected
        ):
            logger.error("live repetition check failed", exc_info=failure)

    async def _send_finished_reps(self) -> None:
        await self.batcher.lift(self.session)  # its poses, lifted with other streams'
        for rep in await self.engine.run(self.session.finished_reps, lane="checks"):
            await _send(self.websocket, Rep.model_validate(rep))
            self.sent = rep["rep"]


async def _stream(websocket: WebSocket, engine: Engine, workout: _Workout) -> None:
    """Take frame batches until ``stop``: progress per batch, a checkpoint every
    ``live_checkpoint_s`` seconds of frames, reps as they finish, then the summary and
    a normal close."""
    settings: Settings = websocket.app.state.settings
    session = workout.session
    batcher: LiveBatcher = websocket.app.state.live_batcher
    checks = _RepChecks(websocket, engine, batcher, session)
    checkpoint_after_s = _first_checkpoint_s(settings)
    idle = ApiError(408, "idle_timeout", f"no message for {settings.live_idle_timeout_s:g} s")
    try:
        while not workout.at_limit:
            message = await _receive(websocket, settings.live_idle_timeout_s, idle, streaming=True)
            if isinstance(message, bytes):  # a batch of frames as float32
                frames: object = message
            else:
                kind = message.get("type") if isinstance(message, dict) else None
                if kind == "stop":
                    break
                if kind != "frames":
                    raise ApiError(400, "protocol", "expected a 'frames' or 'stop' message")
                frames = message.get("frames")
            count = _take_frames(websocket, workout, frames, settings)
            await websocket.send_text(_progress_text(count))
            # The queued frames are lifted (with every other stream's) when their
            # poses are read (a check, a checkpoint), or once half a second of them waits.
            if batcher.backlogged(session):  # the server is behind: this phone waits
                await batcher.lift(session, first=True)
            elif session.queued_poses >= session.fps / 2:
                batcher.request()
            if session.unsaved_frames >= checkpoint_after_s * session.fps:
                await batcher.lift(session, first=True)
                await _checkpoint(websocket, workout, checks.sent)
                checkpoint_after_s = settings.live_checkpoint_s
            await checks.start_if_due()
        await checks.finish()
        await batcher.lift(session, first=True)
        return await _summarize(websocket, engine, workout)
    finally:
        checks.cancel()
        batcher.discard(session)


def _first_checkpoint_s(settings: Settings) -> float:
    """Seconds of frames before a stream's first checkpoint: with
    ``live_checkpoint_spread``, a random 10-100% of ``live_checkpoint_s``, so that streams
    started together save at different times (each waits for its own write, and a burst
    of writes queues behind one database); the interval itself otherwise."""
    if not settings.live_checkpoint_spread:
        return settings.live_checkpoint_s
    return settings.live_checkpoint_s * random.uniform(0.1, 1.0)


async def _checkpoint(websocket: WebSocket, workout: _Workout, reps_sent: int) -> None:
    """Save what the stream gained since the last checkpoint (one blob, one row update,
    off the event loop) and tell the client how many frames the server now holds."""
    app = websocket.app
    gained = workout.session.take_unsaved()
    try:
        frames = await anyio.to_thread.run_sync(
            checkpoint,
            app.state.settings,
            app.state.sessionmaker,
            workout.stream_id,
            workout.generation,
            gained,
            reps_sent,
        )
    except Superseded:
        raise await anyio.to_thread.run_sync(_lost_stream, app, workout.user_id) from None
    await _send(websocket, Checkpoint(type="checkpoint", frames=frames))


def _take_frames(
    websocket: WebSocket, workout: _Workout, frames: object, settings: Settings
) -> int:
    """Check a batch of frames here (a JSON list, or the bytes of a binary message) and
    queue it to be lifted with the other streams' (coach_api.live_batcher); the number of
    poses so far, its frames' counted. A JSON batch is counted against the real-time
    limit before its values are read; a binary one is read first (its size gives the
    count, and reading it costs less than the JSON's decoding already done)."""
    session = workout.session
    if not isinstance(frames, list | bytes):
        raise _invalid("frames must be a list of frames", "frames")
    try:
        if isinstance(frames, bytes):
            keypoints, scores = session.parse_binary(frames)
            _admit(session, len(keypoints), settings, workout.burst_s)
        else:
            _admit(session, len(frames), settings, workout.burst_s)
            keypoints, scores = session.parse(frames)
    except SequenceFormatError as exc:
        raise _invalid(exc.message, exc.field) from None
    room = workout.frame_limit - session.frames_taken  # the frames past it are not taken
    return websocket.app.state.live_batcher.queue(session, keypoints[:room], scores[:room])


def _admit(session: LiveSession, count: int, settings: Settings, burst_s: float) -> None:
    """ApiError ``too_fast`` unless ``count`` more frames keep the stream real time."""
    if not session.admit(count, settings.live_max_speed, burst_s):
        raise ApiError(
            429,
            "too_fast",
            f"frames arrive faster than a {session.fps:g}-fps camera can film them; live "
            "streams are real time",
            "frames",
        )


def _progress_text(frames: int) -> str:
    """The ``progress`` message, as :class:`Progress` serialises it (a test holds them
    equal): written directly, since building and dumping the model for every batch of
    every phone cost ~8% of the event loop's time."""
    return f'{{"type":"progress","frames":{int(frames)}}}'


async def _summarize(websocket: WebSocket, engine: Engine, workout: _Workout) -> None:
    """Store the finished session, send its summary and close normally."""
    try:
        summary = await engine.run(workout.session.summary)
    except TooFewFrames as exc:
        raise ApiError(422, "too_few_frames", str(exc), "frames") from None
    summary.report["models"] = engine.models.names(LIVE_KINDS)  # what scored it
    if workout.at_limit:
        summary.report["notes"].append(_limit_note(workout))
    report = SessionReportOut.model_validate(summary.report)  # checked before it is stored
    # A blob and a commit: not on the event loop.
    session_id = await anyio.to_thread.run_sync(_store, websocket.app, workout, summary)
    await _send(websocket, Summary(type="summary", session_id=session_id, report=report))
    await websocket.close()


def _limit_note(workout: _Workout) -> dict:
    """The summary's note for a stream ended at its :func:`_frame_limit`."""
    seconds = workout.frame_limit / workout.session.fps
    return asdict(
        Note.over(
            "session_limit",
            "body",
            seconds,
            seconds,
            f"a session lasts at most {seconds:.0f} s, so the coach ended this one there and "
            "kept it; start a new session to go on",
        )
    )


def _store(app: FastAPI, workout: _Workout, summary: LiveSummary) -> int:
    """Store the finished session like a recorded one (report, motion blob), and mark its
    stream finished in the same transaction; its id. 401 when the account was deleted
    during the session, 409 superseded when another socket took the stream over: nothing
    is stored."""
    settings: Settings = app.state.settings
    chunks: list[str] = []

    def finish(db: Session, row: WorkoutSession) -> None:
        chunks.extend(mark_finished(db, workout.stream_id, workout.generation, row.id))

    with app.state.sessionmaker() as db:
        if db.get(User, workout.user_id) is None:
            raise _account_deleted()
        try:
            row = store_session(
                settings,
                db,
                workout.user_id,
                workout.routine.id,
                workout.routine.name,
                summary.report,
                summary.poses,
                workout.session.fps,
                live_input(workout.session),
                finish=finish,
            )
        except Superseded:
            raise _lost_stream(app, workout.user_id) from None
    for name in chunks:  # the stream's frames, no longer needed once the session is kept
        settings.blobs.delete(name)
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
        async with contextlib.AsyncExitStack() as held:  # the stream's place, its row's hold
            workout = await _start(websocket, engine, held)
            if workout is not None:  # None: a resume of an ended stream, answered already
                await _stream(websocket, engine, workout)
    except (WebSocketDisconnect, WebSocketDisconnected):
        return  # the client left (seen on receiving, or on sending after its close)
    except ApiError as exc:
        websocket.app.state.metrics.live_errors.labels(exc.code).inc()
        close = CLOSE_TRY_AGAIN_LATER if exc.code == "server_busy" else 1008
        message = exc.message
        if exc.headers and "Retry-After" in exc.headers:  # a socket has no headers: say it
            message += f" (try again in {exc.headers['Retry-After']} s)"
        await _fail(websocket, exc.code, message, exc.field, close)
    except Exception:
        logger.exception("live socket failed")
        websocket.app.state.metrics.live_errors.labels("internal_error").inc()
        await _fail(websocket, "internal_error", "something went wrong on our side", close=1011)
