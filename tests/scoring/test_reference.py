"""The trainer's reference: one template repetition, how much the trainer varies per
phase, the template repeated for a session, and routines cut on the music's beats."""

import numpy as np
import pytest

from scoring.features import F, compute_features
from scoring.reference import MIN_VARIABILITY_DEG, Reference
from synthetic_data.generator import trainer_clip
from tests.scoring.conftest import motion, squat_track

FPS = 30.0


@pytest.fixture(scope="module")
def squat() -> Reference:
    clip = trainer_clip("squat")
    return Reference.from_poses(clip.h36m17(), clip.fps, "squat")


def test_the_template_is_one_of_the_trainers_repetitions(squat):
    clip = trainer_clip("squat")
    rep_frames = [end - start for start, end in clip.reps]
    start, end = squat.template
    assert 0 <= start < end <= clip.num_frames
    assert squat.template_length == end - start
    assert abs(squat.template_length - np.median(rep_frames)) <= 5
    assert squat.rep_seconds == pytest.approx(squat.template_length / clip.fps)
    np.testing.assert_array_equal(squat.template_features, squat.features[start:end])
    np.testing.assert_array_equal(squat.template_poses, squat.poses[start:end])
    # The template holds a whole squat: down and back up.
    knee = squat.template_features[:, F["knee_flexion_left"]]
    assert knee.max() - knee[0] > 60 and knee.max() - knee[-1] > 60
    assert squat.movement == "squat" and squat.fps == clip.fps and squat.beats_per_rep == 0


@pytest.mark.parametrize("repetitions", [1, 3, 5])
def test_a_session_is_compared_with_the_template_repeated(squat, repetitions):
    track, phase = squat.track(repetitions)
    length = squat.template_length
    assert track.shape == (repetitions * length, squat.features.shape[1])
    np.testing.assert_array_equal(phase, np.tile(np.arange(length), repetitions))
    for k in range(repetitions):
        np.testing.assert_array_equal(track[k * length : (k + 1) * length], squat.template_features)


def test_a_session_without_repetitions_is_compared_with_one(squat):
    track, phase = squat.track(0)
    assert len(track) == len(phase) == squat.template_length


def test_variability_is_per_phase_and_never_below_its_floor(squat):
    assert squat.variability.shape == squat.template_features.shape
    assert (squat.variability >= MIN_VARIABILITY_DEG).all()


def test_variability_shows_where_the_trainers_repetitions_differ():
    """Three squats, the last with the back bent up to 12 degrees at the bottom: the spread
    is at its floor for the knees and at the bottom of the squat for the spine."""
    knee, bumps = squat_track(3)
    spine = np.zeros_like(knee)
    start, end = bumps[2]
    spine[start:end] = knee[start:end] * 12 / 90
    poses = motion(knee_flexion_left=knee, knee_flexion_right=knee, spine_flexion=spine)
    reference = Reference.from_poses(poses, FPS, "squat")
    start, end = reference.template
    assert sum(start <= a and b <= end for a, b in bumps) == 1  # one whole squat
    variability = reference.variability
    np.testing.assert_allclose(variability[:, F["knee_flexion_left"]], MIN_VARIABILITY_DEG)
    spine_spread = variability[:, F["spine_flexion"]]
    bottom = int(np.argmax(reference.template_features[:, F["knee_flexion_left"]]))
    # Two reps with a straight back and one bent by 12: a standard deviation of ~5.7.
    assert spine_spread[bottom] == pytest.approx(12 * np.sqrt(2) / 3, rel=0.15)
    assert spine_spread[0] == pytest.approx(MIN_VARIABILITY_DEG)  # standing: no difference


def test_a_trainer_who_hardly_moves_gives_no_reference():
    still = motion(knee_flexion_left=np.full(60, 2.0))
    with pytest.raises(ValueError, match="no repetition"):
        Reference.from_poses(still, FPS, "squat")


@pytest.mark.parametrize("fps", [0.0, -30.0, float("nan")])
def test_the_frame_rate_must_be_positive(fps):
    knee, _ = squat_track(2)
    with pytest.raises(ValueError, match="fps must be positive"):
        Reference.from_poses(motion(knee_flexion_left=knee), fps, "squat")


def test_bad_poses_are_refused_by_name():
    with pytest.raises(ValueError, match=r"reference poses must be H36M-17"):
        Reference.from_poses(np.zeros((50, 17, 2)), FPS, "squat")


def test_a_routine_to_music_is_cut_into_repetitions_of_its_beats():
    dance = trainer_clip("dance")
    beats = list(dance.beat_times)
    reference = Reference.for_routine(dance.h36m17(), dance.fps, "dance", beats, 16)
    interval = float(np.median(np.diff(beats)))
    assert reference.template_length == round(16 * interval * dance.fps)
    start, _ = reference.template
    assert (start - round(beats[0] * dance.fps)) % reference.template_length == 0  # on a beat
    assert reference.beats_per_rep == 16
    assert reference.on_the_beat(beats)
    assert not reference.on_the_beat(None) and not reference.on_the_beat(beats[:1])
    # Without the beats, the same motion is cut where the trainer starts and stops moving.
    untimed = Reference.for_routine(dance.h36m17(), dance.fps, "dance")
    assert untimed.beats_per_rep == 0 and not untimed.on_the_beat(beats)


def test_a_routine_without_music_is_a_plain_reference(squat):
    clip = trainer_clip("squat")
    plain = Reference.for_routine(clip.h36m17(), clip.fps, "squat")
    assert plain.template == squat.template
    np.testing.assert_array_equal(plain.variability, squat.variability)


@pytest.mark.parametrize(
    ("beats", "beats_per_rep"), [([1.0], 16), ([1.0, 1.5, 2.0], 0)], ids=["one beat", "no rep"]
)
def test_music_needs_two_beats_and_a_repetition_length(beats, beats_per_rep):
    dance = trainer_clip("dance")
    with pytest.raises(ValueError, match="at least 2 beat times and beats_per_rep"):
        Reference.for_routine(dance.h36m17(), dance.fps, "dance", beats, beats_per_rep)


def test_features_are_those_of_the_poses(squat):
    np.testing.assert_allclose(squat.features, compute_features(squat.poses))


def test_repetitions_found_as_the_routine_was_stored_make_its_template():
    clip = trainer_clip("squat")
    poses = clip.h36m17()
    given = [(10, 40), (40, 110), (110, 160)]  # 30, 70 and 50 frames
    reference = Reference.for_routine(poses, clip.fps, "squat", reps=given)
    assert reference.template == (110, 160)  # the median-length one
    assert Reference.for_routine(poses, clip.fps, "squat").template != (110, 160)


@pytest.mark.parametrize(
    ("reps", "problem"),
    [
        ([(0, 10, 20)], "not a \\[start, end\\) pair"),
        ([(20, 10)], "repetition 0 \\[20, 10\\)"),
        ([(0, 30), (20, 40)], "repetition 1 \\[20, 40\\) is not within frames \\[30,"),
        ([(0, 10_000)], "not within frames"),
        ([], "no repetition"),
    ],
)
def test_stored_repetitions_that_do_not_fit_the_motion_are_refused(reps, problem):
    clip = trainer_clip("squat")
    with pytest.raises(ValueError, match=problem):
        Reference.for_routine(clip.h36m17(), clip.fps, "squat", reps=reps)
