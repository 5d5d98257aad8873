"""Sampling weights that lift rare poses (deep squats, arms overhead) out of the long tail.

Real motion capture is mostly standing and walking: in the real training shards a knee
bent past 120 deg is 0.6% of frames, so a lifter trained on uniformly drawn windows
barely prices a deep squat and lifts a real one at half its depth (design notes,
session 35). :func:`rare_pose_weights` bins each frame's posture (the more bent knee and
hip and, by default, the higher upper arm, degrees) and weighs a frame by its bin's
count to the power ``-power``: 0 keeps every frame equally likely, 1 makes every
occupied bin equally likely, and between them the tail is raised without the few rare
frames dominating. Binning the legs alone drew standing poses, arms overhead included,
less often, and the lift of real jumping jacks lost what the squats gained (session 35).
"""

from __future__ import annotations

import numpy as np

from pose3d.angles import arm_elevation, hip_flexion, knee_flexion

BIN_DEGREES = 15.0
"""Width of a posture bin: coarser than the lift's angle error on common poses (~10
deg), fine enough to tell a parallel squat (~110 deg at the knee) from a deep one."""

POSTURES = ("limbs", "legs")
"""What a posture bin is cut on: knees, hips and upper arms, or knees and hips only."""


def posture_angles(poses: np.ndarray, posture: str = "limbs") -> np.ndarray:
    """The more bent knee, the more bent hip and (``limbs``) the higher upper arm of each
    pose, ``(F, 17, 3)`` -> ``(F, 3)`` (``(F, 2)`` for ``legs``) degrees."""
    if posture not in POSTURES:
        raise ValueError(f"posture must be one of {POSTURES}, got {posture!r}")
    angles = [
        np.maximum(knee_flexion(poses, "left"), knee_flexion(poses, "right")),
        np.maximum(hip_flexion(poses, "left"), hip_flexion(poses, "right")),
    ]
    if posture == "limbs":
        angles.append(np.maximum(arm_elevation(poses, "left"), arm_elevation(poses, "right")))
    return np.stack(angles, axis=-1)


def rare_pose_weights(poses: np.ndarray, power: float, posture: str = "limbs") -> np.ndarray:
    """Per-frame sampling probabilities ``(F,)`` (summing to 1) for poses ``(F, 17, 3)``.

    A frame weighs ``count(bin) ** -power``, its bin being its :func:`posture_angles`
    cut into :data:`BIN_DEGREES` cells.
    """
    if not 0.0 <= power <= 1.0:
        raise ValueError(f"rare-pose power must be in [0, 1], got {power}")
    if len(poses) == 0:
        raise ValueError("no poses to weigh")
    bins = np.floor(posture_angles(poses, posture) / BIN_DEGREES).astype(np.int64)
    _, inverse, counts = np.unique(bins, axis=0, return_inverse=True, return_counts=True)
    weights = counts[inverse.reshape(-1)].astype(np.float64) ** -power
    return weights / weights.sum()
