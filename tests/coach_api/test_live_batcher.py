"""The live batcher lifts the streams' queued batches together, on the live lane, and
answers each socket with its own session's count; lifting sessions together gives what
lifting each alone gives."""

from __future__ import annotations

import asyncio
import contextlib
import threading

import anyio
import numpy as np
import pytest

from coach_api.live_batcher import ROUND_ENOUGH, LiveBatcher
from pose3d.checkpoint import LifterMetadata
from pose3d.lifter import Lifter
from scoring.live import LiveModels, LiveSession, _push_each, push_together
from tests.conftest import make_model


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
        batcher = LiveBatcher(engine, _push_each)
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
        batcher = LiveBatcher(engine, _push_each)
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
        batcher = LiveBatcher(engine, _push_each)
        gone = asyncio.create_task(batcher.push(_Session(), *_frames(5)))
        kept = asyncio.create_task(batcher.push(_Session(), *_frames(5)))
        await asyncio.sleep(0)  # both queued
        gone.cancel()
        with pytest.raises(asyncio.CancelledError):
            await gone
        return await kept

    assert asyncio.run(main()) == 5


class _QuickEngine(_Engine):
    """An engine whose rounds take no time: rounds are only gathered by waiting."""

    async def run(self, function, pushes, lane: str = "work"):
        self.rounds.append((lane, len(pushes)))
        return function(pushes)


def _staggered_rounds(gather_s: float, streams: int = 4) -> list[tuple[str, int]]:
    """The rounds of ``streams`` open streams each pushing one batch, 20 ms apart."""
    engine = _QuickEngine()

    async def one(batcher: LiveBatcher, delay: float) -> int:
        with batcher.streaming():
            await asyncio.sleep(delay)
            return await batcher.push(_Session(), *_frames(5))

    async def main() -> list[int]:
        batcher = LiveBatcher(engine, _push_each, gather_s=gather_s)
        return await asyncio.gather(*(one(batcher, 0.02 * n) for n in range(streams)))

    assert asyncio.run(main()) == [5] * streams
    return engine.rounds


def test_a_round_waits_for_the_other_open_streams_batches():
    assert _staggered_rounds(gather_s=1.0) == [("live", 4)]  # all four in one pass
    assert len(_staggered_rounds(gather_s=0.0)) > 1  # no waiting: one round per arrival


def test_a_round_waits_for_no_one_when_every_open_stream_is_queued():
    """One stream alone, or a stream whose neighbour closed, is lifted at once: the wait
    (here 30 s) is only for batches still due."""
    engine = _QuickEngine()

    async def main() -> tuple[int, int]:
        batcher = LiveBatcher(engine, _push_each, gather_s=30.0)
        with batcher.streaming():
            alone = await asyncio.wait_for(batcher.push(_Session(), *_frames(5)), 1.0)
            with batcher.streaming():  # a second stream opens, then closes without a batch
                waiting = asyncio.create_task(batcher.push(_Session(), *_frames(3)))
                await asyncio.sleep(0.01)
                assert not waiting.done()  # the round waits for the second stream
            return alone, await asyncio.wait_for(waiting, 1.0)

    assert asyncio.run(main()) == (5, 3)


def test_a_round_of_enough_batches_waits_for_no_more():
    """With more streams open than ROUND_ENOUGH, a round starts once that many batches are
    queued: an overloaded server's rounds are not held up by the wait."""
    engine = _QuickEngine()

    async def main() -> list[int]:
        batcher = LiveBatcher(engine, _push_each, gather_s=30.0)
        with contextlib.ExitStack() as open_streams:
            for _ in range(ROUND_ENOUGH + 4):
                open_streams.enter_context(batcher.streaming())
            pushes = (batcher.push(_Session(), *_frames(2)) for _ in range(ROUND_ENOUGH))
            return await asyncio.wait_for(asyncio.gather(*pushes), 1.0)

    assert asyncio.run(main()) == [2] * ROUND_ENOUGH
    assert engine.rounds == [("live", ROUND_ENOUGH)]


def test_sessions_lifted_together_lift_what_each_lifts_alone(user_payload):
    """One network pass for several sessions gives each exactly its own poses; frames of
    one that are refused fail that one only."""
    model = make_model((3, 3), causal=True)
    lifter = Lifter(model, LifterMetadata(architecture=model.hyperparameters, fps=30))
    header = {key: user_payload[key] for key in ("layout", "fps", "image_width", "image_height")}
    models = LiveModels(lifter, lifter, None)
    together, alone = (
        [LiveSession(models, None, header, "expert") for _ in range(3)] for _ in "ab"
    )
    frames = user_payload["frames"]
    for first in range(0, 60, 5):
        batches = [together[n].parse(frames[first + 7 * n : first + 7 * n + 5]) for n in range(3)]
        counts = push_together([(s, *b) for s, b in zip(together, batches, strict=True)])
        assert counts == [alone[n].push_arrays(*batches[n]) for n in range(3)]
    for mine, theirs in zip(together, alone, strict=True):
        np.testing.assert_allclose(np.stack(mine.poses), np.stack(theirs.poses), atol=1e-6)

    wrong_layout = (np.zeros((5, 17, 2), np.float32), np.ones((5, 17), np.float32))
    good = together[1].parse(frames[60:65])
    counts = push_together([(together[0], *wrong_layout), (together[1], *good)])
    assert isinstance(counts[0], ValueError)
    assert counts[1] == alone[1].push_arrays(*good)
