"""The image's check on lifted repetitions: a dip between real repetitions that the lifter
blows up to half a squat is not counted, while every repetition the image shows is."""

import itertools

import numpy as np
import pytest

from lab.clips import Performance, reference_from
from scoring.alignment import segment_reps
from scoring.image_activity import BODY_JOINTS, BODY_PAIRS, ImageTrack, image_track
from scoring.live_reps import RepTracker
from scoring.matching import image_check
from scoring.observed import Landmarks, ObservedSession
from scoring.reference import trainer_repetitions
from tests.scoring.conftest import motion, squat_track

FPS = 30.0


def _squats_with_dips(reps: int = 4) -> tuple[np.ndarray, np.ndarray, list]:
    """A real squat set as the lifter and the phone see it: true depth ``(T,)`` (0..1, deep
    squats and a 20% dip half-way through each rest between them) and the lifted knee
    angle ``(T,)`` deg, which lifts a deep squat at 60 deg and the dip at its full 30 deg
    (so the dips reach half the lifted peaks); and the squats' frames."""
    knee, bumps = squat_track(reps, FPS, rep_s=1.5, rest_s=1.0)
    depth = knee / 90.0
    for (_, end), (start, _) in itertools.pairwise(bumps):
        middle, half = (end + start) // 2, 10
        depth[middle - half : middle + half] = 0.2 * np.hanning(2 * half)
    lifted = np.where(depth > 0.5, 60.0 * depth, 150.0 * np.minimum(depth, 0.2))
    return depth, lifted, bumps


def _landmarks(depth: np.ndarray, seen: np.ndarray | None = None) -> Landmarks:
    """MediaPipe-33 pixels of a person facing the phone whose hips, knees and upper body go
    down by 200 px times ``depth``; ``seen`` ``(T,)`` frames the body is seen in."""
    frames = len(depth)
    keypoints = np.full((frames, 33, 2), 300.0)
    keypoints[:, :, 0] += np.arange(33) * 5.0
    keypoints[:, :, 1] += np.arange(33) * 20.0
    upper = [11, 12, 13, 14, 15, 16, 23, 24, 25, 26]
    keypoints[:, upper, 1] += 200.0 * depth[:, None] * np.linspace(1.0, 0.5, len(upper))
    scores = np.full((frames, 33), 0.9)
    if seen is not None:
        scores[~seen] = 0.1
    return Landmarks(keypoints, scores)


def _streamed(depth: np.ndarray, lifted: np.ndarray, image: bool) -> list[tuple[int, int]]:
    """The repetitions a live tracker reports, 6 frames at a time, for a squat set of true
    ``depth`` ``(T,)`` (the phone's landmarks) lifted at knee angles ``lifted`` ``(T,)``."""
    poses = motion(knee_flexion_left=lifted, knee_flexion_right=lifted)
    keypoints, scores = _landmarks(depth)
    tracker, finished = RepTracker(FPS, image=image), []
    for first in range(0, len(poses), 6):
        chunk = slice(first, first + 6)
        tracker.extend(poses[chunk], (keypoints[chunk], scores[chunk]))
        if tracker.frames >= 2 * FPS:
            finished += tracker.finished()
    return finished


def test_the_displacement_of_the_seen_body_joints_from_their_rest():
    frames = 60
    keypoints = np.zeros((frames, 33, 2))
    keypoints[:, 11:29:2, 0] = 100.0  # left joints 100 px left of the right ones
    keypoints[30:, list(BODY_JOINTS)] += [30.0, 40.0]  # every body joint moves 50 px
    scores = np.ones((frames, 33))
    scores[:5, 11] = 0.0  # a shoulder first seen late rests where it was first seen
    keypoints[:5, 11] = 999.0
    swapped = [joint for left, right in BODY_PAIRS for joint in (right, left)]
    keypoints[40:45, list(BODY_JOINTS)] = keypoints[40:45, swapped]  # left/right swapped
    scores[50:55, list(BODY_JOINTS)] = 0.0  # the body is lost for 5 frames
    track = image_track(keypoints, scores, FPS)
    assert track.activity.signal.view[:25].max() == pytest.approx(0.0)
    assert track.activity.signal.view[35:] == pytest.approx(50.0)  # swap and loss too
    np.testing.assert_array_equal(track.seen.view, ~np.isin(np.arange(frames), range(50, 55)))
    assert track.activity.level() == pytest.approx(50.0)


def test_a_stream_measures_what_the_whole_recording_does():
    depth, _, _ = _squats_with_dips(3)
    keypoints, scores = _landmarks(depth)
    whole = image_track(keypoints, scores, FPS)
    stream = ImageTrack(FPS)
    for first in range(0, len(depth), 7):
        stream.extend(keypoints[first : first + 7], scores[first : first + 7])
    np.testing.assert_allclose(stream.activity.signal.view, whole.activity.signal.view)
    assert stream.activity.level() == whole.activity.level()


def test_an_image_that_never_showed_the_body_keeps_every_peak():
    unseen = image_track(np.zeros((60, 33, 2)), np.zeros((60, 33)), FPS)
    assert unseen.rest is None and unseen.seen.size == 60  # measured, nothing held back
    np.testing.assert_array_equal(unseen.shown(np.array([10, 40])), [10, 40])


def test_dips_the_lifter_blows_up_are_not_repetitions_when_the_image_shows_them_small():
    depth, lifted, bumps = _squats_with_dips(4)
    features = np.stack([lifted, lifted], 1)
    assert len(segment_reps(features, FPS)) == 7  # the lifted dips count on their own
    image = image_track(*_landmarks(depth), FPS)
    found = segment_reps(features, FPS, image=image)
    assert len(found) == 4
    for (start, end), (bump_start, bump_end) in zip(found, bumps, strict=True):
        assert start <= bump_start + 3 and bump_end - 3 <= end


def test_a_shallow_repetition_the_image_shows_is_still_a_repetition():
    knee, bumps = squat_track(4, FPS)
    depth = knee / 90.0
    depth[bumps[2][0] : bumps[2][1]] *= 0.5  # the third squat half as deep: an error to cue
    image = image_track(*_landmarks(depth), FPS)
    features = np.stack([90 * depth, 90 * depth], 1)
    found = segment_reps(features, FPS, image=image)
    assert len(found) == 4


def _flattened_squats(reps: int = 4) -> tuple[np.ndarray, np.ndarray, list]:
    """Real deep squats as the lifter sometimes sees them from the front: true depth
    ``(T,)`` 0..1, and a lifted knee angle ``(T,)`` deg that drifts 60 deg away from the
    start pose over the session while each squat adds only 12; and the squats' frames."""
    knee, bumps = squat_track(reps, FPS, rep_s=1.5, rest_s=1.0)
    depth = knee / 90.0
    drift = 60.0 * np.clip(np.linspace(-0.3, 1.3, len(depth)), 0.0, 1.0)
    return depth, drift + 12.0 * depth, bumps


def test_squats_the_lift_flattens_are_counted_where_the_image_shows_them():
    depth, lifted, bumps = _flattened_squats(4)
    features = np.stack([lifted, lifted], 1)
    assert segment_reps(features, FPS) == []  # no lifted peak stands out of the drift
    found = segment_reps(features, FPS, image=image_track(*_landmarks(depth), FPS))
    assert len(found) == 4
    for (start, end), (bump_start, bump_end) in zip(found, bumps, strict=True):
        assert start <= bump_start and bump_end <= end
    # live, the same repetitions as they finish (the last one is still growing)
    assert _streamed(depth, lifted, image=False) == []
    assert _streamed(depth, lifted, image=True) == found[:3]


def test_an_image_that_disagrees_with_the_lift_does_not_overrule_it():
    knee, bumps = squat_track(4, FPS, rep_s=1.5, rest_s=1.0)
    depth = knee / 90.0
    # side-on, the body moves twice in the image per squat (down, then forward): it
    # shows more peaks than the lift, but not the lift's own
    frames = np.arange(len(depth))
    middles = np.array([(start + end) / 2 for start, end in bumps])
    near = np.abs(frames[:, None] - middles[None]).min(axis=1)
    twice = depth * (1.0 - 0.9 * np.exp(-((near / 6.0) ** 2)))
    image = image_track(*_landmarks(twice), FPS)
    assert len(image.peaks()) == 8
    features = np.stack([90 * depth, 90 * depth], 1)
    found = segment_reps(features, FPS, image=image)
    assert found == segment_reps(features, FPS)  # the lift's four repetitions stand
    assert len(found) == 4


def test_peaks_the_image_did_not_see_are_kept():
    depth, _, bumps = _squats_with_dips(4)
    dip = (bumps[0][1] + bumps[1][0]) // 2
    peaks = np.array([sum(bumps[0]) // 2, dip, sum(bumps[1]) // 2])
    seen = image_track(*_landmarks(depth), FPS)
    np.testing.assert_array_equal(seen.shown(peaks), peaks[[0, 2]])
    unseen = np.ones(len(depth), bool)
    unseen[dip - 10 : dip + 10] = False  # the person left the frame around the dip
    image = image_track(*_landmarks(depth, unseen), FPS)
    np.testing.assert_array_equal(image.shown(peaks), peaks)


def test_only_lifted_poses_with_landmarks_are_checked_by_the_image():
    depth, _, _ = _squats_with_dips(2)
    poses = np.zeros((len(depth), 17, 3))
    poses[:, :, 1] = np.linspace(-0.8, 0.9, 17)
    landmarks = _landmarks(depth)
    scores = np.full((len(depth), 17), 0.9)
    assert image_check(ObservedSession(poses, FPS, scores, landmarks)) is not None
    assert image_check(ObservedSession(poses, FPS, None, landmarks)) is None  # exact 3D
    assert image_check(ObservedSession(poses, FPS, scores)) is None  # no phone landmarks


def test_a_live_stream_reports_the_repetitions_the_image_shows():
    depth, lifted, _ = _squats_with_dips(4)
    counts = {image: len(_streamed(depth, lifted, image)) for image in (False, True)}
    assert counts == {False: 6, True: 3}  # the last repetition is still growing
    poses = motion(knee_flexion_left=lifted, knee_flexion_right=lifted)
    with pytest.raises(ValueError, match="landmarks"):
        RepTracker(FPS, image=True).extend(poses[:5])


def test_a_joint_whose_partner_never_rested_in_view_still_counts():
    frames = 40
    keypoints = np.zeros((frames, 33, 2))
    keypoints[:, 11:29:2, 0] = 100.0
    keypoints[20:, list(BODY_JOINTS)] += [0.0, 30.0]
    scores = np.ones((frames, 33))
    scores[:20, 24] = 0.0  # the right hip comes into view only once the body moved
    track = image_track(keypoints, scores, FPS)
    assert np.isnan(track.rest[3, 1]).all() and np.isfinite(track.rest[3, 0]).all()
    assert track.activity.signal.view[25:] == pytest.approx(30.0)


def test_a_body_seen_on_and_off_gets_its_rest_within_two_seconds():
    frames = 90
    scores = np.zeros((frames, 33))
    scores[5::10] = 1.0  # one frame in ten shows the body: 6 in the first two seconds
    track = ImageTrack(FPS)
    for first in range(0, frames, 5):
        track.extend(np.zeros((5, 33, 2)), scores[first : first + 5])
        if first + 5 < 5 + 2 * FPS:
            assert track.rest is None
    assert track.rest is not None and track.seen.size == frames


def test_a_trainers_repetitions_are_those_the_image_shows():
    depth, lifted, _ = _squats_with_dips(4)
    poses = motion(knee_flexion_left=lifted, knee_flexion_right=lifted)
    assert len(trainer_repetitions(poses, FPS)) == 7
    assert len(trainer_repetitions(poses, FPS, _landmarks(depth))) == 4


def test_a_lifted_trainer_with_landmarks_is_cut_where_the_image_shows_repetitions():
    depth, lifted, _ = _squats_with_dips(4)
    poses = motion(knee_flexion_left=lifted, knee_flexion_right=lifted)
    scores, landmarks = np.full((len(poses), 17), 0.9), _landmarks(depth)
    seen = reference_from(Performance(poses, FPS, "squat", scores, landmarks=landmarks), "squat")
    blind = reference_from(Performance(poses, FPS, "squat", scores), "squat")
    shown, all_peaks = trainer_repetitions(poses, FPS, landmarks), trainer_repetitions(poses, FPS)
    assert seen.template in shown and seen.template not in all_peaks
    assert blind.template in all_peaks
