"""The live sockets' frames lifted together, off the event loop.

Each socket's frame batch (parsed and checked on the event loop) is queued here, and one
task lifts everything queued in one call on the engine's live thread
(:func:`scoring.live.push_together`): while it runs, the batches that arrive queue up
for the next call, so the more streams there are, the more each call lifts at once.
Optionally (``COACH_LIVE_GATHER_MS``), a round that would start with fewer batches than
there are streams (or than ROUND_ENOUGH) first waits up to ``gather_s`` for more:
phones send out of step, so without the wait a round of 20 streams mostly holds one
batch, and a round costs about the same for one batch as for three (each pass reads
every weight once). The wait trades latency for CPU (docs/benchmarks.md), so it is off
by default. The event loop only parses messages and answers; a long recorded session in
the worker pool does not hold up the streams (the live thread is theirs).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np

from scoring.live import push_together

if TYPE_CHECKING:
    from coach_api.services import Engine
    from scoring.live import LiveSession

# Batches a round need not wait beyond: with 8, a batch's share of a round's fixed cost
# is already below its own (bench.stream_lifter: 5 frames of 1 stream 0.6 ms, of 20
# streams 3.8 ms), and an overloaded server's rounds are not held up.
ROUND_ENOUGH = 8

Push = tuple["LiveSession", np.ndarray, np.ndarray]
# Lifts a round of pushes: each session's poses so far, or what was wrong with its frames.
Lift = Callable[[list[Push]], list[int | Exception]]


class LiveBatcher:
    """Queues the streams' frame batches and lifts them together (one call per round),
    a round waiting up to ``gather_s`` seconds for the batches of the other open
    streams (:meth:`streaming`), or for ROUND_ENOUGH of them."""

    def __init__(self, engine: Engine, lift: Lift = push_together, gather_s: float = 0.0) -> None:
        self.engine, self.lift, self.gather_s = engine, lift, gather_s
        self.streams = 0  # sockets streaming now
        self._queued: list[tuple[Push, asyncio.Future[int]]] = []
        self._enough_queued = asyncio.Event()  # _wanted batches are queued
        self._task: asyncio.Task | None = None

    @contextlib.contextmanager
    def streaming(self) -> Iterator[None]:
        """Count a socket as streaming while the block runs (rounds wait for its
        batches)."""
        self.streams += 1
        try:
            yield
        finally:
            self.streams -= 1
            if self._queued and len(self._queued) >= self._wanted:
                self._enough_queued.set()

    async def push(self, session: LiveSession, keypoints: np.ndarray, scores: np.ndarray) -> int:
        """Lift ``keypoints`` ``(N, J, 2)`` and ``scores`` ``(N, J)`` into ``session`` with
        whatever else is queued; the session's poses so far. A session must not push again
        before this returns (its frames are lifted in order)."""
        done = asyncio.get_running_loop().create_future()
        self._queued.append(((session, keypoints, scores), done))
        if len(self._queued) >= self._wanted:
            self._enough_queued.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._lift_queued())
        return await done

    async def _lift_queued(self) -> None:
        """Lift rounds of queued batches until none is left."""
        while self._queued:
            await self._gather()
            round_, self._queued = self._queued, []
            pushes = [push for push, _ in round_]
            try:
                counts = await self.engine.run(self.lift, pushes, lane="live")
            except Exception as exc:  # the whole round failed: each of its sockets is told
                for _, done in round_:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for (_, done), count in zip(round_, counts, strict=True):
                if done.done():  # its socket went meanwhile
                    continue
                if isinstance(count, Exception):
                    done.set_exception(count)
                else:
                    done.set_result(count)

    @property
    def _wanted(self) -> int:
        """Batches a round waits for: one per open stream, up to ROUND_ENOUGH."""
        return min(self.streams, ROUND_ENOUGH)

    async def _gather(self) -> None:
        """Wait up to ``gather_s`` until :attr:`_wanted` batches are queued."""
        if self.gather_s <= 0 or len(self._queued) >= self._wanted:
            return
        self._enough_queued.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.gather_s):
                await self._enough_queued.wait()
