"""Form checks: each check's signal grows in the direction of its error, reaches its
``full_scale`` for a severity-1 error, and stays at zero when the user moves like the
trainer (or errs in another way, on another side)."""

import numpy as np
import pytest

from scoring.checks import (
    ALL_CHECKS,
    ALL_KINDS,
    ARMS_LOW,
    CHECKS,
    GENERIC,
    KNEES_IN,
    ONE_SIDE,
    ROUNDED_BACK,
    SAGGING,
    SHALLOW,
    checks_for,
)
from scoring.features import SEGMENT_FEATURES, F, compute_features
from synthetic_data.generator import trainer_clip

LEFT_KNEES_IN, RIGHT_KNEES_IN = KNEES_IN
LEFT_ARM_LOW, RIGHT_ARM_LOW = ARMS_LOW
LEFT_ONE_SIDE, RIGHT_ONE_SIDE = ONE_SIDE


@pytest.fixture(scope="module")
def squat() -> np.ndarray:
    """The trainer's squat features (degrees)."""
    return compute_features(trainer_clip("squat").h36m17())


@pytest.fixture(scope="module")
def arm_raise() -> np.ndarray:
    return compute_features(trainer_clip("arm_raise").h36m17())


def _deep(ref: np.ndarray, name: str) -> np.ndarray:
    """Frames where the trainer's ``name`` angle is past 20 degrees (a real range)."""
    mask = ref[:, F[name]] > 20
    assert mask.sum() > 10
    return mask


def _with(ref: np.ndarray, **changes) -> np.ndarray:
    """The trainer's features with some columns changed by ``f(column)``."""
    user = ref.copy()
    for name, change in changes.items():
        user[:, F[name]] = change(ref[:, F[name]])
    return user


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: f"{c.kind}-{c.segment}")
def test_moving_like_the_trainer_is_no_error(check, squat, arm_raise):
    for ref in (squat, arm_raise):
        signal = check.signal(ref.copy(), ref)
        assert signal.shape == (len(ref),)
        np.testing.assert_allclose(signal, 0.0, atol=1e-9)


@pytest.mark.parametrize(
    ("check", "feature", "full_scale"),
    [(ROUNDED_BACK, "spine_flexion", 30.0), (SAGGING, "hip_flexion_left", 25.0)],
)
def test_an_absolute_error_of_full_size_reaches_full_scale(squat, check, feature, full_scale):
    assert check.full_scale == full_scale
    more = {feature: lambda c: c + full_scale}
    if check is SAGGING:  # both hips sag
        more["hip_flexion_right"] = more[feature]
    np.testing.assert_allclose(check.signal(_with(squat, **more), squat), full_scale)
    less = {name: (lambda c: c - full_scale) for name in more}
    np.testing.assert_allclose(check.signal(_with(squat, **less), squat), -full_scale)


def test_a_caving_knee_is_signalled_on_its_own_leg_only(squat):
    left_in = _with(squat, knee_valgus_left=lambda c: c + LEFT_KNEES_IN.full_scale)
    np.testing.assert_allclose(LEFT_KNEES_IN.signal(left_in, squat), 9.0)
    np.testing.assert_allclose(RIGHT_KNEES_IN.signal(left_in, squat), 0.0)
    bowed = _with(squat, knee_valgus_right=lambda c: c - 5.0)  # outwards: not caving in
    assert (RIGHT_KNEES_IN.signal(bowed, squat) < 0).all()
    assert LEFT_KNEES_IN.segment == "left_leg" and RIGHT_KNEES_IN.segment == "right_leg"


def test_a_shallow_squat_is_measured_against_the_trainers_depth(squat):
    deep = _deep(squat, "knee_flexion_left")
    # 40% of the trainer's knee bend: 60% of the depth missing, a severity-1 shallow squat.
    shallow = _with(
        squat, knee_flexion_left=lambda c: 0.4 * c, knee_flexion_right=lambda c: 0.4 * c
    )
    signal = SHALLOW.signal(shallow, squat)
    np.testing.assert_allclose(signal[deep], SHALLOW.full_scale, atol=0.02)
    deeper = _with(squat, knee_flexion_left=lambda c: 1.2 * c, knee_flexion_right=lambda c: 1.2 * c)
    assert (SHALLOW.signal(deeper, squat)[deep] < 0).all()  # deeper than the trainer: fine


def test_relative_checks_stay_finite_where_the_trainer_hardly_moves(squat):
    still = np.zeros_like(squat)  # the trainer at rest: every angle 0
    user = still.copy()
    user[:, F["knee_flexion_left"]] = user[:, F["knee_flexion_right"]] = -10.0
    signal = SHALLOW.signal(user, still)
    assert np.isfinite(signal).all() and np.allclose(signal, 0.5)  # 10 / 20 degrees


def test_arms_not_raised_is_a_fraction_of_the_trainers_raise(arm_raise):
    raised = _deep(arm_raise, "arm_elevation_left")
    half = _with(arm_raise, arm_elevation_left=lambda c: 0.5 * c)
    np.testing.assert_allclose(
        LEFT_ARM_LOW.signal(half, arm_raise)[raised], LEFT_ARM_LOW.full_scale, atol=0.02
    )
    np.testing.assert_allclose(RIGHT_ARM_LOW.signal(half, arm_raise), 0.0)


def test_one_side_lower_points_at_the_lower_arm(arm_raise):
    raised = _deep(arm_raise, "arm_elevation_left") & _deep(arm_raise, "arm_elevation_right")
    left_low = _with(arm_raise, arm_elevation_left=lambda c: 0.6 * c)  # 40% lower than right
    left = LEFT_ONE_SIDE.signal(left_low, arm_raise)[raised]
    right = RIGHT_ONE_SIDE.signal(left_low, arm_raise)[raised]
    assert left.max() > 0.8 * LEFT_ONE_SIDE.full_scale and (left > 0).all()
    np.testing.assert_allclose(right, -left)  # the right arm is the higher one
    assert "left arm is lower" in LEFT_ONE_SIDE.cue


def test_both_arms_low_is_not_one_side_lower(arm_raise):
    both_low = _with(
        arm_raise,
        arm_elevation_left=lambda c: 0.5 * c,
        arm_elevation_right=lambda c: 0.5 * c,
    )
    for check in ONE_SIDE:
        np.testing.assert_allclose(check.signal(both_low, arm_raise), 0.0, atol=1e-9)
    for check in ARMS_LOW:
        assert check.signal(both_low, arm_raise).max() > 0.4


def test_each_movement_is_checked_for_its_own_errors():
    assert {c.kind for c in checks_for("squat")} == {
        "rounded_back",
        "knees_caving_in",
        "shallow_squat",
    }
    assert {c.kind for c in checks_for("push_up")} == {"hips_sagging"}
    assert checks_for("tai_chi") == GENERIC  # unknown movements: the safety checks
    assert set(CHECKS) == {"squat", "lunge", "push_up", "jumping_jack", "arm_raise", "dance"}


def test_every_check_names_a_known_segment_view_and_scale():
    assert len(set(ALL_CHECKS)) == len(ALL_CHECKS)
    for check in ALL_CHECKS:
        assert check.segment in SEGMENT_FEATURES
        assert check.view in ("any", "frontal", "sagittal")
        assert check.full_scale > 0 and 0 < check.floor < 1 and check.cue
    kinds = [c.kind for c in ALL_CHECKS]
    assert set(ALL_KINDS) == {*kinds, "heels_lifting", "off_beat"}
    assert len(ALL_KINDS) == len(set(ALL_KINDS))


def test_the_shallow_signal_spares_a_user_past_parallel():
    """Depth is judged against the trainer only until the squat is deep enough."""
    from scoring.checks import DEEP_ENOUGH_KNEE_FLEXION_DEG, SHALLOW

    def rows(knee: float) -> np.ndarray:
        features = np.zeros((1, len(F)))
        features[:, [F["knee_flexion_left"], F["knee_flexion_right"]]] = knee
        return features

    assert SHALLOW.signal(rows(70.0), rows(110.0))[0] == pytest.approx(40 / 110)
    assert SHALLOW.signal(rows(125.0), rows(160.0))[0] == 0.0  # past parallel: no shortfall
    assert DEEP_ENOUGH_KNEE_FLEXION_DEG <= 125.0
    assert SHALLOW.signal(rows(170.0), rows(160.0))[0] < 0  # deeper than the trainer
