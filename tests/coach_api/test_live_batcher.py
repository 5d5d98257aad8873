"""The live batcher answers each socket's batch at once with its session's count, and
lifts the queued frames of every stream in one round on the live lane when asked; a
round lifts what each session lifted alone would."""

from __future__ import annotations

import asyncio
import itertools
import threading

import anyio
import numpy as np
import pytest

from coach_api.live_batcher import LiveBatcher
from pose3d.checkpoint import LifterMetadata
from pose3d.lifter import Lifter
from scoring.live import LiveModels, LiveSession, lift_together
from tests.conftest import make_model


class _Session:
    """Counts the frames queued into it and lifted from it, and on which thread."""

    fps = 30.0

    def __init__(self) -> None:
        self.queued, self.lifted, self.threads = 0, 0, set()

    @property
    def queued_poses(self) -> int:
        return self.queued - self.lifted

    @property
    def unlifted(self) -> bool:
        return self.queued_poses > 0

    def queue_arrays(self, keypoints: np.ndarray, scores: np.ndarray) -> int:
        if not len(keypoints):
            raise ValueError("no frames")
        self.queued += len(keypoints)
        return self.queued


def _lift(sessions: list[_Session]) -> None:
    for session in sessions:
        session.threads.add(threading.current_thread().name)
        session.lifted = session.queued


class _Engine:
    """Runs functions in a thread like the API's engine, recording each call's lane and
    how many sessions it lifted."""

    def __init__(self) -> None:
        self.rounds: list[tuple[str, int]] = []

    async def run(self, function, sessions, lane: str = "work"):
        self.rounds.append((lane, len(sessions)))
        await anyio.sleep(0.02)  # a lifting pass takes a while: others queue meanwhile
        return await anyio.to_thread.run_sync(function, sessions)


def _frames(count: int) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((count, 33, 2), np.float32), np.ones((count, 33), np.float32)


def test_batches_are_answered_at_once_and_lifted_together_when_asked():
    engine = _Engine()
    sessions = [_Session() for _ in range(20)]

    async def main() -> list[list[int]]:
        batcher = LiveBatcher(engine, _lift)
        counts = [[batcher.queue(s, *_frames(5)) for _ in range(3)] for s in sessions]
        assert engine.rounds == [] and all(s.lifted == 0 for s in sessions)  # no pass yet
        await batcher.lift(sessions[0])
        return counts

    assert asyncio.run(main()) == [[5, 10, 15]] * 20  # each its own, in order
    assert engine.rounds == [("live", 20)]  # one round for the 60 batches
    assert all(s.lifted == 15 for s in sessions)
    assert all(threading.main_thread().name not in s.threads for s in sessions)


def test_a_lift_returns_once_the_frames_queued_before_it_are_lifted():
    """Frames queued while a round runs (it took its sessions already) are lifted by the
    next round, which a lift called then waits for; lifts asked meanwhile share it."""
    engine = _Engine()
    first, second, third = _Session(), _Session(), _Session()

    async def main() -> None:
        batcher = LiveBatcher(engine, _lift)
        batcher.queue(first, *_frames(5))
        running = asyncio.create_task(batcher.lift(first))
        await asyncio.sleep(0.005)  # the round took `first` and is lifting
        batcher.queue(first, *_frames(2))
        batcher.queue(second, *_frames(3))
        waiting = [asyncio.create_task(batcher.lift(s)) for s in (first, second, second)]
        batcher.queue(third, *_frames(4))  # before the next round takes its sessions
        await asyncio.gather(running, *waiting)

    asyncio.run(main())
    assert (first.lifted, second.lifted, third.lifted) == (7, 3, 4)
    assert engine.rounds == [("live", 1), ("live", 3)]


def test_a_refused_batch_is_not_queued_and_a_gone_socket_does_not_stop_a_round():
    engine = _Engine()
    kept, gone = _Session(), _Session()

    async def main() -> None:
        batcher = LiveBatcher(engine, _lift)
        with pytest.raises(ValueError, match="no frames"):
            batcher.queue(_Session(), *_frames(0))
        batcher.queue(kept, *_frames(5))
        batcher.queue(gone, *_frames(5))
        batcher.discard(gone)  # its socket ended: its frames need no lifting
        leaving = asyncio.create_task(batcher.lift(kept))
        staying = asyncio.create_task(batcher.lift(kept))
        await asyncio.sleep(0.005)
        leaving.cancel()  # one waiting socket goes: the round goes on for the other
        with pytest.raises(asyncio.CancelledError):
            await leaving
        await staying

    asyncio.run(main())
    assert (kept.lifted, gone.lifted) == (5, 0)
    assert engine.rounds == [("live", 1)]


def _live_sessions(user_payload: dict, count: int) -> list[LiveSession]:
    """``count`` live sessions of ``user_payload``'s header on one tiny causal lifter."""
    model = make_model((3, 3), causal=True)
    lifter = Lifter(model, LifterMetadata(architecture=model.hyperparameters, fps=30))
    header = {key: user_payload[key] for key in ("layout", "fps", "image_width", "image_height")}
    models = LiveModels(lifter, lifter, None)
    return [LiveSession(models, None, header, "expert") for _ in range(count)]


def test_sessions_lifted_together_lift_what_each_lifts_alone(user_payload):
    """One network pass for several sessions' queued frames gives each exactly its own
    poses, and the counts answered before the pass are the poses it gives; frames that
    are refused are refused when queued, changing nothing."""
    sessions = _live_sessions(user_payload, 6)
    together, alone = sessions[:3], sessions[3:]
    frames = user_payload["frames"]
    for first in range(0, 60, 10):
        for half in (first, first + 5):  # two batches queued per session between passes
            batches = [together[n].parse(frames[half + 7 * n : half + 7 * n + 5]) for n in range(3)]
            counts = [
                session.queue_arrays(*b) for session, b in zip(together, batches, strict=True)
            ]
            assert counts == [alone[n].push_arrays(*batches[n]) for n in range(3)]
        lift_together(together)
        assert [len(s.poses) for s in together] == [len(s.poses) for s in alone]
    for mine, theirs in zip(together, alone, strict=True):
        np.testing.assert_allclose(mine.poses.rows(), theirs.poses.rows(), atol=1e-6)
        assert mine.frames_pushed == theirs.frames_pushed == 60
        assert mine.take_unsaved().frames == theirs.take_unsaved().frames

    wrong_layout = (np.zeros((5, 17, 2), np.float32), np.ones((5, 17), np.float32))
    with pytest.raises(ValueError):
        together[0].queue_arrays(*wrong_layout)
    assert together[0].pose_count == len(together[0].poses) and together[0].unsaved_frames == 0


def test_reading_a_sessions_poses_lifts_its_queued_frames_first(user_payload):
    """A check, a checkpoint or the summary of a session with frames still queued lifts
    them first: nothing reads a stream's poses short of what it answered."""
    (session,) = _live_sessions(user_payload, 1)
    answered = session.queue_arrays(*session.parse(user_payload["frames"][:40]))
    assert len(session.poses) == 0 and session.unsaved_frames == 40
    saved = session.take_unsaved()
    assert len(saved.poses) == answered == len(session.poses) and saved.frames == 40


def test_rounds_start_a_minimum_interval_apart_and_gather_what_came_meanwhile():
    """Streams ask for their poses at their own times; a round waits until
    ``min_round_s`` after the last one began, so the asks in between share it."""
    starts: list[float] = []

    class _TimedEngine(_Engine):
        async def run(self, function, sessions, lane: str = "work"):
            starts.append(asyncio.get_running_loop().time())
            return await super().run(function, sessions, lane)

    engine = _TimedEngine()
    sessions = [_Session() for _ in range(6)]

    async def main() -> None:
        batcher = LiveBatcher(engine, _lift, min_round_s=0.2)
        asks = []
        for session in sessions:  # one ask every 50 ms
            batcher.queue(session, *_frames(5))
            asks.append(asyncio.create_task(batcher.lift(session)))
            await asyncio.sleep(0.05)
        await asyncio.gather(*asks)

    asyncio.run(main())
    assert all(s.lifted == 5 for s in sessions)
    assert len(engine.rounds) < len(sessions)  # asks shared rounds
    assert all(later - earlier >= 0.2 - 1e-3 for earlier, later in itertools.pairwise(starts))


def test_a_round_lifts_a_bounded_number_of_frames_the_waiting_socket_first():
    """An overloaded server's backlog is lifted in rounds of at most ``round_frames``;
    a socket waiting for its own frames (``first``) is in the next round, not behind
    every other stream's, and the rounds go on until nothing is left."""
    engine = _Engine()
    sessions = [_Session() for _ in range(5)]

    async def main() -> list[int]:
        batcher = LiveBatcher(engine, _lift, min_round_s=0.0, round_frames=10)
        for session in sessions:
            batcher.queue(session, *_frames(5))
        await batcher.lift(sessions[-1], first=True)
        after_first = [s.lifted for s in sessions]
        await batcher.lift(sessions[2])  # the rounds after it take the others in order
        await batcher.lift(sessions[3])  # already on its way: the rounds go on by themselves
        return after_first

    assert asyncio.run(main()) == [5, 0, 0, 0, 5]  # the last one, then the oldest
    assert all(s.lifted == 5 for s in sessions)
    assert engine.rounds == [("live", 2), ("live", 2), ("live", 1)]


def test_frames_a_round_is_lifting_still_count_as_taken_in(user_payload):
    """While a round lifts a session's frames (taken from its queue, not yet recorded),
    its counts still hold them: a checkpoint falls due on the batch it would have, and
    the progress count does not go back."""
    (session,) = _live_sessions(user_payload, 1)
    answered = session.queue_arrays(*session.parse(user_payload["frames"][:30]))
    with session.stream.lift_lock:  # a round took the queue and is lifting it
        session._take_queued()
        assert session.unsaved_frames == 30 and session.pose_count == answered


def test_sockets_waiting_on_their_frames_are_lifted_in_the_order_they_asked():
    """Waiting sockets go before the others, in turn: a socket that asked first is not
    pushed back by those asking after it (an overloaded server starved it before)."""
    engine = _Engine()
    sessions = [_Session() for _ in range(6)]
    order: list[int] = []

    def lift(taken: list[_Session]) -> None:
        order.extend(sessions.index(s) for s in taken)
        _lift(taken)

    async def main() -> None:
        batcher = LiveBatcher(engine, lift, min_round_s=0.0, round_frames=10)
        for session in sessions:
            batcher.queue(session, *_frames(5))
        waits = [asyncio.create_task(batcher.lift(sessions[n], first=True)) for n in (4, 1, 5)]
        await asyncio.gather(*waits)
        await batcher.lift(sessions[3])

    asyncio.run(main())
    assert order == [4, 1, 5, 0, 2, 3]  # the waiting ones as they asked, then the oldest
