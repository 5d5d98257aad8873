"""Repetitions and DTW alignment: counting reps of a periodic motion, and recovering how a
user's timing maps onto the trainer's (the path, the tempo, what is left unmatched)."""

import numpy as np
import pytest

from scoring.alignment import activity, align, moving_average, segment_reps
from scoring.features import compute_features
from synthetic_data.generator import ClipRequest, generate_clip, trainer_clip
from tests.scoring.conftest import motion, squat_track

FPS = 30.0


def _reference(frames: int = 150) -> np.ndarray:
    """``(frames, 3)`` features (degrees) with no two phases alike: two waves and a ramp."""
    t = np.arange(frames, dtype=np.float64)
    return np.stack(
        [60 * np.sin(2 * np.pi * t / 50), 45 * np.cos(2 * np.pi * t / 37), 90 * t / frames], 1
    )


def _played_at(reference: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The reference read at (fractional) frame ``positions``."""
    frames = np.arange(len(reference))
    return np.stack([np.interp(positions, frames, column) for column in reference.T], 1)


def test_moving_average_keeps_length_and_constants_and_spreads_a_spike_evenly():
    values = np.zeros(21)
    values[10] = 5.0
    smoothed = moving_average(values, 5)
    assert smoothed.shape == values.shape
    np.testing.assert_allclose(smoothed[8:13], 1.0)  # centred: two frames either side
    assert smoothed[:8].sum() == smoothed[13:].sum() == 0
    np.testing.assert_allclose(moving_average(np.full(7, 3.0), 4), 3.0)
    assert moving_average(values, 1) is values


def test_activity_is_the_distance_from_the_starting_pose():
    features = np.zeros((60, 2))
    features[30:, 0], features[30:, 1] = 30.0, 40.0  # 50 degrees away from rest
    signal = activity(features, FPS)
    assert signal[:25].max() == 0 and signal[35:] == pytest.approx(50.0)


@pytest.mark.parametrize("reps", [1, 3, 5])
def test_each_repetition_of_a_periodic_motion_is_counted_once(reps):
    knee, bumps = squat_track(reps)
    features = np.stack([knee, 0.3 * knee], 1)
    found = segment_reps(features, FPS)
    assert len(found) == reps
    for (start, end), (bump_start, bump_end) in zip(found, bumps, strict=True):
        assert start <= bump_start and bump_end <= end  # the whole excursion is inside
    # Back to back, in order: each boundary sits in the calm between two excursions.
    for i in range(reps - 1):
        assert found[i][1] == found[i + 1][0]
        assert bumps[i][1] <= found[i][1] <= bumps[i + 1][0]


def test_no_repetitions_in_a_still_or_twitching_recording():
    still = np.random.default_rng(0).normal(scale=1.0, size=(90, 4))  # < 5 deg: noise
    assert segment_reps(still, FPS) == []
    twitch = np.zeros((90, 2))
    twitch[40:45, 0] = 80.0  # a sixth of a second: too short to be a repetition
    assert segment_reps(twitch, FPS) == []


@pytest.mark.parametrize(
    ("movement", "tempo", "reps"),
    [("squat", 1.4, 5), ("squat", 0.7, 3), ("arm_raise", 1.0, 4), ("lunge", 1.2, 3)],
)
def test_repetitions_of_simulated_sessions_are_found(movement, tempo, reps):
    clip = generate_clip(
        ClipRequest(seed=1, movement=movement, num_reps=reps, tempo=tempo, errors=[])
    )
    found = segment_reps(compute_features(clip.h36m17()), clip.fps)
    assert len(found) == len(clip.reps) == reps
    for start, end in clip.reps:  # every labelled rep's middle is in exactly one found rep
        middle = (start + end) // 2
        assert sum(a <= middle < b for a, b in found) == 1


@pytest.mark.parametrize("stretch", [1.5, 0.6])
def test_a_uniformly_slower_or_faster_copy_aligns_along_its_stretch(stretch):
    reference = _reference()
    user_frames = round(len(reference) * stretch)
    truth = np.arange(user_frames) * (len(reference) - 1) / (user_frames - 1)
    alignment = align(_played_at(reference, truth), FPS, reference, FPS)
    assert alignment.ref_index.shape == (user_frames,) and alignment.matched.all()
    assert np.all(np.diff(alignment.ref_index) >= 0)  # time never runs backwards
    assert alignment.ref_index[0] == 0 and alignment.ref_index[-1] == len(reference) - 1
    assert np.abs(alignment.ref_index - truth).max() <= 1
    inner = alignment.tempo[15:-15]
    np.testing.assert_allclose(inner, 1 / stretch, rtol=0.05)  # slower user: tempo < 1
    assert alignment.cost < 0.002  # the same motion: only resampling error is left


def test_timing_that_drifts_between_the_anchors_is_recovered_by_dtw():
    """The user is early in the first half and late in the second: the anchors (the ends)
    alone would be off by up to 8 frames; the warping path follows the drift."""
    reference = _reference()
    user_frames = 180
    straight = np.arange(user_frames) * (len(reference) - 1) / (user_frames - 1)
    truth = straight + 8 * np.sin(np.pi * straight / (len(reference) - 1))
    alignment = align(_played_at(reference, truth), FPS, reference, FPS)
    assert np.abs(straight - truth).max() > 7
    assert np.abs(alignment.ref_index - truth).max() <= 2
    assert np.all(np.diff(alignment.ref_index) >= 0)


def test_tempo_is_relative_to_each_sides_frame_rate():
    """The same motion filmed at 60 fps against a 30 fps trainer: the same speed."""
    reference = _reference()
    truth = np.arange(2 * len(reference) - 1) / 2
    alignment = align(_played_at(reference, truth), 60.0, reference, FPS)
    np.testing.assert_allclose(alignment.tempo[30:-30], 1.0, rtol=0.05)


def test_frames_outside_the_anchors_are_left_unmatched():
    """A user who starts 20 frames late and walks away for 15 after the end."""
    reference = _reference()
    copy = _played_at(reference, np.arange(len(reference), dtype=np.float64))
    user = np.concatenate([np.repeat(copy[:1], 20, 0), copy, np.repeat(copy[-1:], 15, 0)])
    last = 20 + len(reference) - 1
    anchors = (np.array([20.0, last]), np.array([0.0, len(reference) - 1]))
    alignment = align(user, FPS, reference, FPS, anchors=anchors)
    expected = np.zeros(len(user), bool)
    expected[20 : last + 1] = True
    np.testing.assert_array_equal(alignment.matched, expected)
    inside = alignment.ref_index[20 : last + 1]
    assert np.abs(inside - np.arange(len(reference))).max() <= 1


def test_the_further_the_motion_from_the_trainers_the_higher_the_cost():
    reference = _reference()
    costs = []
    for lower in (0.0, 10.0, 30.0, 60.0):  # e.g. the arm that much lower throughout
        user = reference.copy()
        user[:, 0] -= lower
        costs.append(align(user, FPS, reference, FPS).cost)
    assert costs[0] == pytest.approx(0.0, abs=1e-9)
    assert costs == sorted(costs) and len(set(costs)) == 4


@pytest.mark.parametrize(("user_fps", "ref_fps"), [(0.0, 30.0), (30.0, -1.0)])
def test_frame_rates_must_be_positive(user_fps, ref_fps):
    reference = _reference(40)
    with pytest.raises(ValueError, match="fps must be positive"):
        align(reference, user_fps, reference, ref_fps)


def test_a_user_repeating_the_trainers_rep_faster_aligns_rep_by_rep():
    """Real features: the trainer's squat template against a user's 3 reps at 1.3x."""
    trainer = trainer_clip("squat")
    features = compute_features(trainer.h36m17())
    start, end = trainer.reps[0]
    template = features[start:end]
    length = len(template)
    user_rep = round(length / 1.3)
    positions = np.arange(user_rep) * (length - 1) / (user_rep - 1)
    user = np.concatenate([_played_at(template, positions)] * 3)
    track = np.tile(template, (3, 1))
    # The repetition boundaries, as the session plans them.
    anchors = (
        np.array([0, user_rep, 2 * user_rep, 3 * user_rep - 1], dtype=float),
        np.array([0, length, 2 * length, 3 * length - 1], dtype=float),
    )
    alignment = align(user, FPS, track, FPS, anchors=anchors)
    phase = np.tile(np.arange(length), 3)[alignment.ref_index]
    np.testing.assert_allclose(alignment.tempo[15:-15], 1.3, rtol=0.1)
    truth = np.tile(positions, 3)
    assert np.abs(phase - truth).max() <= 3


def test_synthetic_squat_poses_count_their_reps():
    """The same counting on poses built joint by joint (tests/scoring/conftest.py)."""
    knee, bumps = squat_track(2)
    poses = motion(knee_flexion_left=knee, knee_flexion_right=knee)
    assert len(segment_reps(compute_features(poses), FPS)) == len(bumps)


def test_repetitions_that_never_return_to_the_start_pose_are_counted_apart():
    """Real jumping jacks: between jacks the arms come down but the legs stay apart, so
    the motion never gets back near the start pose; each peak is still one repetition,
    and a wobble at the top of one is not two."""
    knee, bumps = squat_track(4)
    arms = knee.copy()
    legs = np.zeros_like(knee)
    legs[bumps[0][0] :] = 30.0  # apart from the first jump on (a third of the peak)
    arms[bumps[1][0] + 20 : bumps[1][0] + 26] -= 12.0  # a dip at the top of the second
    found = segment_reps(np.stack([arms, legs], 1), FPS)
    assert len(found) == 4
    for (start, end), (bump_start, bump_end) in zip(found, bumps, strict=True):
        assert start <= (bump_start + bump_end) // 2 < end
