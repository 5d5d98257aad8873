"""The user chosen among several people a video shows (pose2d.people)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from pose2d.people import choose_user, people_note, someone_else
from pose3d.sequence_json import KeypointSequence
from pose3d.skeleton import MEDIAPIPE33
from scoring.keypoint_scoring import lift_keypoints
from tests.pose2d.filming import CLEAN, film_from, real_clips

FPS = 30.0


@pytest.fixture(scope="module")
def filmed():
    """Real motion filmed from the front: the dance (the user, 131 frames) and the walk
    played forward and back to the same length (someone else), ``(keypoints, scores)``."""
    walk, dance = real_clips()
    user = film_from(dance, 20, 11, CLEAN)
    other = film_from(walk, 0, 12, CLEAN)
    frames = len(user.keypoints)
    back_and_forth = np.concatenate(
        [np.arange(len(other.keypoints)), np.arange(len(other.keypoints))[::-1]]
    )
    order = np.resize(back_and_forth, frames)
    return (user.keypoints, user.scores), (other.keypoints[order], other.scores[order])


def _moved(keypoints: np.ndarray, scale: float, to: np.ndarray) -> np.ndarray:
    """``keypoints`` ``(T, J, 2)`` scaled about their mean by ``scale``, centred on ``to``
    ``(T, 2)`` px."""
    centre = np.nanmean(keypoints, axis=(0, 1))
    return (keypoints - centre) * scale + to[:, None, :]


def _crowd(filmed, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The user with a bystander (the walk, half the size, off to the side all along) and
    a passer-by (the walk again, 1.3 times the size, crossing the image in frames 40-80),
    the user unseen in frames 90-99; the three slots in a random order every frame.

    Returns keypoints ``(T, 3, 33, 2)``, scores ``(T, 3, 33)`` and the user's slot ``(T,)``
    (-1 where unseen)."""
    (user, user_scores), (walk, walk_scores) = filmed
    frames = len(user)
    centre = np.nanmean(user, axis=(0, 1))
    bystander = _moved(walk, 0.5, np.tile(centre + np.array([-600.0, 150.0]), (frames, 1)))
    crossing = np.linspace(centre[0] - 900, centre[0] + 900, 40)
    path = np.column_stack([crossing, np.full(40, centre[1] + 60)])
    passer = np.full_like(walk, np.nan)
    passer[40:80] = _moved(walk[40:80], 1.3, path)
    people = np.stack([user, bystander, passer], axis=1)
    scores = np.stack(
        [user_scores, walk_scores, np.where(np.isnan(passer[..., 0]), 0, walk_scores)], axis=1
    )
    people[90:100, 0], scores[90:100, 0] = np.nan, 0.0
    slots = np.array([rng.permutation(3) for _ in range(frames)])  # slot of person k: slots[t, k]
    shuffled_points = np.empty_like(people)
    shuffled_scores = np.empty_like(scores)
    rows = np.arange(frames)[:, None]
    shuffled_points[rows, slots] = people
    shuffled_scores[rows, slots] = scores
    user_slot = np.where(np.arange(frames) // 10 == 9, -1, slots[:, 0])
    return shuffled_points, shuffled_scores, user_slot


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_user_is_followed_among_a_bystander_and_a_passer_by(filmed, seed):
    """In every frame the chosen keypoints are the user's, whichever slot they come in; no
    frame of the bystander or the passer-by is taken, even while the user is unseen."""
    keypoints, scores, user_slot = _crowd(filmed, np.random.default_rng(seed))
    points, conf, choice = choose_user(keypoints, scores, FPS)
    seen = user_slot >= 0
    frames = np.flatnonzero(seen)
    np.testing.assert_array_equal(points[seen], keypoints[frames, user_slot[seen]])
    np.testing.assert_array_equal(conf[seen], scores[frames, user_slot[seen]])
    assert np.isnan(points[~seen]).all() and (conf[~seen] == 0).all()
    assert choice.people == 3
    assert choice.user_frames == seen.sum()
    assert choice.other_frames == (~seen).sum() == 10


def test_a_larger_passer_by_seen_briefly_or_a_bystander_seen_all_along_is_not_the_user(filmed):
    """The person filmed is the one seen longest and largest: a passer-by twice the user's
    size for a third of the video, or a bystander half the size all along, loses."""
    (user, user_scores), (walk, walk_scores) = filmed
    frames = len(user)
    centre = np.nanmean(user, axis=(0, 1))
    big = np.full_like(walk, np.nan)
    big[:40] = _moved(walk[:40], 2.0, np.tile(centre + np.array([700.0, 0.0]), (40, 1)))
    small = _moved(walk, 0.5, np.tile(centre + np.array([-500.0, 0.0]), (frames, 1)))
    big_scores = np.where(np.isnan(big[..., 0]), 0.0, walk_scores)
    keypoints = np.stack([big, small, user], axis=1)
    scores = np.stack([big_scores, walk_scores, user_scores], axis=1)
    points, _, choice = choose_user(keypoints, scores, FPS)
    np.testing.assert_array_equal(points, user)
    assert choice.people == 3 and choice.other_frames == 0


def test_one_person_in_any_slot_is_kept_as_it_is(filmed):
    (user, user_scores), _ = filmed
    for slot in range(3):
        keypoints = np.full((len(user), 3, 33, 2), np.nan, np.float32)
        scores = np.zeros((len(user), 3, 33), np.float32)
        keypoints[:, slot], scores[:, slot] = user, user_scores
        points, conf, choice = choose_user(keypoints, scores, FPS)
        np.testing.assert_array_equal(points, user)
        np.testing.assert_array_equal(conf, user_scores)
        assert choice.people == 1 and choice.user_frames == len(user)


def test_the_user_found_again_after_a_second_unseen_is_still_the_user(filmed):
    """MediaPipe loses the user for a second (while someone else is seen): when the user
    is found again, near where they were, they are the same person."""
    keypoints, scores, user_slot = _crowd(filmed, np.random.default_rng(5))
    (user, _), _ = filmed
    unseen = slice(50, 80)
    frames = np.arange(unseen.start, unseen.stop)
    keypoints[frames, user_slot[unseen]] = np.nan  # the passer-by is seen meanwhile
    scores[frames, user_slot[unseen]] = 0.0
    points, _, choice = choose_user(keypoints, scores, FPS)
    assert np.isnan(points[unseen]).all()
    after = slice(100, None)
    np.testing.assert_array_equal(points[after], user[after])
    assert choice.user_frames == len(user) - 30 - 10


def test_nobody_and_wrong_shapes():
    points, conf, choice = choose_user(np.full((5, 3, 33, 2), np.nan), np.zeros((5, 3, 33)), FPS)
    assert np.isnan(points).all() and (conf == 0).all()
    assert (choice.people, choice.user_frames, choice.other_frames) == (0, 0, 0)
    with pytest.raises(ValueError, match="keypoints must be"):
        choose_user(np.zeros((5, 33, 2)), np.zeros((5, 33)), FPS)
    with pytest.raises(ValueError, match="scores must be"):
        choose_user(np.zeros((5, 2, 33, 2)), np.zeros((5, 3, 33)), FPS)


def test_the_note_says_who_was_followed_and_what_was_left_out(filmed):
    keypoints, scores, _ = _crowd(filmed, np.random.default_rng(0))
    _, _, choice = choose_user(keypoints, scores, FPS)
    assert people_note(choice, FPS) == (
        "Other people were in view; the coach followed you (the person in view longest) "
        "and left out 10 frames (0.3 s) that showed only someone else."
    )
    (user, user_scores), _ = filmed
    alone = choose_user(user[:, None], user_scores[:, None], FPS)[2]
    assert people_note(alone, FPS) is None


def test_the_video_note_comes_first_in_the_lifted_notes(filmed, lifter):
    """A video's extraction note reaches the report before the front end's own."""
    (user, user_scores), _ = filmed
    note = "Other people were in view; the coach followed you (the person in view longest)."
    sequence = KeypointSequence("mediapipe33", FPS, 1920, 1080, user, user_scores, (note,))
    swapped = user.copy()
    swapped[40:70] = user[40:70][:, MEDIAPIPE33.flip_permutation]  # the front end repairs it
    lifted = lift_keypoints(lifter, replace(sequence, keypoints=swapped))
    assert lifted.notes[0] == note
    assert any("mixed up your left and right" in n for n in lifted.notes[1:])


def test_someone_else_is_anyone_found_away_from_the_person_followed(filmed):
    (user, user_scores), (walk, _) = filmed
    t = 60
    followed = (user[t], user_scores[t])
    jittered = user[t] + np.random.default_rng(0).normal(0, 2.0, user[t].shape)
    beside = walk[t] - np.nanmean(walk[t], axis=0) + np.nanmean(user[t], axis=0) + [500.0, 0.0]
    assert not someone_else(followed, (jittered[None], user_scores[t][None]))
    assert someone_else(followed, (np.stack([jittered, beside]), np.stack([user_scores[t]] * 2)))
    assert not someone_else(followed, (np.full((2, 33, 2), np.nan), np.zeros((2, 33))))
    nobody = (np.full((33, 2), np.nan), np.zeros(33))
    assert someone_else(nobody, (jittered[None], user_scores[t][None]))
