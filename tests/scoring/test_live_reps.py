"""The live repetition tracker applies the recorded segmentation's rules to the new frames
only: the same activity signal and level, and the same repetitions on steady clips."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from scoring.activity_track import RunningPercentile
from scoring.alignment import activity, segment_reps
from scoring.features import compute_features
from scoring.live_reps import RepTracker
from synthetic_data.generator import ClipRequest, generate_clip


def _poses(movement: str, seed: int) -> tuple[np.ndarray, float]:
    clip = generate_clip(ClipRequest(seed=seed, movement=movement, num_reps=5, num_cameras=1))
    return clip.h36m17(), clip.fps


def _tracked(poses: np.ndarray, fps: float, chunk: int) -> tuple[RepTracker, list]:
    """Feed ``poses`` ``chunk`` frames at a time, asking for finished repetitions after
    each chunk once two seconds came (as the live session does)."""
    tracker, finished = RepTracker(fps), []
    for first in range(0, len(poses), chunk):
        tracker.extend(poses[first : first + chunk])
        if tracker.frames >= 2 * fps:
            finished += tracker.finished()
    return tracker, finished


@pytest.mark.parametrize("chunk", [1, 7, 15, 10_000])
def test_the_activity_and_its_level_are_the_recorded_ones(chunk):
    poses, fps = _poses("squat", 0)
    tracker, _ = _tracked(poses, fps, chunk)
    signal = activity(compute_features(poses), fps)
    np.testing.assert_allclose(tracker.signal.view, signal, atol=1e-9)
    # The level is over the final values: all but the last two, still to be smoothed.
    assert tracker.level() == pytest.approx(np.percentile(signal[:-2], 98), abs=1e-9)


def test_the_running_percentile_is_numpys_after_every_addition():
    rng = np.random.default_rng(4)
    values = np.round(rng.gamma(2.0, 10.0, 3000), 1)  # rounded: many ties
    running, seen = RunningPercentile(98), []
    assert running.value() == 0.0
    for size in itertools.cycle([1, 3, 1, 70, 2, 5]):  # 70: the one-sort merge
        chunk = values[len(seen) : len(seen) + size].tolist()
        if not chunk:
            break
        running.add(chunk)
        seen += chunk
        assert len(running) == len(seen)
        ordered = sorted(seen)  # the two order statistics around (n - 1) * q, exactly
        position = (len(seen) - 1) * 98 / 100
        low, high = ordered[int(position)], ordered[min(int(position) + 1, len(seen) - 1)]
        assert running.value() == low + (high - low) * (position - int(position))
        assert running.value() == pytest.approx(np.percentile(seen, 98), rel=1e-12)


@pytest.mark.parametrize(
    ("movement", "seed"),
    [("squat", 0), ("squat", 2), ("lunge", 0), ("jumping_jack", 0), ("arm_raise", 1)],
)
def test_steady_clips_give_the_recorded_repetitions(movement, seed):
    """Each repetition but the last (still growing) is reported once, in order, with the
    bounds the whole recording's segmentation gives (within 2 frames: the level the
    thresholds come from grows as the session goes)."""
    poses, fps = _poses(movement, seed)
    tracker, finished = _tracked(poses, fps, 15)
    whole = segment_reps(compute_features(poses), fps)[:-1]
    assert len(finished) == len(whole) >= 3
    assert finished == tracker.bounds
    for (start, end), (whole_start, whole_end) in zip(finished, whole, strict=True):
        assert abs(start - whole_start) <= 2 and abs(end - whole_end) <= 2
    assert all(a[1] == b[0] for a, b in itertools.pairwise(finished))


def test_a_still_stream_has_no_repetitions():
    poses, fps = _poses("squat", 0)
    still = np.repeat(poses[:1], 300, axis=0)
    tracker, finished = _tracked(still, fps, 15)
    assert finished == [] and tracker.level() < 1.0


def test_repetitions_are_looked_for_after_the_last_finished_one_only():
    """What each call examines is the signal from the last finished repetition's peak on:
    a long session's call looks at about one repetition, not the session."""
    poses, fps = _poses("squat", 0)
    long = np.concatenate([poses] * 6)  # 6 clips' worth of repetitions, back to back
    tracker, finished = _tracked(long, fps, 15)
    assert len(finished) >= 20
    examined = tracker.frames - tracker.peaks[-1]
    assert examined < 2 * max(end - start for start, end in finished)
