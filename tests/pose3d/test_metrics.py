import numpy as np
import pytest
import torch

from pose3d.metrics import (
    bone_length_drift,
    mpjpe,
    mpjpe_torch,
    mpjve,
    mpjve_torch,
    n_mpjpe,
    n_mpjpe_torch,
    p_mpjpe,
    per_joint_error,
)


def _rotation(angle):
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


@pytest.fixture
def poses():
    return np.random.default_rng(0).normal(size=(6, 17, 3))


def test_mpjpe_hand_computed():
    target = np.zeros((1, 2, 3))
    predicted = np.array([[[3.0, 4.0, 0.0], [0.0, 0.0, 1.0]]])
    assert mpjpe(predicted, target) == pytest.approx(3.0)  # (5 + 1) / 2
    assert per_joint_error(predicted, target) == pytest.approx([5.0, 1.0])


def test_similarity_transform_gives_zero_p_mpjpe(poses):
    predicted = 1.7 * poses @ _rotation(0.8).T + np.array([0.3, -0.2, 1.0])
    assert mpjpe(predicted, poses) > 0.5
    assert p_mpjpe(predicted, poses) == pytest.approx(0.0, abs=1e-9)


def test_p_mpjpe_does_not_undo_a_reflection(poses):
    mirrored = poses * np.array([-1, 1, 1])
    assert p_mpjpe(mirrored, poses) > 0.1


def test_scale_only_error_is_removed_by_n_mpjpe(poses):
    assert n_mpjpe(0.8 * poses, poses) == pytest.approx(0.0, abs=1e-12)
    # A rotation is not removed by N-MPJPE.
    assert n_mpjpe(poses @ _rotation(0.5).T, poses) > 0.1


def test_mpjve_ignores_a_constant_offset_but_sees_jitter(poses):
    assert mpjve(poses + 0.5, poses) == pytest.approx(0.0)
    jitter = poses.copy()
    jitter[::2] += 0.01
    assert mpjve(jitter, poses) == pytest.approx(0.01 * np.sqrt(3))


def test_bone_drift_is_zero_for_a_rigid_body_and_sees_a_shrinking_thigh():
    rng = np.random.default_rng(2)
    body = rng.normal(size=(17, 3))
    turning = np.stack([body @ _rotation(angle).T + [angle, 0, 0] for angle in (0, 0.4, 0.9)])
    assert bone_length_drift(turning) == pytest.approx(0.0, abs=1e-12)
    shrinking = turning.copy()  # the right knee (2) drawn to its hip (1) in the last frame
    thigh = shrinking[2, 2] - shrinking[2, 1]
    shrinking[2, 2:4] -= 0.5 * thigh  # the ankle (3) follows: the shin keeps its length
    length = np.linalg.norm(thigh)
    expected = np.std([length, length, 0.5 * length]) / 16  # one bone of H36M-17's 16
    assert bone_length_drift(shrinking) == pytest.approx(expected)
    with pytest.raises(ValueError, match="H36M-17"):
        bone_length_drift(turning[:, :16])


def test_torch_versions_match_numpy(poses):
    noisy = poses + np.random.default_rng(1).normal(scale=0.05, size=poses.shape)
    p, t = torch.from_numpy(noisy), torch.from_numpy(poses)
    assert mpjpe_torch(p, t).item() == pytest.approx(mpjpe(noisy, poses))
    assert n_mpjpe_torch(p, t).item() == pytest.approx(n_mpjpe(noisy, poses))
    assert mpjve_torch(p, t).item() == pytest.approx(mpjve(noisy, poses))


def test_shape_mismatch_is_named(poses):
    with pytest.raises(ValueError, match="shape mismatch"):
        mpjpe(poses[:, :16], poses)
