"""3D pose error metrics, in the units of their inputs (metres in, metres out).

All functions take ``predicted`` and ``target`` of shape ``(..., J, 3)`` (usually
``(T, J, 3)``) and average over every leading axis unless they say otherwise.

* MPJPE: mean Euclidean distance per joint.
* P-MPJPE: MPJPE after a per-frame similarity Procrustes alignment (rotation, uniform
  scale, translation) of the prediction onto the target.
* N-MPJPE: MPJPE after a per-frame least-squares scale of the prediction.
* MPJVE: MPJPE of the first time derivatives (per frame, not per second); needs the
  time axis at ``-3``.
* Bone drift (of a prediction alone, H36M-17): how much each bone's length changes over
  the frames.

Torch versions of the losses used in training follow the numpy ones.
"""

from __future__ import annotations

import numpy as np
import torch

from pose3d.skeleton import bone_lengths


def _check_pair(predicted: np.ndarray, target: np.ndarray) -> None:
    if predicted.shape != target.shape:
        raise ValueError(f"shape mismatch: predicted {predicted.shape} vs target {target.shape}")
    if predicted.ndim < 2 or predicted.shape[-1] != 3:
        raise ValueError(f"expected (..., J, 3) poses, got shape {predicted.shape}")


def per_joint_error(predicted: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Mean error of each joint over all leading axes: ``(J,)``."""
    _check_pair(predicted, target)
    distances = np.linalg.norm(predicted - target, axis=-1)
    return distances.reshape(-1, distances.shape[-1]).mean(axis=0)


def mpjpe(predicted: np.ndarray, target: np.ndarray) -> float:
    """Mean per-joint position error."""
    _check_pair(predicted, target)
    return float(np.linalg.norm(predicted - target, axis=-1).mean())


def procrustes_align(predicted: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Align each pose of ``predicted`` to ``target`` by similarity transform.

    Solves, per pose, ``min_{s,R,t} ||s R p + t - q||`` (Umeyama) with a proper rotation
    (no reflection). Shapes ``(..., J, 3)``; returns the aligned prediction.
    """
    _check_pair(predicted, target)
    shape = predicted.shape
    p = predicted.reshape(-1, shape[-2], 3).astype(np.float64)
    q = target.reshape(-1, shape[-2], 3).astype(np.float64)
    mu_p, mu_q = p.mean(axis=1, keepdims=True), q.mean(axis=1, keepdims=True)
    p0, q0 = p - mu_p, q - mu_q
    norm_p = np.sqrt((p0**2).sum(axis=(1, 2), keepdims=True))
    norm_q = np.sqrt((q0**2).sum(axis=(1, 2), keepdims=True))
    norm_p = np.where(norm_p == 0, 1.0, norm_p)
    norm_q = np.where(norm_q == 0, 1.0, norm_q)
    p0, q0 = p0 / norm_p, q0 / norm_q
    u, sigma, vt = np.linalg.svd(np.swapaxes(p0, 1, 2) @ q0)  # (N, 3, 3)
    # Flip the last singular direction where needed so R is a rotation, not a reflection.
    sign = np.sign(np.linalg.det(u @ vt))
    sign = np.where(sign == 0, 1.0, sign)
    vt[:, -1, :] *= sign[:, None]
    sigma[:, -1] *= sign
    rotation = u @ vt  # maps row vectors of p0 onto q0
    scale = sigma.sum(axis=1)[:, None, None] * norm_q / norm_p
    aligned = scale * (p - mu_p) @ rotation + mu_q
    return aligned.reshape(shape).astype(predicted.dtype)


def p_mpjpe(predicted: np.ndarray, target: np.ndarray) -> float:
    """MPJPE after per-frame similarity Procrustes alignment."""
    return mpjpe(procrustes_align(predicted, target), target)


def n_mpjpe(predicted: np.ndarray, target: np.ndarray) -> float:
    """MPJPE after the per-frame scale that best fits the prediction to the target."""
    _check_pair(predicted, target)
    dot = (predicted * target).sum(axis=(-1, -2), keepdims=True)
    norm = (predicted * predicted).sum(axis=(-1, -2), keepdims=True)
    scale = np.divide(dot, norm, out=np.ones_like(dot), where=norm > 0)
    return mpjpe(scale * predicted, target)


def mpjve(predicted: np.ndarray, target: np.ndarray) -> float:
    """Mean per-joint velocity error: MPJPE of frame-to-frame differences (time axis -3)."""
    _check_pair(predicted, target)
    if predicted.ndim < 3 or predicted.shape[-3] < 2:
        raise ValueError(f"MPJVE needs (..., T >= 2, J, 3) poses, got shape {predicted.shape}")
    return mpjpe(np.diff(predicted, axis=-3), np.diff(target, axis=-3))


def bone_length_drift(poses: np.ndarray) -> float:
    """How much the bones of one H36M-17 sequence ``(T, 17, 3)`` change length: per
    bone, the standard deviation of its length over the frames, averaged over the bones.
    A body's bones keep their length, so a true sequence gives 0; a lifter that shortens
    a limb it cannot place (a real deep squat's thigh pointing at the camera,
    docs/design-notes.md) gives more, which MPJPE alone mixes with every other error."""
    if poses.ndim != 3 or poses.shape[1:] != (17, 3):
        raise ValueError(f"expected (T, 17, 3) H36M-17 poses, got shape {poses.shape}")
    return float(bone_lengths(poses).std(axis=0).mean())


def mpjpe_torch(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Differentiable MPJPE (scalar tensor)."""
    if predicted.shape != target.shape:
        raise ValueError(f"shape mismatch: {tuple(predicted.shape)} vs {tuple(target.shape)}")
    return torch.linalg.vector_norm(predicted - target, dim=-1).mean()


def n_mpjpe_torch(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Differentiable N-MPJPE: the prediction is scaled per frame before MPJPE."""
    dot = (predicted * target).sum(dim=(-1, -2), keepdim=True)
    norm = (predicted * predicted).sum(dim=(-1, -2), keepdim=True).clamp_min(1e-12)
    return mpjpe_torch(dot / norm * predicted, target)


def mpjve_torch(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Differentiable MPJVE over time axis -3."""
    return mpjpe_torch(torch.diff(predicted, dim=-3), torch.diff(target, dim=-3))
