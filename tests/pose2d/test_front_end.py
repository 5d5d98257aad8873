"""The front end as a whole (pose2d.front_end): identity first, then swaps."""

from __future__ import annotations

import numpy as np
import pytest

from pose2d.front_end import clean_keypoints
from tests.pose2d.filming import CLEAN, SWITCHING, film_from, real_clips


@pytest.fixture(scope="module")
def dance():
    return real_clips()[1]


def test_switch_and_swaps_are_both_repaired_and_said(dance):
    seen = film_from(dance, -110, 18, SWITCHING)
    assert seen.events["identity_switches"] == [(16, 57)]
    assert (65, 114, "legs") in seen.events["swaps"]
    cleaned = clean_keypoints(seen.keypoints, seen.scores, seen.fps, "mediapipe33")
    assert cleaned.identity.blanked == [(16, 57)]
    assert cleaned.swaps.stretches == [(65, 114, "legs")]
    assert cleaned.frames == len(seen.keypoints)
    assert cleaned.other_person_frames == cleaned.identity.blanked_frames > 0
    assert cleaned.swap_repaired_frames == cleaned.swaps.total > 0
    for start, end in cleaned.identity.blanked:
        assert np.isnan(cleaned.keypoints[start:end]).all()
        assert (cleaned.scores[start:end] == 0).all()
    text = " ".join(cleaned.notes)
    assert f"{cleaned.other_person_frames} frames" in text and "someone else" in text
    assert f"{cleaned.swap_repaired_frames} frames" in text and "left and right" in text


def test_a_clean_sequence_passes_unchanged(dance):
    seen = film_from(dance, 30, 5, CLEAN)
    cleaned = clean_keypoints(seen.keypoints, seen.scores, seen.fps)
    assert cleaned.notes == [] and not cleaned.main_too_rare
    assert cleaned.swap_repaired_frames == cleaned.other_person_frames == 0
    np.testing.assert_array_equal(cleaned.keypoints, seen.keypoints)
    np.testing.assert_array_equal(cleaned.scores, seen.scores)


def test_no_person_at_all_is_said():
    cleaned = clean_keypoints(np.full((6, 17, 2), np.nan), np.zeros((6, 17)), 30.0, "coco17")
    assert cleaned.main_too_rare and cleaned.notes == [
        "No person was found in the video's keypoints."
    ]


def test_bad_arrays_are_refused():
    with pytest.raises(ValueError, match="shape"):
        clean_keypoints(np.zeros((4, 33, 3)), np.ones((4, 33)), 30.0)
    with pytest.raises(ValueError, match="scores"):
        clean_keypoints(np.zeros((4, 33, 2)), np.full((4, 33), 2.0), 30.0)
