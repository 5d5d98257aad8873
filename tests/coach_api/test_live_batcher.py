"""The live batcher lifts the streams' queued batches together, on the live lane, and
answers each socket with its own session's count."""

from __future__ import annotations

import asyncio
import threading

import anyio
import numpy as np
import pytest

from coach_api.live_batcher import LiveBatcher


class _Session:
    """Counts the frames pushed into it, and on which thread."""

    def __init__(self) -> None:
        self.poses, self.threads = 0, set()

    def push_arrays(self, keypoints: np.ndarray, scores: np.ndarray) -> int:
        if not len(keypoints):
            raise ValueError("no frames")
        self.threads.add(threading.current_thread().name)
        self.poses += len(keypoints)
        return self.poses


class _Engine:
    """Runs functions in a thread like the API's engine, recording each call's lane and
    how many pushes it lifted."""

    def __init__(self) -> None:
        self.rounds: list[tuple[str, int]] = []

    async def run(self, function, pushes, lane: str = "work"):
        self.rounds.append((lane, len(pushes)))
        await anyio.sleep(0.01)  # a lifting pass takes a while: others queue meanwhile
        return await anyio.to_thread.run_sync(function, pushes)


def _frames(count: int) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((count, 33, 2), np.float32), np.ones((count, 33), np.float32)


def test_concurrent_streams_are_lifted_together_each_answered_with_its_own_count():
    engine = _Engine()
    sessions = [_Session() for _ in range(20)]

    async def stream(batcher: LiveBatcher, session: _Session, batches: int) -> list[int]:
        return [await batcher.push(session, *_frames(5)) for _ in range(batches)]

    async def main() -> list[list[int]]:
        batcher = LiveBatcher(engine)
        return await asyncio.gather(*(stream(batcher, s, 3) for s in sessions))

    counts = asyncio.run(main())
    assert counts == [[5, 10, 15]] * 20  # each its own, in order
    assert {lane for lane, _ in engine.rounds} == {"live"}
    assert sum(size for _, size in engine.rounds) == 60
    assert len(engine.rounds) <= 6  # 60 pushes in a few rounds, not 60 calls
    assert all(threading.main_thread().name not in s.threads for s in sessions)


def test_a_failed_push_fails_its_socket_only():
    engine = _Engine()

    async def main():
        batcher = LiveBatcher(engine)
        bad = batcher.push(_Session(), *_frames(0))
        good = batcher.push(_Session(), *_frames(5))
        results = await asyncio.gather(bad, good, return_exceptions=True)
        return results, await batcher.push(_Session(), *_frames(3))

    (bad, good), after = asyncio.run(main())
    assert isinstance(bad, ValueError) and good == 5  # the same round
    assert after == 3 and len(engine.rounds) == 2


def test_a_socket_gone_while_its_round_runs_does_not_stop_the_others():
    engine = _Engine()

    async def main():
        batcher = LiveBatcher(engine)
        gone = asyncio.create_task(batcher.push(_Session(), *_frames(5)))
        kept = asyncio.create_task(batcher.push(_Session(), *_frames(5)))
        await asyncio.sleep(0)  # both queued
        gone.cancel()
        with pytest.raises(asyncio.CancelledError):
            await gone
        return await kept

    assert asyncio.run(main()) == 5
