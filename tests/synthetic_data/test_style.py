"""Natural posture variation of correct performances: opt-in, label-preserving, and as
wide between people as its table says."""

from __future__ import annotations

import numpy as np
import pytest

from pose3d import angles
from synthetic_data.batch import plan_requests
from synthetic_data.body import J
from synthetic_data.generator import ClipRequest, generate_clip
from synthetic_data.movements import get_movement
from synthetic_data.style import (
    STYLE_SPREAD_DEG,
    TOE_OUT_DEG,
    stance_measures,
    stance_offsets,
    style_offsets,
)
from synthetic_data.timeline import build_timeline


def test_variation_is_opt_in_and_keeps_timing_errors_and_cameras():
    plain = generate_clip(ClipRequest(seed=5, movement="squat"))
    zero = generate_clip(ClipRequest(seed=5, movement="squat", style_variation=0.0))
    np.testing.assert_array_equal(plain.joints, zero.joints)
    assert plain.generator == zero.generator  # the file records nothing new
    styled = generate_clip(ClipRequest(seed=5, movement="squat", style_variation=1.0))
    assert styled.errors == plain.errors and styled.reps == plain.reps
    assert styled.generator["style_variation"] == 1.0
    # Still at rest before the first repetition; different at the bottom of them.
    first = plain.reps[0][0]
    np.testing.assert_allclose(styled.joints[:first], plain.joints[:first], atol=1e-6)
    assert np.abs(styled.joints - plain.joints).max() > 0.02  # metres
    with pytest.raises(ValueError, match="style_variation"):
        generate_clip(ClipRequest(seed=5, movement="squat", style_variation=3.0))


def test_the_trainer_keeps_the_reference_posture():
    trainer = ClipRequest(seed=5, movement="squat", role="trainer")
    styled = ClipRequest(seed=5, movement="squat", role="trainer", style_variation=2.0)
    np.testing.assert_array_equal(generate_clip(trainer).joints, generate_clip(styled).joints)


def test_people_differ_by_the_tabled_spread_and_reps_by_less():
    movement = get_movement("squat")
    timeline = build_timeline(None, fps=30.0, period_s=3.0, num_reps=4)
    bottoms = np.array([int(np.mean(rep)) for rep in timeline.reps])
    lean = []  # (person, rep) trunk lean offsets at each repetition's bottom
    for person in range(300):
        offsets = style_offsets(np.random.default_rng(person), movement, timeline, 1.0)
        lean.append(offsets["root_pitch"][bottoms])
        assert set(offsets) >= {"left_hip_rot", "right_hip_rot", "spine_flex"}
    lean = np.array(lean)
    between = np.std(lean.mean(axis=1))
    within = np.mean(np.std(lean, axis=1))
    assert between == pytest.approx(STYLE_SPREAD_DEG["squat"]["root_pitch"], rel=0.2)
    assert 0.2 * between < within < 0.6 * between
    # Half the variation, half the spread; none for a movement without a table.
    half = style_offsets(np.random.default_rng(0), movement, timeline, 0.5)["root_pitch"]
    full = style_offsets(np.random.default_rng(0), movement, timeline, 1.0)["root_pitch"]
    np.testing.assert_allclose(half, full / 2)
    dance = style_offsets(np.random.default_rng(0), get_movement("dance"), timeline, 1.0)
    assert dance == {}


def test_styled_correct_squats_differ_from_each_other_in_measured_posture():
    def trunk_at_bottom(seed: int) -> float:
        clip = generate_clip(
            ClipRequest(seed=seed, movement="squat", errors=[], body_seed=0, style_variation=1.0)
        )
        poses = clip.h36m17()
        knee = angles.knee_flexion(poses, "left")
        return float(angles.spine_flexion(poses)[int(np.argmax(knee))])

    # One body, different seeds: only the drawn posture (and timing) tells them apart.
    spread = np.std([trunk_at_bottom(seed) for seed in range(8)])
    assert spread > 1.0  # degrees


def test_a_batch_passes_the_variation_to_every_user_clip():
    requests = plan_requests(6, 3, ["squat", "push_up"], style_variation=0.7)
    assert {r.style_variation for r in requests} == {0.7}
    assert {r.style_variation for r in plan_requests(6, 3)} == {0.0}


def _toes_out_and_knees_over_toes(clip) -> tuple[float, float]:
    """:func:`stance_measures` at the bottom of ``clip``'s squats (its 15% lowest
    pelvis frames)."""
    pelvis = clip.joints[:, J["pelvis"], 1]
    bottom = pelvis <= np.percentile(pelvis, 15)
    toes_out, inside = stance_measures(clip.joints)
    return float(toes_out[bottom].mean()), float(inside[bottom].mean())


def test_a_stance_turns_the_toes_out_with_the_knees_over_them():
    plain = generate_clip(ClipRequest(seed=5, movement="squat"))
    zero = generate_clip(ClipRequest(seed=5, movement="squat", stance_variation=0.0))
    np.testing.assert_array_equal(plain.joints, zero.joints)
    assert plain.generator == zero.generator
    toes, inside = _toes_out_and_knees_over_toes(plain)
    assert abs(toes) < 1.0 and inside > 0.05  # straight feet, knees inside the toes
    for seed in range(4):
        stood = generate_clip(ClipRequest(seed=seed, movement="squat", stance_variation=1.0))
        again = generate_clip(ClipRequest(seed=seed, movement="squat"))
        assert stood.errors == again.errors and stood.reps == again.reps
        assert stood.generator["stance_variation"] == 1.0
        toes, inside = _toes_out_and_knees_over_toes(stood)
        low, high = TOE_OUT_DEG["squat"]
        assert low - 8 < toes < high + 8
        # The knees over the toes, give or take a few cm, and further out than the same
        # squat's without the stance (inside the straight toes: +0.06 to +0.19).
        straight = _toes_out_and_knees_over_toes(again)[1]
        assert abs(inside) < 0.25 and inside < straight - 0.1
    # The feet stay put on the floor: turned once, not turning during the squat.
    foot = stood.joints[:, J["left_toe"]] - stood.joints[:, J["left_heel"]]
    heading = np.arctan2(foot[:, 0], foot[:, 2])
    assert np.ptp(heading) < 1e-5
    with pytest.raises(ValueError, match="stance_variation"):
        generate_clip(ClipRequest(seed=5, movement="squat", stance_variation=-1.0))


def test_the_trainer_and_other_movements_keep_their_stance():
    trainer = ClipRequest(seed=5, movement="squat", role="trainer")
    stood = ClipRequest(seed=5, movement="squat", role="trainer", stance_variation=2.0)
    np.testing.assert_array_equal(generate_clip(trainer).joints, generate_clip(stood).joints)
    timeline = build_timeline(None, fps=30.0, period_s=3.0, num_reps=2)
    push_up = get_movement("push_up")
    assert stance_offsets(np.random.default_rng(0), push_up, len(timeline.phase), 1.0) == {}
    assert plan_requests(4, 1, ["squat"], stance_variation=0.5)[0].stance_variation == 0.5
