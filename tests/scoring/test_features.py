"""Joint-angle features: known poses give known angles, and nothing but the posture
(not where the person stands, which way they face, their size or proportions) moves them."""

from dataclasses import replace

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from pose3d import angles
from pose3d.skeleton import H36M17, bone_lengths
from scoring.features import (
    FEATURE_NAMES,
    SEGMENT_FEATURES,
    F,
    compute_features,
    facing_yaw,
    retarget,
    segment_columns,
    validate_poses,
)
from synthetic_data.body import BodyParams
from synthetic_data.generator import ClipRequest, generate_clip, trainer_clip
from tests.scoring.conftest import body


def _features(pose: np.ndarray) -> np.ndarray:
    """The features of one pose (held for two frames, the least a sequence may have)."""
    return compute_features(np.stack([pose, pose]))[0]


def test_standing_straight_with_arms_hanging_is_all_zero():
    features = compute_features(np.stack([body(), body()]))
    assert features.shape == (2, len(FEATURE_NAMES))
    np.testing.assert_allclose(features, 0.0, atol=1e-4)


@pytest.mark.parametrize(
    "name",
    [name for name in FEATURE_NAMES if name != "spine_flexion" and "valgus" not in name],
)
@pytest.mark.parametrize("degrees", [90.0, 35.0])
def test_a_joint_bent_by_a_known_angle_reads_that_angle_and_only_there(name, degrees):
    features = _features(body(**{name: degrees}))
    assert features[F[name]] == pytest.approx(degrees, abs=1e-4)  # a right angle is 90
    np.testing.assert_allclose(np.delete(features, F[name]), 0.0, atol=1e-4)


def test_spine_flexion_and_knee_valgus_read_their_angles():
    assert _features(body(spine_flexion=30.0))[F["spine_flexion"]] == pytest.approx(30.0)
    for side in ("left", "right"):
        caving = _features(body(**{f"knee_valgus_{side}": 10.0}))
        assert caving[F[f"knee_valgus_{side}"]] == pytest.approx(10.0)
        other = "right" if side == "left" else "left"
        assert caving[F[f"knee_valgus_{other}"]] == pytest.approx(0.0, abs=1e-4)
        # A knee bowing outwards is the opposite sign: the sign says which way it moved.
        bowing = _features(body(**{f"knee_valgus_{side}": -10.0}))
        assert bowing[F[f"knee_valgus_{side}"]] == pytest.approx(-10.0)


def test_an_arm_overhead_is_180_degrees():
    assert _features(body(arm_elevation_left=180.0))[F["arm_elevation_left"]] == pytest.approx(
        180.0
    )


def _squat_poses() -> np.ndarray:
    return trainer_clip("squat").h36m17()[::3].astype(np.float64)


def test_features_ignore_where_the_person_stands_faces_and_how_large_they_are():
    poses = _squat_poses()
    features = compute_features(poses)
    assert np.ptp(features[:, F["knee_flexion_left"]]) > 60  # the squat moves the knees
    rng = np.random.default_rng(0)
    for _ in range(3):
        rotation = Rotation.random(random_state=rng).as_matrix()
        moved = rng.uniform(0.5, 2.0) * poses @ rotation.T + rng.uniform(-5, 5, size=3)
        np.testing.assert_allclose(compute_features(moved), features, atol=1e-4)


def test_features_ignore_the_persons_proportions():
    """The trainer's motion on a long-legged, short-armed body: same angles, its bones."""
    poses = _squat_poses()
    average = BodyParams.average(height=1.95)
    tall = replace(average, proportions={**average.proportions, "legs": 1.1, "arms": 0.9})
    request = ClipRequest(seed=1, movement="squat", num_reps=1, body=tall, errors=[])
    other = generate_clip(request).h36m17()
    moved = retarget(poses, other)
    np.testing.assert_allclose(compute_features(moved), compute_features(poses), atol=1e-4)
    lengths = np.median(bone_lengths(other, H36M17), axis=0)
    np.testing.assert_allclose(
        bone_lengths(moved, H36M17), np.tile(lengths, (len(moved), 1)), rtol=1e-5
    )


@pytest.mark.parametrize(("turn", "expected"), [(0, 0), (90, 90), (-90, 90), (180, 180)])
def test_facing_yaw_is_the_angle_from_the_camera_axis(turn, expected):
    # Turning about the vertical (camera y) axis.
    pose = body() @ Rotation.from_euler("y", turn, degrees=True).as_matrix().T
    assert facing_yaw(pose[None])[0] == pytest.approx(expected, abs=0.1)


def test_each_segment_is_judged_on_its_own_features():
    assert segment_columns("spine") == [F["spine_flexion"]]
    assert segment_columns("left_leg") == [F["knee_flexion_left"], F["knee_valgus_left"]]
    assert segment_columns("timing") == []  # timing has no joint angle
    used = {name for names in SEGMENT_FEATURES.values() for name in names}
    assert used <= set(FEATURE_NAMES)


@pytest.mark.parametrize(
    ("poses", "problem"),
    [
        (np.zeros((10, 17, 2)), r"shape \(T, 17, 3\)"),
        (np.zeros((10, 33, 3)), r"shape \(T, 17, 3\)"),
        (np.zeros((17, 3)), r"shape \(T, 17, 3\)"),
        (np.zeros((1, 17, 3)), "at least 2 frames"),
    ],
    ids=["2D", "MediaPipe joints", "one pose without a time axis", "one frame"],
)
def test_poses_of_the_wrong_shape_are_refused(poses, problem):
    with pytest.raises(ValueError, match=problem):
        validate_poses(poses, "user poses")
    with pytest.raises(ValueError, match=problem):
        compute_features(poses)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_poses_with_missing_values_are_refused_naming_them(bad):
    poses = np.stack([body(), body(), body()])
    poses[1, 5, 0] = bad
    with pytest.raises(ValueError, match="user poses contain NaN or infinite"):
        validate_poses(poses, "user poses")


def test_valid_poses_come_back_as_float64():
    poses = np.stack([body(), body()]).astype(np.float32)
    checked = validate_poses(poses)
    assert checked.dtype == np.float64 and checked.shape == (2, 17, 3)


def test_features_are_the_angle_functions_column_by_column():
    poses = np.random.default_rng(3).normal(0.0, 0.3, (40, 17, 3))
    features = compute_features(poses)
    for column, name in enumerate(FEATURE_NAMES):
        measure, _, side = name.rpartition("_")
        if side not in ("left", "right"):  # spine_flexion
            expected = angles.spine_flexion(poses)
        else:
            expected = getattr(angles, measure)(poses, side)
        np.testing.assert_array_equal(features[:, column], expected, err_msg=name)
