"""Joint angles measured on H36M-17 poses, degrees.

Every function takes poses ``(..., 17, 3)`` in any consistent Cartesian frame (world or
camera space, metres) and returns ``(...)`` degrees. They use only relative vectors, so
they do not depend on where the person stands or which way they face.
"""

from __future__ import annotations

import numpy as np

from pose3d.skeleton import H36M17

_I = {name: i for i, name in enumerate(H36M17.joint_names)}


def _unit(v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(norm == 0, 1.0, norm)


def angle_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Unsigned angle between vectors ``(..., 3)``, degrees in [0, 180]."""
    cos = np.clip((_unit(a) * _unit(b)).sum(axis=-1), -1.0, 1.0)
    return np.degrees(np.arccos(cos))


def _joint(poses: np.ndarray, name: str) -> np.ndarray:
    return poses[..., _I[name], :]


# The joint angles that are the angle between two bone vectors, each (from joint, to
# joint); "{side}" stands for "left" or "right".
BONE_ANGLES: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "spine_flexion": (("pelvis", "spine"), ("spine", "thorax")),
    "hip_flexion": (("thorax", "pelvis"), ("{side}_hip", "{side}_knee")),
    "knee_flexion": (("{side}_hip", "{side}_knee"), ("{side}_knee", "{side}_ankle")),
    "arm_elevation": (("thorax", "pelvis"), ("{side}_shoulder", "{side}_elbow")),
    "elbow_flexion": (("{side}_shoulder", "{side}_elbow"), ("{side}_elbow", "{side}_wrist")),
}


def bone_angle_joints(name: str, side: str = "") -> tuple[tuple[int, int], tuple[int, int]]:
    """The (from, to) joint indices of the two vectors of :data:`BONE_ANGLES` ``name``."""
    first, second = (
        tuple(_I[joint.format(side=side)] for joint in bone) for bone in BONE_ANGLES[name]
    )
    return first, second


def _bone_angle(poses: np.ndarray, name: str, side: str = "") -> np.ndarray:
    (a0, a1), (b0, b1) = bone_angle_joints(name, side)
    return angle_between(
        poses[..., a1, :] - poses[..., a0, :], poses[..., b1, :] - poses[..., b0, :]
    )


def spine_flexion(poses: np.ndarray) -> np.ndarray:
    """Bend of the back at the spine joint: angle between pelvis->spine and spine->thorax."""
    return _bone_angle(poses, "spine_flexion")


def knee_flexion(poses: np.ndarray, side: str) -> np.ndarray:
    """0 for a straight leg, growing as the knee bends."""
    return _bone_angle(poses, "knee_flexion", side)


def hip_flexion(poses: np.ndarray, side: str) -> np.ndarray:
    """Angle between the trunk's downward axis (thorax->pelvis) and the thigh."""
    return _bone_angle(poses, "hip_flexion", side)


def elbow_flexion(poses: np.ndarray, side: str) -> np.ndarray:
    """0 for a straight arm, growing as the elbow bends."""
    return _bone_angle(poses, "elbow_flexion", side)


def arm_elevation(poses: np.ndarray, side: str) -> np.ndarray:
    """Angle of the upper arm from the trunk's downward axis: 0 hanging, 180 overhead."""
    return _bone_angle(poses, "arm_elevation", side)


def knee_valgus(poses: np.ndarray, side: str) -> np.ndarray:
    """Inward (medial) deviation of the knee from the hip-ankle line, degrees.

    Positive when the knee falls toward the body's midline (knees caving in),
    negative when it bows outward. Computed as the angle whose sine is the knee's
    medial offset from the hip-ankle line divided by the thigh length.
    """
    other = "left" if side == "right" else "right"
    hip, knee, ankle = (_joint(poses, f"{side}_{j}") for j in ("hip", "knee", "ankle"))
    axis = _unit(ankle - hip)
    offset = knee - hip
    off_axis = offset - (offset * axis).sum(axis=-1, keepdims=True) * axis
    medial = _joint(poses, f"{other}_hip") - hip
    medial = _unit(medial - (medial * axis).sum(axis=-1, keepdims=True) * axis)
    ratio = (off_axis * medial).sum(axis=-1) / np.linalg.norm(offset, axis=-1)
    return np.degrees(np.arcsin(np.clip(ratio, -1.0, 1.0)))
