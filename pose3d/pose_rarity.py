"""Sampling weights that lift rare poses (deep squats, lunges) out of the long tail.

Real motion capture is mostly standing and walking: in the real training shards a knee
bent past 120 deg is 0.6% of frames, so a lifter trained on uniformly drawn windows
barely prices a deep squat and lifts a real one at half its depth (design notes,
session 35). :func:`rare_pose_weights` bins each frame's leg posture (the more bent knee
and hip, degrees) and weighs a frame by its bin's count to the power ``-power``: 0 keeps
every frame equally likely, 1 makes every occupied bin equally likely, and between them
the tail is raised without the few rare frames dominating.
"""

from __future__ import annotations

import numpy as np

from pose3d.angles import hip_flexion, knee_flexion

BIN_DEGREES = 15.0
"""Width of a posture bin: coarser than the lift's angle error on common poses (~10
deg), fine enough to tell a parallel squat (~110 deg at the knee) from a deep one."""


def leg_posture(poses: np.ndarray) -> np.ndarray:
    """The more bent knee and the more bent hip of each pose, ``(F, 17, 3)`` -> ``(F, 2)``
    degrees."""
    knee = np.maximum(knee_flexion(poses, "left"), knee_flexion(poses, "right"))
    hip = np.maximum(hip_flexion(poses, "left"), hip_flexion(poses, "right"))
    return np.stack([knee, hip], axis=-1)


def rare_pose_weights(poses: np.ndarray, power: float) -> np.ndarray:
    """Per-frame sampling probabilities ``(F,)`` (summing to 1) for poses ``(F, 17, 3)``.

    A frame weighs ``count(bin) ** -power``, its bin being its :func:`leg_posture` cut
    into :data:`BIN_DEGREES` squares.
    """
    if not 0.0 <= power <= 1.0:
        raise ValueError(f"rare-pose power must be in [0, 1], got {power}")
    if len(poses) == 0:
        raise ValueError("no poses to weigh")
    bins = np.floor(leg_posture(poses) / BIN_DEGREES).astype(np.int64)
    _, inverse, counts = np.unique(bins, axis=0, return_inverse=True, return_counts=True)
    weights = counts[inverse.reshape(-1)].astype(np.float64) ** -power
    return weights / weights.sum()
