"""Live coaching over a WebSocket: frames in, 3D poses and per-repetition cues out.

Protocol (JSON messages; schema in ``docs/live-messages.schema.json``):

1. client -> ``{"type": "start", "token": JWT?, "routine_id", "layout", "fps",
   "image_width", "image_height", "strictness"?, "beat_times"?}`` (the token may instead
   be in the ``token`` query parameter; ``beat_times``: for a routine to music, when the
   music's beats play, in seconds from the first frame)
2. server -> ``{"type": "ready", "receptive_field", "model_version"}``
3. client -> ``{"type": "frames", "frames": [[[x, y, score], ...], ...]}`` small batches
4. server -> ``{"type": "progress", "frames": n}`` per batch, and when a repetition
   completes ``{"type": "rep", "rep": k, "start_s", "end_s", "errors": [...]}``
5. client -> ``{"type": "stop"}``; server -> ``{"type": "summary", "report": {...}}``

Errors are ``{"type": "error", "error": {"code", "message", "field"?}}``; the socket is
then closed (``too_fast`` when frames arrive faster than real time: more than
``COACH_LIVE_MAX_SPEED`` x fps after ``COACH_LIVE_BURST_S`` seconds of catch-up).

Lifting runs the causal model frame by frame (bounded memory): small batches on the
event loop, larger ones in the worker pool. Finished repetitions are looked for every
half second in the background, on a thread of their own: the socket keeps taking frames
while a rep is scored, and ``rep`` messages may arrive a few batches after the rep ended
(always before the summary).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time

import numpy as np
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from coach_api.db import Routine, User
from coach_api.deps import MAX_ID
from coach_api.errors import ApiError, error_body
from coach_api.schemas import check_beat_times
from coach_api.security import read_token
from pose3d.keypoints import h36m_scores
from pose3d.sequence_json import KeypointSequence, SequenceFormatError, parse_sequence
from scoring import Reference, score_session
from scoring.alignment import segment_reps
from scoring.features import compute_features

router = APIRouter()
MAX_BATCH = 120
# Batches up to this many frames are lifted on the event loop (~2 ms for 5 frames): with
# 20 streams, handing each to the worker pool cost more in queueing and thread switches
# than the lifting itself (p99 96 -> 12 ms). Larger batches go to the pool.
INLINE_FRAMES = 10
# Earlier repetitions scored with each newly finished one: the detector compares each
# repetition with the user's others, and this bounds the cost of a long session.
LIVE_CONTEXT_REPS = 8


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


async def _fail(websocket: WebSocket, code: str, message: str, field: str | None = None) -> None:
    await websocket.send_json({"type": "error", **error_body(code, message, field)})
    await websocket.close(code=1008)


@router.websocket("/live")
async def live(websocket: WebSocket) -> None:
    await websocket.accept()
    app = websocket.app
    settings, engine = app.state.settings, app.state.engine
    checking: asyncio.Task | None = None  # the repetition check in flight, if any
    try:
        start = await websocket.receive_json()
        if not isinstance(start, dict) or start.get("type") != "start":
            return await _fail(
                websocket, "protocol", "the first message must be {'type': 'start', ...}"
            )
        token = start.get("token") or websocket.query_params.get("token")
        user_id = read_token(token, settings.signing_key) if token else None
        routine_id = start.get("routine_id")
        if not isinstance(routine_id, int) or not 1 <= routine_id <= MAX_ID:
            return await _fail(
                websocket, "invalid_input", "routine_id must be a routine id", "routine_id"
            )
        with app.state.sessionmaker() as db:
            user = db.get(User, user_id) if user_id is not None else None
            routine = db.get(Routine, routine_id) if user is not None else None
        if user is None:
            return await _fail(websocket, "unauthorized", "a valid token is required")
        if routine is None:
            return await _fail(websocket, "not_found", "no such routine", "routine_id")
        if not engine.lifter.causal:
            return await _fail(websocket, "unavailable", "the loaded lifter is not causal")
        reference = await engine.run(engine.reference, settings.blobs, routine)
        try:
            parse_sequence(
                {k: start.get(k) for k in ("layout", "fps", "image_width", "image_height")}
                | {
                    "frames": [
                        [[0.0, 0.0, 1.0]] * (33 if start.get("layout") == "mediapipe33" else 17)
                    ]
                }
            )
        except SequenceFormatError as exc:
            return await _fail(websocket, "invalid_input", exc.message, exc.field)
        try:
            start["beat_times"] = check_beat_times(start.get("beat_times"))
        except ApiError as exc:
            return await _fail(websocket, exc.code, exc.message, exc.field)
        session = LiveSession(
            engine, reference, start, start.get("strictness") or settings.strictness
        )
        await websocket.send_json(
            {
                "type": "ready",
                "receptive_field": engine.lifter.receptive_field,
                "model_version": engine.lifter.metadata.version,
            }
        )

        async def send_finished_reps() -> None:
            for rep in await engine.run(session.finished_reps, checks=True):
                await websocket.send_json(rep)

        while True:
            message = await websocket.receive_json()
            kind = message.get("type") if isinstance(message, dict) else None
            if kind == "frames":
                frames = message.get("frames")
                count = len(frames) if isinstance(frames, list) else 0
                if not session.admit(count, settings.live_max_speed, settings.live_burst_s):
                    return await _fail(
                        websocket,
                        "too_fast",
                        f"frames arrive faster than a {session.fps:g}-fps camera can film "
                        "them; live streams are real time",
                        "frames",
                    )
                try:
                    if isinstance(frames, list) and len(frames) <= INLINE_FRAMES:
                        count = session.push(frames)  # a few ms: cheaper than a thread hop
                    else:
                        count = await engine.run(session.push, frames)
                except SequenceFormatError as exc:
                    return await _fail(websocket, "invalid_input", exc.message, exc.field)
                await websocket.send_json({"type": "progress", "frames": count})
                if (checking is None or checking.done()) and session.check_due():
                    if checking is not None:
                        await checking  # a failed check fails the socket, as before
                    checking = asyncio.create_task(send_finished_reps())
            elif kind == "stop":
                if checking is not None:
                    await checking
                    checking = None
                try:
                    report = await engine.run(session.summary)
                except ApiError as exc:
                    return await _fail(websocket, exc.code, exc.message, exc.field)
                await websocket.send_json({"type": "summary", "report": report})
                return await websocket.close()
            else:
                return await _fail(websocket, "protocol", "expected a 'frames' or 'stop' message")
    except WebSocketDisconnect:
        return
    finally:
        if checking is not None and not checking.done():
            checking.cancel()
