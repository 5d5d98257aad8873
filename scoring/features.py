"""Per-frame joint-angle features of H36M-17 poses, and what they say about each segment.

Features are angles (degrees) computed from relative vectors only, so they do not depend
on where the person stands, which way they face, the camera, or their height and
proportions. Each body segment is judged on its own features.
"""

from __future__ import annotations

import numpy as np

from pose3d import angles
from pose3d.skeleton import H36M17, bone_lengths

FEATURE_NAMES = (
    "spine_flexion",
    "hip_flexion_left",
    "hip_flexion_right",
    "knee_flexion_left",
    "knee_flexion_right",
    "knee_valgus_left",
    "knee_valgus_right",
    "arm_elevation_left",
    "arm_elevation_right",
    "elbow_flexion_left",
    "elbow_flexion_right",
)
F = {name: i for i, name in enumerate(FEATURE_NAMES)}

# Segment -> features that describe it; and the H36M joints it spans (for 2D confidence).
SEGMENT_FEATURES = {
    "spine": ("spine_flexion",),
    "hips": ("hip_flexion_left", "hip_flexion_right", "knee_flexion_left", "knee_flexion_right"),
    "left_leg": ("knee_flexion_left", "knee_valgus_left"),
    "right_leg": ("knee_flexion_right", "knee_valgus_right"),
    "left_arm": ("arm_elevation_left", "elbow_flexion_left"),
    "right_arm": ("arm_elevation_right", "elbow_flexion_right"),
}
SEGMENT_JOINTS = {name: H36M17.segments[name] for name in SEGMENT_FEATURES}


def segment_columns(segment: str) -> list[int]:
    """Feature columns describing ``segment`` (none for ``"timing"``)."""
    return [F[name] for name in SEGMENT_FEATURES.get(segment, ())]


def validate_poses(poses: np.ndarray, name: str = "poses") -> np.ndarray:
    """Check ``(T, 17, 3)`` finite poses with at least 2 frames; return float64."""
    array = np.asarray(poses, dtype=np.float64)
    if array.ndim != 3 or array.shape[1:] != (17, 3):
        raise ValueError(f"{name} must be H36M-17 poses of shape (T, 17, 3), got {array.shape}")
    if array.shape[0] < 2:
        raise ValueError(f"{name}: need at least 2 frames, got {array.shape[0]}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contain NaN or infinite values")
    return array


def _bone_angle_of(feature: str) -> tuple[str, str] | None:
    """``(name, side)`` in :data:`pose3d.angles.BONE_ANGLES` of a feature that is a bone
    angle; ``None`` for the others (the valgus)."""
    if feature in angles.BONE_ANGLES:
        return feature, ""
    measure, _, side = feature.rpartition("_")
    return (measure, side) if measure in angles.BONE_ANGLES else None


# The bone-angle features' columns and their vectors' (from, to) joints, computed at once.
_BONE_FEATURES = {F[f]: _bone_angle_of(f) for f in FEATURE_NAMES if _bone_angle_of(f)}
_ANGLE_COLUMNS = list(_BONE_FEATURES)
_FIRST, _SECOND = (
    np.array([angles.bone_angle_joints(*angle)[i] for angle in _BONE_FEATURES.values()])
    for i in (0, 1)
)


def compute_features(poses: np.ndarray) -> np.ndarray:
    """``(T, 17, 3)`` poses -> ``(T, len(FEATURE_NAMES))`` angles in degrees.

    The angles (all but the valgus) are computed together, one numpy step each for all
    columns, the same numbers as their :mod:`pose3d.angles` functions give one by one: a
    live stream computes them for a few new frames every half second, where the calls'
    own cost is most of the work."""
    poses = validate_poses(poses)
    features = np.empty((len(poses), len(FEATURE_NAMES)))
    first = poses[:, _FIRST[:, 1]] - poses[:, _FIRST[:, 0]]  # (T, A, 3)
    second = poses[:, _SECOND[:, 1]] - poses[:, _SECOND[:, 0]]
    features[:, _ANGLE_COLUMNS] = angles.angle_between(first, second)
    for side in ("left", "right"):
        features[:, F[f"knee_valgus_{side}"]] = angles.knee_valgus(poses, side)
    return features


def facing_yaw(poses: np.ndarray) -> np.ndarray:
    """Per frame, the angle (deg) between the person's facing and the camera axis.

    0 means facing the camera, 90 side-on. Poses must be in camera space (x right, y
    down, z forward), as the lifter outputs them.
    """
    left = poses[:, H36M17.index("left_hip")] - poses[:, H36M17.index("right_hip")]
    up = poses[:, H36M17.index("thorax")] - poses[:, H36M17.index("pelvis")]
    forward = np.cross(left, up)
    horizontal = forward[:, [0, 2]]
    norm = np.linalg.norm(horizontal, axis=1) + 1e-9
    # Facing the camera means forward points along -z (towards the lens).
    cos = -horizontal[:, 1] / norm
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def retarget(reference: np.ndarray, target_poses: np.ndarray) -> np.ndarray:
    """``reference`` motion ``(T, 17, 3)`` expressed on the bone lengths of ``target_poses``.

    Each bone keeps the reference's direction and takes the target person's median
    length; joints are rebuilt from the root down the kinematic tree.
    """
    lengths = np.median(bone_lengths(target_poses, H36M17), axis=0)
    out = np.zeros_like(reference)
    out[:, 0] = reference[:, 0]
    for bone, (parent, child) in enumerate(H36M17.bones):
        direction = reference[:, child] - reference[:, parent]
        direction /= np.linalg.norm(direction, axis=1, keepdims=True) + 1e-12
        out[:, child] = out[:, parent] + direction * lengths[bone]
    return out
