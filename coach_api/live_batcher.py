"""The live sockets' frames lifted together, off the event loop, when their poses are
needed.

A socket's frame batch is checked and taken in on the event loop
(:meth:`scoring.live.LiveSession.queue_arrays`: which frames will give a pose is known
before the network runs), answered at once, and queued here. The causal network runs
only when a stream's poses are read (its repetition check, its checkpoint, its
summary) or when half a second of its frames waits: then rounds on the engine's live
thread lift the queued frames of many streams in one call each
(:func:`scoring.live.lift_together`). A round costs about the same for one batch as for
many (each pass reads every weight once: ``bench.stream_lifter``), so lifting each
batch as it came cost a 20-stream server most of a round per batch; now a round holds
the batches of many streams, and no answer waits for a network pass unless its stream
has fallen behind (docs/design-notes.md, coach_api).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from scoring.live import lift_together

if TYPE_CHECKING:
    from coach_api.services import Engine
    from scoring.live import LiveSession

logger = logging.getLogger(__name__)

# Lifts the queued frames of a round's sessions in one pass.
Lift = Callable[[list["LiveSession"]], None]
# A round starts at least this long after the one before (seconds): with every stream's
# checks asking for their poses twice a second, rounds on demand would each hold a batch
# or two; a round's cost is mostly per pass, so waiting for the others' is cheaper. It
# delays a repetition's check by up to this much, never a progress answer.
ROUND_EVERY_S = 0.1
# Frames a round lifts at most (the sessions that asked first, then the oldest queued):
# an overloaded server's backlog is lifted in rounds of bounded length, so a socket that
# waits for its own frames (a checkpoint) waits for about one round, not for the
# backlog of every stream.
ROUND_FRAMES = 300
# Seconds of frames a stream may have queued before its socket waits for them: an
# overloaded server slows the phones' answers down rather than holding a growing backlog.
MAX_QUEUED_S = 1.0


class LiveBatcher:
    """Holds the sessions with queued frames and lifts them together, one round at a
    time."""

    def __init__(
        self,
        engine: Engine,
        lift: Lift = lift_together,
        min_round_s: float = ROUND_EVERY_S,
        round_frames: int = ROUND_FRAMES,
    ) -> None:
        self.engine, self.lift_sessions = engine, lift
        self.min_round_s, self.round_frames = min_round_s, round_frames
        self._last_round = -float("inf")  # loop time the last round started
        # Sessions with frames no round took yet, in the order the next rounds take them:
        # those whose sockets wait on them first (in the order they asked), then the rest.
        self._waited: OrderedDict[int, LiveSession] = OrderedDict()
        self._queued: OrderedDict[int, LiveSession] = OrderedDict()
        self._next: asyncio.Task | None = None  # the round that has not taken its sessions
        self._current: asyncio.Task | None = None  # the round lifting the sessions it took
        self._one_at_a_time = asyncio.Lock()

    def queue(self, session: LiveSession, keypoints: np.ndarray, scores: np.ndarray) -> int:
        """Take in ``keypoints`` ``(N, J, 2)`` and ``scores`` ``(N, J)`` for ``session``'s
        next round (``ValueError`` naming what is wrong, nothing taken in); the session's
        poses so far, these frames' counted."""
        count = session.queue_arrays(keypoints, scores)
        if id(session) not in self._waited:
            self._queued.setdefault(id(session), session)  # a queued one keeps its place
        return count

    def discard(self, session: LiveSession) -> None:
        """Forget a session whose socket ended (its queued frames need no lifting)."""
        self._queued.pop(id(session), None)
        self._waited.pop(id(session), None)

    async def lift(self, session: LiveSession, first: bool = False) -> None:
        """Return once ``session``'s frames queued before the call are lifted, in rounds
        with the other queued sessions'; ``first`` (a socket waiting on it) puts it before
        every session nobody waits on, after those waited on before it (no socket waits
        behind ones that asked later). Cancelling the caller does not stop a round
        (other sockets wait for it too)."""
        if first and id(session) in self._queued:
            self._waited[id(session)] = self._queued.pop(id(session))
        while session.unlifted:
            if id(session) in self._queued or id(session) in self._waited:
                await asyncio.shield(self.request())
            elif self._current is not None:  # its frames are in the round running now
                await asyncio.shield(self._current)
            else:  # not queued here (a reader of its poses lifts them itself)
                return

    def backlogged(self, session: LiveSession) -> bool:
        """Whether ``session`` has more than MAX_QUEUED_S of frames waiting."""
        return session.queued_poses > MAX_QUEUED_S * session.fps

    def request(self) -> asyncio.Task:
        """The next round, started if none is waiting to: :meth:`lift` without waiting
        for it (a failed round is logged when nobody waits)."""
        if self._next is None:
            self._next = asyncio.create_task(self._round())
            self._next.add_done_callback(_log_failure)
        return self._next

    async def _round(self) -> None:
        async with self._one_at_a_time:
            loop = asyncio.get_running_loop()
            await asyncio.sleep(self._last_round + self.min_round_s - loop.time())
            self._next = None  # sessions queued from now on wait for the next round
            self._last_round = loop.time()
            sessions, frames = [], 0
            for waiting in (self._waited, self._queued):
                while waiting and frames < self.round_frames:
                    _, session = waiting.popitem(last=False)
                    sessions.append(session)
                    frames += session.queued_poses
            self._current = asyncio.current_task()
            try:
                if sessions:
                    await self.engine.run(self.lift_sessions, sessions, lane="live")
            finally:
                self._current = None
            if self._waited or self._queued:  # what this round left: the next one, at once
                self.request()


def _log_failure(round_: asyncio.Task) -> None:
    """Log a round that failed (each socket waiting for it fails too)."""
    if not round_.cancelled() and round_.exception() is not None:
        logger.error("lifting the live streams failed", exc_info=round_.exception())
