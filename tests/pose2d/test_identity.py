"""Frames of someone else found and blanked (pose2d.identity)."""

from __future__ import annotations

import numpy as np
import pytest

from lab.front_end_eval import true_states
from pose2d.identity import follow_person
from tests.pose2d.filming import CLEAN, SWITCHING, film_from, real_clips, synthetic_clips


@pytest.fixture(scope="module")
def clips():
    return real_clips() + synthetic_clips()


@pytest.fixture(scope="module")
def dance():
    """The real dance filmed from the front, one person: ``(keypoints, scores)``."""
    seen = film_from(real_clips()[1], 20, 11, CLEAN)
    return seen.keypoints, seen.scores


def _blanked(track, frames: int) -> np.ndarray:
    mask = np.zeros(frames, dtype=bool)
    for start, end in track.blanked:
        mask[start:end] = True
    return mask


def test_switches_to_someone_else_are_blanked(clips):
    """Every sequence follows someone else once; where that is less than half of it, the
    other person's frames are blanked and the user's are kept."""
    other_frames = caught = user_frames = user_blanked = 0
    for number, clip in enumerate(clips):
        for yaw in (0, 90, 180, -90):
            seen = film_from(clip, yaw, [100, number, yaw + 180], SWITCHING)
            frames = len(seen.keypoints)
            _, other = true_states(seen.events, frames)
            points, scores, track = follow_person(seen.keypoints, seen.scores, seen.fps)
            blanked = _blanked(track, frames)
            assert np.isnan(points[blanked]).all() and (scores[blanked] == 0).all()
            if other.mean() < 0.5:
                other_frames += int(other.sum())
                caught += int((other & blanked).sum())
                user_frames += int((~other).sum())
                user_blanked += int((~other & blanked).sum())
    assert other_frames > 100
    assert caught / other_frames >= 0.95
    assert user_blanked / user_frames <= 0.15


@pytest.mark.parametrize("yaw", [0, 90, 180])
def test_one_person_is_left_as_it_is(clips, yaw):
    for number, clip in enumerate(clips):
        seen = film_from(clip, yaw, [8, number], CLEAN)
        points, scores, track = follow_person(seen.keypoints, seen.scores, seen.fps)
        assert track.blanked == [] and track.people == 1
        assert track.main_share == 1.0 and not track.main_too_rare
        np.testing.assert_array_equal(points, seen.keypoints)
        np.testing.assert_array_equal(scores, seen.scores)


def _passer_by(keypoints: np.ndarray, frames: slice, shift_px: float) -> np.ndarray:
    """``keypoints`` with ``frames`` replaced by the same motion half a clip later,
    ``shift_px`` to the right: someone else dancing beside the user."""
    other = np.roll(keypoints, len(keypoints) // 2, axis=0) + np.array([shift_px, 0.0])
    mixed = keypoints.copy()
    mixed[frames] = other[frames]
    return mixed


@pytest.mark.parametrize("frames", [slice(0, 20), slice(50, 80), slice(100, None)])
def test_someone_else_at_the_start_middle_or_end(dance, frames):
    keypoints, scores = dance
    mixed = _passer_by(keypoints, frames, 400.0)
    _, _, track = follow_person(mixed, scores, 30.0)
    start, stop, _ = frames.indices(len(keypoints))
    assert track.blanked == [(start, stop)]
    assert track.main_share == pytest.approx(1 - (stop - start) / len(keypoints))


def test_a_steady_runner_is_not_cut(dance):
    """Moving across the image at a third of a torso length per frame (a sprint seen
    from the side) is a steady motion, not a jump."""
    keypoints, scores = dance
    torso = np.nanmedian(np.linalg.norm(keypoints[:, 11] - keypoints[:, 23], axis=-1))
    drift = np.arange(len(keypoints))[:, None, None] * np.array([torso / 3, 0.0])
    _, _, track = follow_person(keypoints + drift, scores, 30.0)
    assert track.blanked == []


def test_a_user_seen_in_less_than_half_of_the_frames_is_flagged(dance):
    keypoints, scores = dance
    hidden = np.arange(len(keypoints)) >= len(keypoints) * 2 // 5
    _, _, track = follow_person(
        np.where(hidden[:, None, None], np.nan, keypoints), np.where(hidden[:, None], 0, scores), 30
    )
    assert track.blanked == [] and track.main_too_rare
    assert track.main_share == pytest.approx((~hidden).mean())


def test_nobody_and_very_short_sequences(dance):
    points, scores, track = follow_person(np.full((9, 33, 2), np.nan), np.zeros((9, 33)), 30.0)
    assert np.isnan(points).all() and track.people == 0 and track.main_too_rare
    keypoints, scores = dance
    for frames in (1, 2):
        _, _, track = follow_person(keypoints[:frames], scores[:frames], 30.0)
        assert track.people == 1 and track.blanked == [] and track.main_share == 1.0
