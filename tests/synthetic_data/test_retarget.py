"""Retargeting real motion onto simulated bodies keeps the motion and changes the body."""

from __future__ import annotations

import numpy as np
import pytest

from synthetic_data.body import BODY_PARENTS, BodyParams, J, rest_offsets
from synthetic_data.generator import ClipRequest, generate_clip
from synthetic_data.retarget import (
    bone_lengths,
    donor_variants,
    mirror,
    resample,
    retarget,
    retarget_to_skeleton,
    variants,
)


@pytest.fixture(scope="module")
def squat():
    return generate_clip(ClipRequest(seed=4, movement="squat", num_reps=2, num_cameras=1))


def _angle(joints, a, b, c):
    u, v = joints[:, J[a]] - joints[:, J[b]], joints[:, J[c]] - joints[:, J[b]]
    cos = (u * v).sum(-1) / np.linalg.norm(u, axis=-1) / np.linalg.norm(v, axis=-1)
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def test_retargeted_motion_keeps_angles_and_takes_the_new_bones(squat):
    body = BodyParams.sample(np.random.default_rng(1), body_id="someone")
    moved = retarget(squat, body, "moved")
    lengths = np.linalg.norm(rest_offsets(body), axis=1)
    for joint, parent in enumerate(BODY_PARENTS):
        if parent >= 0:
            bone = np.linalg.norm(moved.joints[:, joint] - moved.joints[:, parent], axis=-1)
            np.testing.assert_allclose(bone, lengths[joint], rtol=1e-4)
    knee_before = _angle(squat.joints, "left_hip", "left_knee", "left_ankle")
    knee_after = _angle(moved.joints, "left_hip", "left_knee", "left_ankle")
    np.testing.assert_allclose(knee_after, knee_before, atol=0.05)
    assert moved.joints[..., 1].min() == pytest.approx(0.0, abs=1e-6)  # on the floor
    height = moved.joints[0, :, 1].max()
    assert height == pytest.approx(body.height, rel=0.05)
    assert moved.body.body_id == "someone"


def test_mirror_swaps_sides_and_resample_changes_timing(squat):
    flipped = mirror(squat, "m")
    np.testing.assert_allclose(
        flipped.joints[:, J["left_knee"], 0], -squat.joints[:, J["right_knee"], 0]
    )
    faster = resample(squat, 30.0, tempo=1.25)
    assert faster.num_frames == pytest.approx(squat.num_frames / 1.25, abs=1)
    slow_fps = resample(squat, 15.0)
    np.testing.assert_allclose(slow_fps.joints[1], squat.joints[2], atol=1e-5)  # 30 -> 15 fps
    with pytest.raises(ValueError, match="positive"):
        resample(squat, 0.0)


def test_variants_are_new_bodies_of_the_same_subject(squat):
    squat.body.extra["subject"] = "cmu_014"
    made = variants(squat, np.random.default_rng(0), 4)
    heights = {round(v.body.height, 3) for v in made}
    assert len(made) == 4 and len(heights) == 4
    assert {v.body.body_id for v in made} == {"cmu_014"}  # a person stays in one split
    assert len({v.clip_id for v in made}) == 4 and all(v.fps == 30 for v in made)


def test_motion_moves_onto_another_real_skeleton(squat):
    donor = retarget(squat, BodyParams.sample(np.random.default_rng(5), body_id="d"), "d")
    lengths = bone_lengths(donor)
    np.testing.assert_allclose(lengths, np.linalg.norm(rest_offsets(donor.body), axis=1), atol=1e-4)
    moved = retarget_to_skeleton(squat, lengths, "on-donor", "cmu_005")
    np.testing.assert_allclose(bone_lengths(moved), lengths, atol=1e-4)
    knee_before = _angle(squat.joints, "left_hip", "left_knee", "left_ankle")
    np.testing.assert_allclose(
        _angle(moved.joints, "left_hip", "left_knee", "left_ankle"), knee_before, atol=0.05
    )
    assert moved.body.body_id == squat.body.body_id  # the performer's split
    assert moved.body.extra["skeleton_of"] == "cmu_005"


def test_donor_variants_never_use_the_performers_own_skeleton(squat):
    squat.body.extra["subject"] = "cmu_014"
    own = bone_lengths(squat)
    other = own * 1.2
    made = donor_variants(squat, np.random.default_rng(0), {"cmu_014": own, "cmu_005": other}, 3)
    assert len(made) == 3 and {c.body.extra["skeleton_of"] for c in made} == {"cmu_005"}
    for clip in made:  # mirroring and tempo keep the donor's bones
        np.testing.assert_allclose(bone_lengths(clip), other, rtol=0.02)
    assert donor_variants(squat, np.random.default_rng(0), {"cmu_014": own}, 3) == []
