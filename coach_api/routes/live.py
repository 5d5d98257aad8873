"""Live coaching over a WebSocket: frames in, 3D poses and per-repetition cues out.

Protocol (JSON text messages; schema in ``docs/live-messages.schema.json``):

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
5. client -> ``{"type": "stop"}``; server -> ``{"type": "summary", "report": {...}}``

Errors are ``{"type": "error", "error": {"code", "message", "field"?}}``; the socket is
then closed, with code 1008 for what the client did and 1011 (``internal_error``) for a
failure of the server. Every message is checked before it is used: text only
(``protocol``), at most ``COACH_LIVE_MAX_MESSAGE_BYTES`` (``message_too_large``), JSON
nested at most ``MAX_DEPTH`` levels (``invalid_json``). A socket silent for
``COACH_LIVE_IDLE_TIMEOUT_S`` after the start is closed (``idle_timeout``), as is one
whose start message does not come in time (``auth_timeout``); ``too_fast`` when frames
arrive faster than real time: more than ``COACH_LIVE_MAX_SPEED`` x fps after
``COACH_LIVE_BURST_S`` seconds of catch-up.

Lifting runs the causal model frame by frame (bounded memory): small batches on the
event loop, larger ones in the worker pool. Finished repetitions are looked for every
half second in the background, on a thread of their own: the socket keeps taking frames
while a rep is scored, and ``rep`` messages may arrive a few batches after the rep ended
(always before the summary).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
import time

import anyio
import numpy as np
from fastapi import APIRouter, FastAPI, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from coach_api.access import usable_routine
from coach_api.db import Routine
from coach_api.deps import MAX_ID, user_for_token
from coach_api.errors import ApiError, error_body
from coach_api.schemas import check_beat_times
from coach_api.settings import Settings
from pose3d.keypoints import h36m_scores
from pose3d.sequence_json import (
    KeypointSequence,
    SequenceFormatError,
    check_header,
    parse_sequence,
)
from scoring import Reference, score_session
from scoring.alignment import segment_reps
from scoring.features import compute_features

logger = logging.getLogger("coach_api")
router = APIRouter()
MAX_BATCH = 120
# Batches up to this many frames are lifted on the event loop (~2 ms for 5 frames): with
# 20 streams, handing each to the worker pool cost more in queueing and thread switches
# than the lifting itself (p99 96 -> 12 ms). Larger batches go to the pool.
INLINE_FRAMES = 10
# Earlier repetitions scored with each newly finished one: the detector compares each
# repetition with the user's others, and this bounds the cost of a long session.
LIVE_CONTEXT_REPS = 8
# Nesting levels a message may have: a frames message has 4 ({"frames": [[[x, y, s]]]}).
# Deeper values could exhaust the recursion limit wherever they are printed or walked.
MAX_DEPTH = 6
START_KEYS = frozenset(
    {
        "type",
        "token",
        "routine_id",
        "layout",
        "fps",
        "image_width",
        "image_height",
        "strictness",
        "beat_times",
    }
)
HEADER_KEYS = ("layout", "fps", "image_width", "image_height")
STRICTNESS = ("beginner", "intermediate", "expert")


class LiveSession:
    """State of one live connection: the stream, the poses so far, reps reported."""

    def __init__(self, engine, reference: Reference, start: dict, strictness: str) -> None:
        self.engine, self.reference, self.strictness = engine, reference, strictness
        self.layout, self.fps = start["layout"], float(start["fps"])
        self.started = time.monotonic()
        self.frames_received = 0
        self.size = (int(start["image_width"]), int(start["image_height"]))
        self.stream = engine.lifter.stream(
            image_size=self.size, layout=self.layout, warmup_frames=1
        )
        self.poses: list[np.ndarray] = []
        self.scores: list[np.ndarray] = []
        # The phone's keypoints of the same frames: the recordings model lifts finished
        # repetitions again from them, and MediaPipe's give the 2D knee and heel measures.
        self.keypoints: list[tuple[np.ndarray, np.ndarray]] = []
        self.lock = threading.Lock()  # pushes append while a check reads
        self.reported = 0
        self.checked_at = 0  # frames when repetitions were last looked for
        # The music's beats (s from the first frame), for routines to music; validated.
        self.beat_times: list[float] | None = start.get("beat_times")

    def header(self) -> dict:
        return {
            "layout": self.layout,
            "fps": self.fps,
            "image_width": self.size[0],
            "image_height": self.size[1],
        }

    def push(self, frames: list) -> int:
        """Lift a batch; returns the number of frames so far."""
        sequence = parse_sequence({**self.header(), "frames": frames}, max_frames=MAX_BATCH)
        poses = self.stream.push_many(sequence.keypoints, sequence.scores)
        h36m = h36m_scores(sequence.scores, self.layout)
        with self.lock:
            for index, pose in enumerate(poses):
                if pose is not None:
                    self.poses.append(pose)
                    self.scores.append(h36m[index])
                    self.keypoints.append((sequence.keypoints[index], sequence.scores[index]))
            return len(self.poses)

    def observed(self, frames: slice) -> tuple[np.ndarray, np.ndarray] | None:
        """The phone's keypoints ``(T, J, 2)`` and scores ``(T, J)`` of ``frames``."""
        with self.lock:
            chosen = self.keypoints[frames]
        if not chosen:
            return None
        return np.stack([k for k, _ in chosen]), np.stack([s for _, s in chosen])

    def landmarks(self, frames: slice) -> tuple[np.ndarray, np.ndarray] | None:
        """The MediaPipe keypoints ``(T, 33, 2)`` and scores ``(T, 33)`` of ``frames``."""
        return self.observed(frames) if self.layout == "mediapipe33" else None

    def judged_poses(self, first: int, done: int, streamed: np.ndarray) -> np.ndarray:
        """Poses ``(done - first, 17, 3)`` to judge frames ``[first, done)`` on: lifted again
        by the recordings model, with the frames received after ``done`` as its future
        context. The detector learned from that model's lifts; the causal stream's
        (``streamed``, the fallback) lag and add false cues (off beat on a correct dance)."""
        recordings = self.engine.recordings
        end = min(len(self.keypoints), done + recordings.receptive_field // 2)
        keypoints, scores = self.observed(slice(first, end))
        sequence = KeypointSequence(self.layout, self.fps, *self.size, keypoints, scores)
        try:
            return recordings.lift_sequence(sequence)[: done - first]
        except ValueError:  # nothing usable to lift (every joint missing)
            return streamed

    def routine_reps(self, frames: int) -> list[tuple[int, int]]:
        """For a routine to music with the beat times: its repetitions on the beat grid
        (every ``beats_per_rep`` beats from the first), the last one still growing.
        Scored stretches then start where the routine does, as the detector learned
        them; repetitions found in the motion need not."""
        per_rep = self.reference.beats_per_rep
        if not (self.beat_times and per_rep):
            return []
        bounds = [round(b * self.fps) for b in self.beat_times[::per_rep]]
        bounds = [b for b in bounds if b <= frames]
        reps = list(itertools.pairwise(bounds))
        if bounds and frames > bounds[-1]:
            reps.append((bounds[-1], frames))
        return reps

    def beats(self, first: int, end: int) -> list[float] | None:
        """The beats within frames ``[first, end)``, in seconds from frame ``first``."""
        if not self.beat_times:
            return None
        start_s, end_s = first / self.fps, end / self.fps
        return [b - start_s for b in self.beat_times if start_s <= b < end_s] or None

    def admit(self, count: int, max_speed: float, burst_s: float) -> bool:
        """Whether ``count`` more frames keep the stream real time: at most ``max_speed``
        times its fps since the start, plus ``burst_s`` seconds of frames to catch up. A
        phone camera cannot go faster; a client that does is flooding the server."""
        allowed = ((time.monotonic() - self.started) * max_speed + burst_s) * self.fps
        if self.frames_received + count > allowed:
            return False
        self.frames_received += count
        return True

    def check_due(self) -> bool:
        """Whether half a second of new frames arrived since repetitions were last looked
        for (segmenting the whole buffer on every small batch would cost more than the
        lifting itself with many streams)."""
        frames = len(self.poses)
        return frames >= 2 * self.fps and frames - self.checked_at >= 0.5 * self.fps

    def finished_reps(self) -> list[dict]:
        """Cues for repetitions completed since the last call (the last rep may still grow).

        The new repetitions are scored together with up to LIVE_CONTEXT_REPS earlier ones,
        so each is judged against the user's own other repetitions too (as the detector
        was trained) at a bounded cost, and the errors of each new one are sent. A routine
        to music with its beat times is cut into repetitions on the beat grid and scored
        from its start.
        """
        with self.lock:
            poses, scores = np.stack(self.poses), np.stack(self.scores)
        self.checked_at = len(poses)
        routine = self.routine_reps(len(poses))
        reps = routine or segment_reps(compute_features(poses), self.fps)
        finished = [(n, rep) for n, rep in enumerate(reps[:-1]) if n >= self.reported]
        if not finished:
            return []
        # A routine to music is scored from the start, as the detector learned it: a stretch
        # cut on a beat starts mid-move, and its alignment then reads the moves as early or
        # late (off-beat precision 0.19 on the held-out dances). The cost grows with the
        # session: a 10-minute routine is ~0.3 s of lifting and ~0.5 s of scoring per check.
        first = 0 if routine else reps[max(0, finished[0][0] - LIVE_CONTEXT_REPS)][0]
        done = finished[-1][1][1]  # the end of the last finished repetition
        report = score_session(
            self.judged_poses(first, done, poses[first:done]),
            self.fps,
            self.reference,
            scores=scores[first:done],
            strictness=self.strictness,
            population=self.engine.population,
            include_ghost=False,
            keypoints_2d=self.landmarks(slice(first, done)),
            beat_times=self.beats(first, done),
        ).to_dict()
        offset = first / self.fps  # session time of the scored stretch's start
        errors = [
            {
                **e,
                "start_s": round(e["start_s"] + offset, 2),
                "end_s": round(e["end_s"] + offset, 2),
            }
            for e in report["errors"]
        ]
        messages = []
        for number, (start, end) in finished:
            start_s, end_s = start / self.fps, end / self.fps
            messages.append(
                {
                    "type": "rep",
                    "rep": number + 1,
                    "start_s": round(start_s, 2),
                    "end_s": round(end_s, 2),
                    "errors": [e for e in errors if e["start_s"] < end_s and start_s < e["end_s"]],
                }
            )
            self.reported = number + 1
        return messages

    def summary(self) -> dict:
        if len(self.poses) < 2:
            raise ApiError(422, "too_few_frames", "no pose was lifted yet", "frames")
        frames = len(self.poses)
        report = score_session(
            self.judged_poses(0, frames, np.stack(self.poses)),
            self.fps,
            self.reference,
            scores=np.stack(self.scores),
            strictness=self.strictness,
            population=self.engine.population,
            model_version=self.engine.recordings.metadata.version,
            include_ghost=False,
            keypoints_2d=self.landmarks(slice(None)),
            beat_times=self.beats(0, frames),
        )
        return report.to_dict()


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


def _check_start(start: object) -> dict:
    """The start message's fields, every one validated (``fps`` a float, the image size
    ints); ApiError naming the first that is wrong."""
    if not isinstance(start, dict) or start.get("type") != "start":
        raise ApiError(400, "protocol", "the first message must be {'type': 'start', ...}")
    unknown = sorted(str(key) for key in start.keys() - START_KEYS)
    if unknown:
        expected = ", ".join(sorted(START_KEYS))
        message = f"unknown key in the start message (expected only {expected})"
        raise _invalid(message, unknown[0][:40])
    token = start.get("token")
    if not isinstance(token, str) or not token:
        raise ApiError(
            401, "unauthorized", "a valid token is required in the start message", "token"
        )
    routine_id = start.get("routine_id")
    # bool is an int in Python, but JSON true is no id.
    is_id = isinstance(routine_id, int) and not isinstance(routine_id, bool)
    if not (is_id and 1 <= routine_id <= MAX_ID):
        raise _invalid(f"routine_id must be a routine id (1 to {MAX_ID})", "routine_id")
    strictness = start.get("strictness")
    if strictness is not None and strictness not in STRICTNESS:
        raise _invalid(f"strictness must be one of {', '.join(STRICTNESS)}", "strictness")
    beat_times = start.get("beat_times")
    if beat_times is not None and not isinstance(beat_times, list):
        # A string would be decoded once more by check_beat_times (its form-field case).
        raise _invalid("beat_times must be a list of seconds", "beat_times")
    return {
        "token": token,
        "routine_id": routine_id,
        "strictness": strictness,
        **_check_header(start),
        "beat_times": check_beat_times(beat_times),
    }


def _check_header(start: dict) -> dict:
    """``layout``, ``fps``, ``image_width``, ``image_height``, validated as a keypoint
    sequence's header is (:func:`~pose3d.sequence_json.check_header`)."""
    try:
        values = check_header(*(start.get(key) for key in HEADER_KEYS))
    except SequenceFormatError as exc:
        raise _invalid(exc.message, exc.field) from None
    return dict(zip(HEADER_KEYS, values, strict=True))


def _authorize(app: FastAPI, token: str, routine_id: int) -> Routine:
    """The routine, if the token's user may stream against it (theirs or published)."""
    with app.state.sessionmaker() as db:
        user = user_for_token(db, token, app.state.settings)
        if user is None:
            raise ApiError(
                401, "unauthorized", "a valid token is required in the start message", "token"
            )
        # A routine the user may not see answers exactly like one that does not exist.
        return usable_routine(db, user, routine_id)


async def _start(websocket: WebSocket) -> LiveSession:
    """Take the start message (token, routine, stream header), answer ``ready``."""
    app = websocket.app
    settings: Settings = app.state.settings
    engine = app.state.engine
    # The token travels in the start message only: URLs end up in access logs.
    if "token" in websocket.query_params:
        raise ApiError(
            400,
            "token_in_url",
            "send the token in the start message, not in the URL: URLs are logged",
            "token",
        )
    late = ApiError(
        408,
        "auth_timeout",
        f"the start message (with the token) must come within {settings.live_auth_timeout_s:g} s",
    )
    start = _check_start(await _receive(websocket, settings.live_auth_timeout_s, late))
    # The database is not asked on the event loop (a slow query would stall every stream).
    routine = await anyio.to_thread.run_sync(_authorize, app, start["token"], start["routine_id"])
    if not engine.lifter.causal:
        raise ApiError(503, "unavailable", "the loaded lifter is not causal")
    reference = await engine.run(engine.reference, settings.blobs, routine)
    session = LiveSession(engine, reference, start, start["strictness"] or settings.strictness)
    await websocket.send_json(
        {
            "type": "ready",
            "receptive_field": engine.lifter.receptive_field,
            "model_version": engine.lifter.metadata.version,
        }
    )
    return session


async def _stream(websocket: WebSocket, session: LiveSession) -> None:
    """Take frame batches until ``stop``: progress per batch, reps as they finish, then
    the summary and a normal close."""
    settings: Settings = websocket.app.state.settings
    engine = websocket.app.state.engine
    checking: asyncio.Task | None = None  # the repetition check in flight, if any

    async def send_finished_reps() -> None:
        for rep in await engine.run(session.finished_reps, checks=True):
            await websocket.send_json(rep)

    idle = ApiError(408, "idle_timeout", f"no message for {settings.live_idle_timeout_s:g} s")
    try:
        while True:
            message = await _receive(websocket, settings.live_idle_timeout_s, idle)
            kind = message.get("type") if isinstance(message, dict) else None
            if kind == "frames":
                count = await _take_frames(session, message.get("frames"), settings)
                await websocket.send_json({"type": "progress", "frames": count})
                if (checking is None or checking.done()) and session.check_due():
                    if checking is not None:
                        await checking  # a failed check fails the socket
                    checking = asyncio.create_task(send_finished_reps())
            elif kind == "stop":
                if checking is not None:
                    await checking
                    checking = None
                report = await engine.run(session.summary)
                await websocket.send_json({"type": "summary", "report": report})
                return await websocket.close()
            else:
                raise ApiError(400, "protocol", "expected a 'frames' or 'stop' message")
    finally:
        if checking is not None and not checking.done():
            checking.cancel()


async def _take_frames(session: LiveSession, frames: object, settings: Settings) -> int:
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
        return await session.engine.run(session.push, frames)
    except SequenceFormatError as exc:
        raise _invalid(exc.message, exc.field) from None


async def _fail(
    websocket: WebSocket, code: str, message: str, field: str | None = None, close: int = 1008
) -> None:
    """Send the error message, then close with ``close``; nothing if the client left."""
    connected = WebSocketState.CONNECTED
    if websocket.client_state != connected or websocket.application_state != connected:
        return
    try:
        await websocket.send_json({"type": "error", **error_body(code, message, field)})
        await websocket.close(code=close)
    except WebSocketDisconnect:  # the client left meanwhile: nobody to tell
        return


@router.websocket("/live")
async def live(websocket: WebSocket) -> None:
    """The live socket (protocol in the module docstring). Every way it ends after the
    accept is one of: a summary, an error message and a close, or the client leaving."""
    await websocket.accept()
    try:
        await _stream(websocket, await _start(websocket))
    except WebSocketDisconnect:
        return  # the client left: nobody to answer
    except ApiError as exc:
        await _fail(websocket, exc.code, exc.message, exc.field)
    except Exception:
        logger.exception("live socket failed")
        await _fail(websocket, "internal_error", "something went wrong on our side", close=1011)
