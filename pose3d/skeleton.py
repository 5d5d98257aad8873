"""Joint layouts: MediaPipe Pose (phone input), COCO-17 (lifter input), H36M-17 (lifter output).

A :class:`Layout` names its joints and knows which are left/right twins (for flip
augmentation), how they connect (bones, for drawing and bone-length losses) and which
body segments they form (for per-segment feedback). 3D layouts also carry a kinematic
tree (``parents``).

Conventions used by :func:`flip_lr`: the x axis is horizontal, so mirroring a pose
negates x and swaps each left joint with its right twin. That holds for root-relative
3D poses in camera space and for 2D keypoints after
:func:`pose3d.camera.normalize_screen_coordinates` (x in [-1, 1]).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Layout:
    """A named joint layout.

    Attributes:
        name: Short identifier used in files and APIs (``"coco17"``).
        joint_names: One name per joint, in array order.
        left: Indices of left-side joints; ``right[i]`` is the twin of ``left[i]``.
        right: Indices of right-side joints.
        bones: ``(parent, child)`` index pairs drawn as the skeleton's bones.
        segments: Body segment name -> joint indices belonging to it.
        parents: For 3D kinematic layouts, the parent index of each joint (-1 for root).
    """

    name: str
    joint_names: tuple[str, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]
    bones: tuple[tuple[int, int], ...]
    segments: dict[str, tuple[int, ...]] = field(default_factory=dict)
    parents: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        n = len(self.joint_names)
        if len(self.left) != len(self.right):
            raise ValueError(f"{self.name}: left and right lists differ in length")
        indices = [*self.left, *self.right, *(i for bone in self.bones for i in bone)]
        indices += [i for joints in self.segments.values() for i in joints]
        if any(not 0 <= i < n for i in indices):
            raise ValueError(f"{self.name}: a joint index is outside 0..{n - 1}")
        if self.parents is not None and len(self.parents) != n:
            raise ValueError(f"{self.name}: parents has {len(self.parents)} entries for {n} joints")

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def flip_permutation(self) -> np.ndarray:
        """Index array that swaps every left joint with its right twin, shape ``(J,)``."""
        perm = np.arange(self.num_joints)
        perm[list(self.left)] = self.right
        perm[list(self.right)] = self.left
        return perm

    def index(self, joint_name: str) -> int:
        """Array index of ``joint_name``; raises ``ValueError`` naming the layout if unknown."""
        try:
            return self.joint_names.index(joint_name)
        except ValueError:
            raise ValueError(f"layout {self.name!r} has no joint named {joint_name!r}") from None


def _bones_from_parents(parents: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    return tuple((p, c) for c, p in enumerate(parents) if p >= 0)


MEDIAPIPE33 = Layout(
    name="mediapipe33",
    joint_names=(
        "nose",
        "left_eye_inner",
        "left_eye",
        "left_eye_outer",
        "right_eye_inner",
        "right_eye",
        "right_eye_outer",
        "left_ear",
        "right_ear",
        "mouth_left",
        "mouth_right",
        "left_shoulder",
        "right_shoulder",
        "left_elbow",
        "right_elbow",
        "left_wrist",
        "right_wrist",
        "left_pinky",
        "right_pinky",
        "left_index",
        "right_index",
        "left_thumb",
        "right_thumb",
        "left_hip",
        "right_hip",
        "left_knee",
        "right_knee",
        "left_ankle",
        "right_ankle",
        "left_heel",
        "right_heel",
        "left_foot_index",
        "right_foot_index",
    ),
    left=(1, 2, 3, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31),
    right=(4, 5, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32),
    bones=(
        (11, 12),
        (11, 13),
        (13, 15),
        (15, 17),
        (15, 19),
        (15, 21),
        (17, 19),
        (12, 14),
        (14, 16),
        (16, 18),
        (16, 20),
        (16, 22),
        (18, 20),
        (11, 23),
        (12, 24),
        (23, 24),
        (23, 25),
        (25, 27),
        (27, 29),
        (29, 31),
        (27, 31),
        (24, 26),
        (26, 28),
        (28, 30),
        (30, 32),
        (28, 32),
        (0, 1),
        (1, 2),
        (2, 3),
        (3, 7),
        (0, 4),
        (4, 5),
        (5, 6),
        (6, 8),
        (9, 10),
    ),
    segments={
        "head": (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10),
        "left_arm": (11, 13, 15, 17, 19, 21),
        "right_arm": (12, 14, 16, 18, 20, 22),
        "torso": (11, 12, 23, 24),
        "left_leg": (23, 25, 27, 29, 31),
        "right_leg": (24, 26, 28, 30, 32),
    },
)

COCO17 = Layout(
    name="coco17",
    joint_names=(
        "nose",
        "left_eye",
        "right_eye",
        "left_ear",
        "right_ear",
        "left_shoulder",
        "right_shoulder",
        "left_elbow",
        "right_elbow",
        "left_wrist",
        "right_wrist",
        "left_hip",
        "right_hip",
        "left_knee",
        "right_knee",
        "left_ankle",
        "right_ankle",
    ),
    left=(1, 3, 5, 7, 9, 11, 13, 15),
    right=(2, 4, 6, 8, 10, 12, 14, 16),
    bones=(
        (0, 1),
        (0, 2),
        (1, 3),
        (2, 4),
        (5, 6),
        (5, 7),
        (7, 9),
        (6, 8),
        (8, 10),
        (5, 11),
        (6, 12),
        (11, 12),
        (11, 13),
        (13, 15),
        (12, 14),
        (14, 16),
    ),
    segments={
        "head": (0, 1, 2, 3, 4),
        "left_arm": (5, 7, 9),
        "right_arm": (6, 8, 10),
        "torso": (5, 6, 11, 12),
        "left_leg": (11, 13, 15),
        "right_leg": (12, 14, 16),
    },
)

_H36M_PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)

H36M17 = Layout(
    name="h36m17",
    joint_names=(
        "pelvis",
        "right_hip",
        "right_knee",
        "right_ankle",
        "left_hip",
        "left_knee",
        "left_ankle",
        "spine",
        "thorax",
        "neck_nose",
        "head",
        "left_shoulder",
        "left_elbow",
        "left_wrist",
        "right_shoulder",
        "right_elbow",
        "right_wrist",
    ),
    left=(4, 5, 6, 11, 12, 13),
    right=(1, 2, 3, 14, 15, 16),
    bones=_bones_from_parents(_H36M_PARENTS),
    parents=_H36M_PARENTS,
    segments={
        "spine": (0, 7, 8),
        "head": (8, 9, 10),
        "hips": (0, 1, 4),
        "shoulders": (8, 11, 14),
        "left_arm": (11, 12, 13),
        "right_arm": (14, 15, 16),
        "left_leg": (4, 5, 6),
        "right_leg": (1, 2, 3),
    },
)

LAYOUTS: dict[str, Layout] = {layout.name: layout for layout in (MEDIAPIPE33, COCO17, H36M17)}

# Joints present in both COCO-17 (2D input) and H36M-17 (3D output), as index pairs:
# nose ~ neck/nose, shoulders, elbows, wrists, hips, knees, ankles.
COCO17_SHARED = np.array([0, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16])
H36M17_SHARED = np.array([9, 11, 14, 12, 15, 13, 16, 4, 1, 5, 2, 6, 3])

# MediaPipe Pose -> COCO-17 is a pure selection: COCO joint i is MediaPipe landmark [i].
MEDIAPIPE33_TO_COCO17 = np.array([0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28])


def get_layout(name: str | Layout) -> Layout:
    """Look a layout up by name (case-insensitive); raises ``ValueError`` for an unknown one."""
    if isinstance(name, Layout):
        return name
    layout = LAYOUTS.get(str(name).lower())
    if layout is None:
        raise ValueError(f"unknown layout {name!r}; expected one of {', '.join(LAYOUTS)}")
    return layout


def convert_layout(points: np.ndarray, source: str | Layout, target: str | Layout) -> np.ndarray:
    """Re-order joints from ``source`` to ``target`` layout along axis -2.

    Works for keypoints ``(..., J, C)``. For per-joint scores ``(..., J)`` add a trailing
    axis first. Only exact conversions are offered (identity, mediapipe33 -> coco17).
    """
    src, dst = get_layout(source), get_layout(target)
    if points.shape[-2] != src.num_joints:
        raise ValueError(
            f"expected {src.num_joints} joints for layout {src.name!r}, got {points.shape[-2]}"
        )
    if src.name == dst.name:
        return points
    if (src.name, dst.name) == ("mediapipe33", "coco17"):
        return points[..., MEDIAPIPE33_TO_COCO17, :]
    raise ValueError(f"no exact conversion from {src.name!r} to {dst.name!r}")


def flip_lr(points: np.ndarray, layout: str | Layout) -> np.ndarray:
    """Mirror poses left-right: negate x and swap left/right joints.

    Args:
        points: ``(..., J, C)`` with x first; centred coordinates (normalised 2D or
            root-relative 3D), so that negating x mirrors about the centre.
        layout: The layout of axis -2.

    Returns:
        A new array of the same shape and dtype.
    """
    lay = get_layout(layout)
    if points.shape[-2] != lay.num_joints:
        raise ValueError(
            f"expected {lay.num_joints} joints for layout {lay.name!r}, got {points.shape[-2]}"
        )
    flipped = points[..., lay.flip_permutation, :].copy()
    flipped[..., 0] *= -1
    return flipped


def bone_lengths(poses: np.ndarray, layout: str | Layout = H36M17) -> np.ndarray:
    """Length of each bone of ``layout`` for poses ``(..., J, 3)``: ``(..., num_bones)``."""
    lay = get_layout(layout)
    parent_idx = [p for p, _ in lay.bones]
    child_idx = [c for _, c in lay.bones]
    return np.linalg.norm(poses[..., child_idx, :] - poses[..., parent_idx, :], axis=-1)
