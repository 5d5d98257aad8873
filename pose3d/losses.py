"""Training losses beyond MPJPE: reprojection through the camera, bone lengths.

Used by semi-supervised training (Pavllo et al. 2019, section 4): unlabelled 2D
sequences are lifted, placed in the camera with the trajectory model's root position,
projected back with the clip's intrinsics and compared with the input 2D.
"""

from __future__ import annotations

import torch

from pose3d.skeleton import COCO17_SHARED, H36M17, H36M17_SHARED

_PARENTS = [p for p, _ in H36M17.bones]
_CHILDREN = [c for _, c in H36M17.bones]


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


def bone_lengths_torch(poses: torch.Tensor) -> torch.Tensor:
    """H36M-17 bone lengths ``(..., 16)`` of poses ``(..., 17, 3)``."""
    return torch.linalg.vector_norm(poses[..., _CHILDREN, :] - poses[..., _PARENTS, :], dim=-1)


def reprojection_loss(
    poses: torch.Tensor, root: torch.Tensor, intrinsics: torch.Tensor, target_2d: torch.Tensor
) -> torch.Tensor:
    """Mean 2D distance after projecting ``poses + root``, weighted by 1 / depth.

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
    root = torch.cat([root[..., :2], depth], dim=-1)
    projected = project_normalized(poses[..., H36M17_SHARED, :] + root, intrinsics)
    target_2d = target_2d[..., COCO17_SHARED, :]
    weight = 1.0 / depth[..., 0]  # far people move less on screen
    return (torch.linalg.vector_norm(projected - target_2d, dim=-1) * weight).mean()


def bone_length_loss(unlabelled: torch.Tensor, labelled: torch.Tensor) -> torch.Tensor:
    """Difference between the mean bone lengths of two batches ``(N, T, 17, 3)``."""
    mean_unlabelled = bone_lengths_torch(unlabelled).mean(dim=(0, 1))
    mean_labelled = bone_lengths_torch(labelled).mean(dim=(0, 1))
    return (mean_unlabelled - mean_labelled.detach()).abs().mean()
