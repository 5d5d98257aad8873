"""Squat depth read off the phone's image (hips down at the knees, the knees' bend): the
shallow-squat cues it spares where a lifted deep squat came out shallow, and those it
gives where one repetition stops short of the user's own others."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from pose3d.skeleton import MEDIAPIPE33
from scoring.features import F
from scoring.image_depth import (
    HIPS_BELOW_KNEES,
    IMAGE_KNEE_MARGIN_DEG,
    LEG_JOINTS,
    hip_drop,
    hips_reached_knees,
    knee_flexion_seen,
    knees_bent_past,
    rep_bottoms_seen,
    went_down_and_up,
)
from scoring.observed import Landmarks
from scoring.population import ThresholdScales
from scoring.report import ErrorEvent
from scoring.session import STRICTNESS, Findings, judge_depth_seen, spare_deep_squats
from tests.scoring.conftest import legs_filmed

SHANK_PX = 100.0  # knee to ankle in the image


def _frames(hip_below_knee: np.ndarray, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """MediaPipe-33 pixels ``(T, 33, 2)`` and scores of someone seen from the front whose
    hips are ``hip_below_knee`` ``(T,)`` shank lengths below their knees (y down)."""
    frames = len(hip_below_knee)
    keypoints = np.full((frames, 33, 2), np.nan)
    for side, x in (("left", 560.0), ("right", 440.0)):
        knee_y = 700.0
        keypoints[:, MEDIAPIPE33.index(f"{side}_knee")] = (x, knee_y)
        keypoints[:, MEDIAPIPE33.index(f"{side}_ankle")] = (x, knee_y + SHANK_PX)
        hips = np.stack([np.full(frames, x * 0.95), knee_y + hip_below_knee * SHANK_PX], axis=1)
        keypoints[:, MEDIAPIPE33.index(f"{side}_hip")] = hips
    scores = np.where(np.isfinite(keypoints[..., 0]), 0.9, 0.0)
    return keypoints * scale, scores


def _lifted_at_80_with_shallow_cues(
    keypoints: np.ndarray, scores: np.ndarray, fps: float, rep: int
) -> tuple[SimpleNamespace, list[ErrorEvent]]:
    """A session with these landmarks whose lift reads every frame at 80 deg of knee
    flexion, and a shallow-squat cue on each of its repetitions of ``rep`` frames."""
    count = len(keypoints) // rep
    features = np.zeros((len(keypoints), len(F)))
    features[:, [F["knee_flexion_left"], F["knee_flexion_right"]]] = 80.0
    observed = SimpleNamespace(landmarks=Landmarks(keypoints, scores))
    matched = SimpleNamespace(features=features, fps=fps, observed=observed)
    events = [
        ErrorEvent("shallow_squat", "hips", n * rep / fps, (n + 1) * rep / fps, 0.5, 0.9, "cue")
        for n in range(count)
    ]
    return matched, events


def test_the_hips_drop_below_the_knees_is_read_in_shank_lengths_whatever_the_distance():
    path = np.array([-1.5, -0.8, 0.0, 0.3, 0.0, -1.5])  # standing, down, past, up
    near, scores = _frames(path)
    far, _ = _frames(path, scale=0.4)  # further from the camera: everything smaller
    np.testing.assert_allclose(hip_drop(near, scores), path, atol=1e-9)
    np.testing.assert_allclose(hip_drop(far, scores), path, atol=1e-9)
    scores[:, MEDIAPIPE33.index("left_hip")] = 0.1  # one hip unsure: the other is read
    np.testing.assert_allclose(hip_drop(near, scores), path, atol=0.03)
    scores[:, MEDIAPIPE33.index("right_hip")] = 0.1  # neither: nothing is claimed
    assert np.isnan(hip_drop(near, scores)).all()


def test_a_squat_counts_as_deep_only_with_the_hips_clearly_below_for_several_frames():
    fps = 30.0
    level = np.zeros(30)  # thighs at parallel: level in the image, within a camera's tilt
    assert not hips_reached_knees(level, fps)
    one_frame = level.copy()
    one_frame[15] = 1.0  # one noisy frame is not a squat
    assert not hips_reached_knees(one_frame, fps)
    deep = level.copy()
    deep[10:16] = HIPS_BELOW_KNEES + 0.05
    assert hips_reached_knees(deep, fps)
    assert not hips_reached_knees(np.full(30, np.nan), fps)


def test_shallow_squat_cues_are_spared_where_the_image_shows_the_hips_below_the_knees():
    """The lifter reads every repetition at 80 deg (a front view foreshortens the thighs);
    the image shows rep 1 past parallel, rep 2 only level, rep 3 past but unsurely seen."""
    fps, rep = 30.0, 30
    drop = np.full(3 * rep, -1.0)
    drop[10:20] = 0.4  # rep 1: hips well below the knees
    drop[rep + 10 : rep + 20] = 0.0  # rep 2: level (parallel at best)
    drop[2 * rep + 10 : 2 * rep + 20] = 0.4  # rep 3: below, but the hips are not seen
    keypoints, scores = _frames(drop)
    scores[2 * rep :, [MEDIAPIPE33.index("left_hip"), MEDIAPIPE33.index("right_hip")]] = 0.2
    matched, events = _lifted_at_80_with_shallow_cues(keypoints, scores, fps, rep)
    events.append(ErrorEvent("rounded_back", "spine", 0.0, 1.0, 0.5, 0.9, "cue"))
    kept = spare_deep_squats(events, matched)
    assert [(e.kind, e.start_s) for e in kept] == [
        ("shallow_squat", 1.0),
        ("shallow_squat", 2.0),
        ("rounded_back", 0.0),
    ]


def test_the_knees_bend_is_read_off_the_image_from_any_side():
    """Standing, down to 150 deg and up again: the reading follows the capture's bend
    whether the camera faces the person, films them from the side or at 60 deg, and
    however the bend is shared between the shank and the thigh (heels up: shins far
    forward, hips still above the knees)."""
    fps = 30.0
    bend = np.concatenate([np.zeros(10), np.linspace(0, 150, 30), np.full(10, 150.0),
                           np.linspace(150, 0, 30), np.zeros(10)])  # fmt: skip
    for yaw in (0.0, 60.0, 90.0):
        for shin_share in (0.35, 0.55):
            keypoints, scores = legs_filmed(bend, yaw, shin_share)
            read = knee_flexion_seen(keypoints, scores, fps)
            np.testing.assert_allclose(read[5:-5], bend[5:-5], atol=6.0)  # the median's lag
            assert abs(np.nanmax(read) - 150.0) < 1.0
    keypoints, scores = legs_filmed(bend, 30.0)
    scores[:, MEDIAPIPE33.index("left_ankle")] = 0.1  # one shank unsure: the other leg
    assert abs(np.nanmax(knee_flexion_seen(keypoints, scores, fps)) - 150.0) < 1.0
    scores[:, MEDIAPIPE33.index("right_knee")] = 0.1  # neither leg: nothing is claimed
    assert np.isnan(knee_flexion_seen(keypoints, scores, fps)).all()


def test_a_noisy_frame_does_not_make_a_squat_deep():
    fps = 30.0
    keypoints, scores = legs_filmed(np.full(60, 100.0), 20.0)
    keypoints[30, MEDIAPIPE33.index("left_hip"), 1] += 300.0  # one wild hip, both legs
    keypoints[30, MEDIAPIPE33.index("right_hip"), 1] += 300.0
    read = knee_flexion_seen(keypoints, scores, fps)
    assert np.nanmax(read) < 101.0
    assert not knees_bent_past(read, 120.0, fps)
    assert knees_bent_past(np.full(60, 120.0 + IMAGE_KNEE_MARGIN_DEG), 120.0, fps)


def test_shallow_squat_cues_are_spared_where_the_image_shows_the_knees_bent_deep():
    """Heels up and shins far forward: the hips stay above the knees at a 150-deg bend,
    which the lifter reads as 80 deg. The bend is read off the image and the cue is
    spared; a squat the image shows at 100 deg keeps its cue."""
    fps, rep = 30.0, 40
    bend = np.zeros(2 * rep)
    bend[10:30] = 150.0  # rep 1: deep by the knees
    bend[rep + 10 : rep + 30] = 100.0  # rep 2: above parallel
    keypoints, scores = legs_filmed(bend, 45.0, shin_share=0.55)
    assert not hips_reached_knees(hip_drop(keypoints, scores)[:rep], fps)  # hips above
    matched, events = _lifted_at_80_with_shallow_cues(keypoints, scores, fps, rep)
    kept = spare_deep_squats(events, matched)
    assert [e.start_s for e in kept] == [rep / fps]


def test_a_phone_that_cuts_off_the_feet_still_spares_a_squat_whose_hips_sat_below_the_knees():
    """The ankles out of frame (a phone framing the user from the shins up, as one of CMU
    14's development views): no shank and no knee reading, but the hips are clearly below
    the knees, read in thigh lengths, and the lifted "shallow" squat keeps no cue; the
    squat above parallel keeps its cue."""
    fps, rep = 30.0, 40
    bend = np.zeros(2 * rep)
    bend[10:30] = 160.0  # rep 1: hips well below the knees
    bend[rep + 10 : rep + 30] = 100.0  # rep 2: above parallel
    keypoints, scores = legs_filmed(bend, 0.0, shin_share=0.3)
    for side in ("left", "right"):
        scores[:, MEDIAPIPE33.index(f"{side}_ankle")] = 0.1
    assert np.isnan(knee_flexion_seen(keypoints, scores, fps)).all()
    drop = hip_drop(keypoints, scores)
    seen_below = np.sin(np.radians(160.0 * 0.7 - 90.0))  # thigh lengths: past horizontal
    assert abs(np.nanmax(drop) - seen_below) < 0.01
    matched, events = _lifted_at_80_with_shallow_cues(keypoints, scores, fps, rep)
    kept = spare_deep_squats(events, matched)
    assert [e.start_s for e in kept] == [rep / fps]
    scores[:, [MEDIAPIPE33.index("left_hip"), MEDIAPIPE33.index("right_hip")]] = 0.1
    assert np.isnan(hip_drop(keypoints, scores)).all()  # no hips either: nothing claimed


def _squats_filmed(bottoms_deg: list[float], rep: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Landmarks of squats down to ``bottoms_deg`` (one per repetition of ``rep``
    frames, standing between them), filmed from 30 deg off the front."""
    bend = np.zeros(len(bottoms_deg) * rep)
    for number, bottom in enumerate(bottoms_deg):
        bend[number * rep : (number + 1) * rep] = bottom * np.sin(np.linspace(0, np.pi, rep))
    return legs_filmed(bend, 30.0)


def _judged_by_image(
    bottoms_deg: list[float], strictness: str = "intermediate", events=(), rep: int = 40
) -> list[ErrorEvent]:
    """The shallow-squat cues :func:`judge_depth_seen` adds to ``events`` for squats down
    to ``bottoms_deg``."""
    keypoints, scores = _squats_filmed(bottoms_deg, rep)
    observed = SimpleNamespace(landmarks=Landmarks(keypoints, scores), fps=30.0)
    reps = [(n * rep, (n + 1) * rep) for n in range(len(bottoms_deg))]
    matched = SimpleNamespace(observed=observed, reps=reps)
    findings = Findings()
    findings.events = list(events)
    judge_depth_seen(matched, _judge(strictness), findings)
    return [e for e in findings.events if e.kind == "shallow_squat"]


def _judge(strictness: str) -> SimpleNamespace:
    """A judge of ``strictness`` without calibrated scales."""
    return SimpleNamespace(limits=STRICTNESS[strictness], scales=lambda kind: ThresholdScales())


def test_a_repetition_the_image_shows_short_of_the_users_own_reach_is_a_shallow_squat():
    """Deep squats with one raised to 100 deg: that one is cued, over its repetition."""
    cues = _judged_by_image([150, 150, 100, 150])
    assert [(e.start_s, e.end_s) for e in cues] == [(80 / 30, 120 / 30)]
    assert cues[0].cue == "Sit deeper: hips down towards knee height"
    assert 0.5 < cues[0].severity < 0.7  # a third of the reach lost: 0.33 / 0.6


def test_the_image_does_not_cue_a_body_that_goes_no_deeper_or_a_squat_deep_enough():
    assert not _judged_by_image([90, 95, 88, 92])  # a stiff body, every time
    assert not _judged_by_image([160, 160, 125, 160])  # shallower, but past 120 deg
    # 35 deg short of 150 (severity 0.39): told at intermediate strictness, not to beginners.
    assert _judged_by_image([150, 150, 115, 150])
    assert not _judged_by_image([150, 150, 115, 150], "beginner")
    assert not _judged_by_image([100])  # one repetition: nothing to compare it with
    already = ErrorEvent("shallow_squat", "hips", 80 / 30, 120 / 30, 0.6, 0.9, "cue")
    assert _judged_by_image([150, 150, 100, 150], events=[already]) == [already]


def test_the_shallow_margin_is_the_images_own_repetition_to_repetition_noise():
    """20 deg short of the user's reach is cued; 10 deg short is within what two correct
    repetitions of one view read apart."""
    assert [e.start_s for e in _judged_by_image([130, 130, 110, 130])] == [80 / 30]
    assert not _judged_by_image([130, 130, 120, 130])


def test_a_leg_hidden_for_a_moment_does_not_make_a_repetition_read_deeper():
    """One view's legs read 40 deg apart (a knee swung out of its plane); the shallower
    leg hidden for 6 frames at the first bottom must not leave that repetition read by
    the deeper leg alone, ~20 deg deeper than the next ones (a false shallow cue on
    every other repetition)."""
    rep = 40
    bend = np.tile(90.0 * np.sin(np.linspace(0, np.pi, rep)), 3)
    keypoints, scores = legs_filmed(bend, 30.0)
    deeper, _ = legs_filmed(bend + 40.0 * (bend > 0), 30.0)
    left = [MEDIAPIPE33.index(f"left_{joint}") for joint in LEG_JOINTS]
    keypoints[:, left] = deeper[:, left]
    scores[17:23, MEDIAPIPE33.index("right_knee")] = 0.1
    reps = [(n * rep, (n + 1) * rep) for n in range(3)]
    bottoms = rep_bottoms_seen(keypoints, scores, 30.0, reps)
    np.testing.assert_allclose(bottoms, bottoms[1], atol=2.0)
    matched = SimpleNamespace(
        observed=SimpleNamespace(landmarks=Landmarks(keypoints, scores), fps=30.0), reps=reps
    )
    findings = Findings()
    judge_depth_seen(matched, _judge("intermediate"), findings)
    assert not findings.events


def test_a_repetition_mostly_out_of_view_is_not_read_as_shallow():
    keypoints, scores = _squats_filmed([150, 150, 100, 150])
    knees = [MEDIAPIPE33.index(f"{side}_knee") for side in ("left", "right")]
    scores[80:105, knees] = 0.1  # the third squat's knees unseen for most of it
    observed = SimpleNamespace(landmarks=Landmarks(keypoints, scores), fps=30.0)
    matched = SimpleNamespace(observed=observed, reps=[(n * 40, (n + 1) * 40) for n in range(4)])
    findings = Findings()
    judge_depth_seen(matched, _judge("intermediate"), findings)
    assert not findings.events
    bottoms = rep_bottoms_seen(keypoints, scores, 30.0, matched.reps)
    assert np.isnan(bottoms[2])
    np.testing.assert_allclose(bottoms[[0, 1, 3]], 150.0, atol=2.0)  # frames miss the top


def test_a_piece_of_a_squat_the_count_cut_off_is_not_read_as_a_shallow_one():
    """The count put the end of one squat's rise and the start of the next one's descent
    in a "repetition" of their own: it starts and ends half bent and stands in between,
    and its deepest frame (its first) must not read as a squat stopped at 100 deg."""
    keypoints, scores = _squats_filmed([150, 150, 150])
    observed = SimpleNamespace(landmarks=Landmarks(keypoints, scores), fps=30.0)
    reps = [(0, 30), (30, 50), (50, 120)]  # squats at 0-40, 40-80, 80-120
    matched = SimpleNamespace(observed=observed, reps=reps)
    bottoms = rep_bottoms_seen(keypoints, scores, 30.0, reps)
    assert np.isnan(bottoms[1]) and np.isfinite(bottoms[[0, 2]]).all()
    findings = Findings()
    judge_depth_seen(matched, _judge("intermediate"), findings)
    assert not findings.events


def test_a_squat_goes_down_and_comes_back_up_or_is_a_piece_of_one():
    squat = 120.0 * np.sin(np.linspace(0, np.pi, 40))
    assert went_down_and_up(squat)
    assert went_down_and_up(squat[:30])  # the recording ended on the way up: still read
    assert not went_down_and_up(squat[:20])  # cut at its deepest
    assert not went_down_and_up(squat[20:])  # starts at its deepest
    with_gaps = squat.copy()
    with_gaps[[3, 25]] = np.nan  # frames whose legs were not seen
    assert went_down_and_up(with_gaps)
