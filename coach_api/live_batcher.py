"""The live sockets' frames lifted together, off the event loop.

Each socket's frame batch (parsed and checked on the event loop) is queued here, and one
task lifts everything queued in one call on the engine's live thread
(:func:`scoring.live.push_together`): while it runs, the batches that arrive queue up
for the next call, so the more streams there are, the more each call lifts at once, with
no timer. The event loop only parses messages and answers; a long recorded session in
the worker pool does not hold up the streams (the live thread is theirs).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from scoring.live import push_together

if TYPE_CHECKING:
    from coach_api.services import Engine
    from scoring.live import LiveSession

Push = tuple["LiveSession", np.ndarray, np.ndarray]
# Lifts a round of pushes: each session's poses so far, or what was wrong with its frames.
Lift = Callable[[list[Push]], list[int | Exception]]


class LiveBatcher:
    """Queues the streams' frame batches and lifts them together (one call per round)."""

    def __init__(self, engine: Engine, lift: Lift = push_together) -> None:
        self.engine, self.lift = engine, lift
        self._queued: list[tuple[Push, asyncio.Future[int]]] = []
        self._task: asyncio.Task | None = None

    async def push(self, session: LiveSession, keypoints: np.ndarray, scores: np.ndarray) -> int:
        """Lift ``keypoints`` ``(N, J, 2)`` and ``scores`` ``(N, J)`` into ``session`` with
        whatever else is queued; the session's poses so far. A session must not push again
        before this returns (its frames are lifted in order)."""
        done = asyncio.get_running_loop().create_future()
        self._queued.append(((session, keypoints, scores), done))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._lift_queued())
        return await done

    async def _lift_queued(self) -> None:
        """Lift rounds of queued batches until none is left."""
        while self._queued:
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
