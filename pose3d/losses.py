"""Training losses beyond MPJPE: reprojection through the camera, bone lengths.

Used by semi-supervised training (Pavllo et al. 2019, section 4): unlabelled 2D
sequences are lifted, placed in the camera, projected back with the clip's intrinsics
and compared with the input 2D.

Placing the pose: the trajectory model predicts only the root's *depth*; the sideways
position comes from the observed 2D hip centre (:func:`root_from_hips`). Predicting all
three root coordinates (as the paper does) diverged on our data: after a short warm-up
the predicted root drifted sideways and the pose model bent itself to explain the
resulting 2D error (see docs/design-notes.md).
"""

from __future__ import annotations

import torch

from pose3d.skeleton import COCO17, COCO17_SHARED, H36M17, H36M17_SHARED

_PARENTS = [p for p, _ in H36M17.bones]
_CHILDREN = [c for _, c in H36M17.bones]
H36M_HIPS = [H36M17.index("left_hip"), H36M17.index("right_hip")]
MIN_JOINT_DEPTH = 0.3  # metres
MAX_JOINT_ERROR = 1.0  # normalised screen units (half the image width)
COCO17_HIPS = [COCO17.index("left_hip"), COCO17.index("right_hip")]


def project_normalized(points_cam: torch.Tensor, intrinsics: torch.Tensor) -> torch.Tensor:
    """Differentiable projection to normalised screen coordinates.

    Args:
        points_cam: ``(N, ..., 3)`` camera-space points (metres, z > 0).
        intrinsics: ``(N, 9)`` normalised intrinsics ``[fx, fy, cx, cy, k1, k2, k3, p1, p2]``
            from :meth:`pose3d.camera.Intrinsics.normalized`.

    Returns:
        ``(N, ..., 2)``: what :func:`pose3d.camera.project` followed by
        :func:`pose3d.camera.normalize_screen_coordinates` gives (same distortion model).
    """
    shape = (intrinsics.shape[0],) + (1,) * (points_cam.ndim - 2)
    fx, fy, cx, cy, k1, k2, k3, p1, p2 = (intrinsics[:, i].reshape(shape) for i in range(9))
    z = points_cam[..., 2].clamp_min(1e-3)
    x, y = points_cam[..., 0] / z, points_cam[..., 1] / z
    r2 = x * x + y * y
    radial = 1 + k1 * r2 + k2 * r2**2 + k3 * r2**3
    x_d = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    y_d = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    return torch.stack([fx * x_d + cx, fy * y_d + cy], dim=-1)


def undistort_normalized(
    points: torch.Tensor, intrinsics: torch.Tensor, iterations: int = 5
) -> torch.Tensor:
    """Inverse of :func:`project_normalized` up to depth: screen points -> image plane.

    Args:
        points: ``(N, ..., 2)`` normalised screen coordinates.
        intrinsics: ``(N, 9)`` normalised intrinsics.

    Returns:
        ``(N, ..., 2)`` undistorted image-plane coordinates ``(x / z, y / z)``, by
        fixed-point iteration (phone lenses are mild: 5 iterations reach < 1e-6).
    """
    shape = (intrinsics.shape[0],) + (1,) * (points.ndim - 2)
    fx, fy, cx, cy, k1, k2, k3, p1, p2 = (intrinsics[:, i].reshape(shape) for i in range(9))
    x_d, y_d = (points[..., 0] - cx) / fx, (points[..., 1] - cy) / fy
    x, y = x_d, y_d
    for _ in range(iterations):
        r2 = x * x + y * y
        radial = 1 + k1 * r2 + k2 * r2**2 + k3 * r2**3
        x = (x_d - 2 * p1 * x * y - p2 * (r2 + 2 * x * x)) / radial
        y = (y_d - p1 * (r2 + 2 * y * y) - 2 * p2 * x * y) / radial
    return torch.stack([x, y], dim=-1)


def root_from_hips(
    depth: torch.Tensor, poses: torch.Tensor, hips_2d: torch.Tensor, intrinsics: torch.Tensor
) -> torch.Tensor:
    """Camera-space root that puts the pose's hip centre on the observed 2D hip centre.

    Args:
        depth: ``(N, T)`` root depth (metres, > 0), e.g. from the trajectory model.
        poses: ``(N, T, 17, 3)`` root-relative H36M-17 poses (metres).
        hips_2d: ``(N, T, 2)`` observed hip centre, normalised screen coordinates.
        intrinsics: ``(N, 9)`` normalised intrinsics.

    Returns:
        ``(N, T, 1, 3)`` root positions: depth as given; x, y such that the predicted
        hip centre ``root + mean(hips)`` projects onto ``hips_2d``.
    """
    hips = poses[..., H36M_HIPS, :].mean(dim=-2)  # (N, T, 3), root-relative
    ray = undistort_normalized(hips_2d, intrinsics)  # (N, T, 2)
    xy = ray * (depth + hips[..., 2]).unsqueeze(-1) - hips[..., :2]
    return torch.cat([xy, depth.unsqueeze(-1)], dim=-1).unsqueeze(-2)


def bone_lengths_torch(poses: torch.Tensor) -> torch.Tensor:
    """H36M-17 bone lengths ``(..., 16)`` of poses ``(..., 17, 3)``."""
    return torch.linalg.vector_norm(poses[..., _CHILDREN, :] - poses[..., _PARENTS, :], dim=-1)


def reprojection_loss(
    poses: torch.Tensor, root: torch.Tensor, intrinsics: torch.Tensor, target_2d: torch.Tensor
) -> torch.Tensor:
    """Mean 2D distance after projecting ``poses + root``, weighted by 1 / depth.

    Robust to the wild predictions of a young model, which would otherwise wreck the
    optimiser's moment estimates in one step: joints are kept at least
    ``MIN_JOINT_DEPTH`` in front of the lens, and each joint's 2D error counts at most
    ``MAX_JOINT_ERROR`` (half the image width; such outliers give no gradient).

    Args:
        poses: ``(N, T, 17, 3)`` root-relative predictions (metres).
        root: ``(N, T, 1, 3)`` predicted root positions in camera space (metres).
        intrinsics: ``(N, 9)`` normalised intrinsics.
        target_2d: ``(N, T, 17, 2)`` normalised COCO-17 input keypoints; the 13 joints
            both layouts share are compared.
    """
    # People stand at least half a metre from the phone: an untrained trajectory model
    # must not blow the projection up by dividing by a depth near zero.
    depth = root[..., 2:3].clamp_min(0.5)
    points = poses[..., H36M17_SHARED, :] + torch.cat([root[..., :2], depth], dim=-1)
    points = torch.cat([points[..., :2], points[..., 2:].clamp_min(MIN_JOINT_DEPTH)], dim=-1)
    projected = project_normalized(points, intrinsics)
    error = torch.linalg.vector_norm(projected - target_2d[..., COCO17_SHARED, :], dim=-1)
    weight = 1.0 / depth[..., 0]  # far people move less on screen
    return (error.clamp_max(MAX_JOINT_ERROR) * weight).mean()


def labelled_bone_loss(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference (metres) between each predicted bone's length and the
    labelled pose's, ``(N, T, 17, 3)`` each. MPJPE lets a limb the network cannot place
    shrink cheaply (a real deep squat's thigh pointing at the camera came out 0.44-0.94
    of its length, docs/design-notes.md); this prices the length on its own."""
    return (bone_lengths_torch(predicted) - bone_lengths_torch(target)).abs().mean()


def bone_length_loss(unlabelled: torch.Tensor, labelled: torch.Tensor) -> torch.Tensor:
    """Difference between the mean bone lengths of two batches ``(N, T, 17, 3)``."""
    mean_unlabelled = bone_lengths_torch(unlabelled).mean(dim=(0, 1))
    mean_labelled = bone_lengths_torch(labelled).mean(dim=(0, 1))
    return (mean_unlabelled - mean_labelled.detach()).abs().mean()
