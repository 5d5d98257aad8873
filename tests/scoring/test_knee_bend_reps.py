"""Squat repetitions counted from the knees' bend in the image where the motion's own
peaks miss some: a quarter squat among deep ones is a repetition (and gets its cue), and
the knees never overrule the repetitions the motion shows."""

from __future__ import annotations

import numpy as np

from scoring.alignment import (
    MIN_KNEE_BEND_DEG,
    activity_level,
    knee_bend_peaks,
    rep_peaks,
    segment_reps,
)
from scoring.image_depth import knee_bend_activity
from scoring.matching import match_session
from scoring.observed import Landmarks, ObservedSession
from scoring.reference import Reference
from tests.scoring.conftest import legs_filmed, motion, squat_track

FPS = 30.0


def _quarter_squat_among_deep_ones() -> tuple[np.ndarray, np.ndarray, list]:
    """Four squats whose third stops at a quarter of the others' depth, as a real one
    lifts: the lifted knee angle ``(T,)`` deg (deep squats at 90, the quarter squat at
    20: under a third of the peak, as real quarter squats lift); the knees' true bend
    ``(T,)`` deg (150 deep, 100 for the quarter squat: two thirds); the squats' frames."""
    track, bumps = squat_track(4, FPS, rep_s=1.5, rest_s=1.0)
    lifted, bend = track.copy(), track * 150.0 / 90.0
    third = slice(*bumps[2])
    lifted[third] *= 20.0 / 90.0
    bend[third] *= 100.0 / 150.0
    return lifted, bend, bumps


def test_the_knees_bend_from_rest_is_read_off_the_image_with_unseen_frames_filled():
    bend = np.concatenate([np.full(15, 10.0), np.linspace(10, 130, 30), np.linspace(130, 10, 30)])
    keypoints, scores = legs_filmed(bend, 40.0)
    seen = knee_bend_activity(keypoints, scores, FPS)
    assert seen is not None
    np.testing.assert_allclose(seen[5:-5], bend[5:-5] - 10.0, atol=6.0)  # from the rest
    scores[55:61] = 0.0  # both legs lost for 6 frames on the way up
    read = knee_bend_activity(keypoints, scores, FPS)
    assert read is not None and np.isfinite(read).all()
    assert (np.diff(read[52:64]) <= 0).all()  # filled in between, still coming up
    assert knee_bend_activity(keypoints, np.zeros_like(scores), FPS) is None  # never seen


def test_a_quarter_squat_among_deep_ones_is_counted_from_the_knees_bend():
    lifted, bend, bumps = _quarter_squat_among_deep_ones()
    features = np.stack([lifted, lifted], 1)
    assert len(segment_reps(features, FPS)) == 3  # the motion's peaks: it stands too low
    found = segment_reps(features, FPS, knee_bend=bend)
    assert len(found) == 4
    for (start, end), (bump_start, bump_end) in zip(found, bumps, strict=True):
        assert start <= bump_start + 3 and bump_end - 3 <= end


def test_the_knees_do_not_overrule_the_motions_repetitions():
    lifted, bend, bumps = _quarter_squat_among_deep_ones()
    features = np.stack([lifted, lifted], 1)
    motion_reps = segment_reps(features, FPS)
    # knees that bend too little to say anything
    assert (
        segment_reps(features, FPS, knee_bend=bend * 0.9 * MIN_KNEE_BEND_DEG / 150) == motion_reps
    )
    # as many knee bends as repetitions: nothing to add
    full, _ = squat_track(4, FPS, rep_s=1.5, rest_s=1.0)
    assert knee_bend_peaks(full * 150 / 90, np.array([(a + b) // 2 for a, b in bumps]), FPS) is None
    # more knee bends, but away from one of the motion's peaks (1 s later): not the same squats
    late = np.roll(bend, int(FPS))
    assert segment_reps(features, FPS, knee_bend=late) == motion_reps


def test_only_a_lifted_squat_filmed_by_the_phone_is_counted_from_its_knees():
    """The whole path: a lifted squat session with the phone's landmarks counts the
    quarter squat; the same motion as a lunge, or as exact 3D (which counts it from the
    capture), is segmented as before."""
    lifted, bend, _ = _quarter_squat_among_deep_ones()
    poses = motion(knee_flexion_left=lifted, knee_flexion_right=lifted)
    keypoints, scores = legs_filmed(bend, 30.0)
    landmarks = Landmarks(keypoints, scores)
    lifted_from_2d = ObservedSession(poses, FPS, np.full(poses.shape[:2], 0.9), landmarks)
    trainer, _ = squat_track(2, FPS, rep_s=1.5, rest_s=1.0)
    trainer_poses = motion(knee_flexion_left=trainer, knee_flexion_right=trainer)
    squat = Reference.from_poses(trainer_poses, FPS, "squat")
    lunge = Reference.from_poses(trainer_poses, FPS, "lunge")
    assert len(match_session(lifted_from_2d, squat).reps) == 4
    assert len(match_session(lifted_from_2d, lunge).reps) == 3
    exact = ObservedSession(poses, FPS, landmarks=landmarks)
    assert len(match_session(exact, squat).reps) == 3  # (the capture's own motion counts)


def test_a_dip_the_knee_readings_noise_can_make_does_not_split_a_squat():
    """Squats bending the knees 50 deg (as simulated users do), each read with a 20-deg
    dip after its bottom (phone jitter moves the image's reading by ~15): two knee-bend
    peaks a squat, each a repetition by the rules' shares, the first where the motion
    peaks; but the second does not stand out by more than the reading's noise could
    make, so the motion's four repetitions stand."""

    def hump(frames: int) -> np.ndarray:
        return 0.5 * (1 - np.cos(2 * np.pi * np.arange(frames) / frames))

    rest, squat, motion_squat = np.zeros(30), np.zeros(78), np.zeros(78)
    squat[:48] += 50 * hump(48)
    squat[30:] += 45 * hump(48)  # down again after the bottom: a 21-deg dip between
    motion_squat[:48] = 90 * hump(48)
    bend = np.concatenate([rest] + [np.concatenate([np.minimum(squat, 50), rest])] * 4)
    track = np.concatenate([rest] + [np.concatenate([motion_squat, rest])] * 4)
    features = np.stack([track, track], 1)
    assert len(rep_peaks(bend, activity_level(bend), FPS)) == 8  # the rules alone: 8
    motion_peaks = rep_peaks(track, activity_level(track), FPS)
    assert knee_bend_peaks(bend, motion_peaks, FPS) is None
    assert len(segment_reps(features, FPS, knee_bend=bend)) == 4
