"""Forward kinematics: joint angles (degrees per frame) -> world joint positions (metres).

A pose is a dict of named degrees of freedom (``DOF_NAMES``), each an array ``(T,)``.
Angles are degrees; ``root_x``/``root_z`` (floor position) and ``root_lift`` (height
above the floor, for jumps) are metres. Local rotations compose down the tree of
:data:`synthetic_data.body.BODY_PARENTS`; a joint's rotation turns the bones to its
children, so bone lengths never change.

Sign conventions (body frame: x left, y up, z forward):
    * ``*_flex`` bends forward: spine and neck lean forward, thighs and upper arms swing
      forward, knees and elbows bend.
    * ``*_abd`` raises the limb sideways, away from the midline (negative: adduction).
    * ``*_knee_valgus`` tilts the shank outward relative to the thigh (a caving knee).
    * ``*_ankle_flex`` is dorsiflexion on top of the planted (flat) foot; negative
      values lift the heel.
    * ``*_foot_turn`` turns the planted foot outward about the vertical (toes out).
    * ``root_pitch`` tips the whole trunk forward about the hips (hip hinge, push-up).
"""

from __future__ import annotations

import numpy as np

from synthetic_data.body import BODY_PARENTS, J

SIDES = ("left", "right")
DOF_NAMES = (
    "root_yaw", "root_pitch", "root_roll", "root_x", "root_z", "root_lift",
    "spine_flex", "spine_bend", "spine_twist", "chest_flex", "neck_flex",
    *(f"{s}_{dof}" for s in SIDES for dof in (
        "shoulder_flex", "shoulder_abd", "elbow_flex", "hip_flex", "hip_abd", "hip_rot",
        "knee_flex", "knee_valgus", "ankle_flex", "foot_turn",
    )),
)  # fmt: skip


def zero_pose(frames: int) -> dict[str, np.ndarray]:
    """Every DOF at zero (upright rest pose) for ``frames`` frames."""
    return {name: np.zeros(frames) for name in DOF_NAMES}


def _axis_rotation(axis: int, degrees: np.ndarray) -> np.ndarray:
    """Rotations ``(T, 3, 3)`` by ``degrees`` about body axis 0 (x), 1 (y) or 2 (z)."""
    radians = np.deg2rad(np.asarray(degrees, dtype=np.float64))
    c, s = np.cos(radians), np.sin(radians)
    out = np.zeros((*radians.shape, 3, 3))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    out[..., axis, axis] = 1
    out[..., i, i], out[..., i, j], out[..., j, i], out[..., j, j] = c, -s, s, c
    return out


def rot_x(degrees: np.ndarray) -> np.ndarray:
    return _axis_rotation(0, degrees)


def rot_y(degrees: np.ndarray) -> np.ndarray:
    return _axis_rotation(1, degrees)


def rot_z(degrees: np.ndarray) -> np.ndarray:
    return _axis_rotation(2, degrees)


def local_rotations(pose: dict[str, np.ndarray]) -> np.ndarray:
    """Local rotation of every joint, ``(T, 28, 3, 3)``, from the DOFs of ``pose``."""
    frames = len(pose["root_yaw"])
    rotations = np.broadcast_to(np.eye(3), (frames, len(BODY_PARENTS), 3, 3)).copy()
    rotations[:, J["pelvis"]] = (
        rot_y(pose["root_yaw"]) @ rot_x(pose["root_pitch"]) @ rot_z(pose["root_roll"])
    )
    rotations[:, J["spine"]] = (
        rot_y(pose["spine_twist"]) @ rot_z(pose["spine_bend"]) @ rot_x(pose["spine_flex"])
    )
    rotations[:, J["thorax"]] = rot_x(pose["chest_flex"])
    rotations[:, J["neck_top"]] = rot_x(pose["neck_flex"])
    for side, mirror in (("left", 1.0), ("right", -1.0)):
        rotations[:, J[f"{side}_shoulder"]] = rot_x(-pose[f"{side}_shoulder_flex"]) @ rot_z(
            mirror * pose[f"{side}_shoulder_abd"]
        )
        rotations[:, J[f"{side}_elbow"]] = rot_x(-pose[f"{side}_elbow_flex"])
        rotations[:, J[f"{side}_hip"]] = (
            rot_x(-pose[f"{side}_hip_flex"])
            @ rot_z(mirror * pose[f"{side}_hip_abd"])
            @ rot_y(mirror * pose[f"{side}_hip_rot"])
        )
        rotations[:, J[f"{side}_knee"]] = rot_x(pose[f"{side}_knee_flex"]) @ rot_z(
            mirror * pose[f"{side}_knee_valgus"]
        )
    return rotations


def forward_kinematics(
    offsets: np.ndarray, pose: dict[str, np.ndarray], planted_feet: bool = True
) -> np.ndarray:
    """World positions ``(T, 28, 3)`` (metres, y up, floor at y = 0).

    Args:
        offsets: ``(28, 3)`` rest bone offsets from :func:`~synthetic_data.body.rest_offsets`.
        pose: DOF arrays ``(T,)``.
        planted_feet: Keep each foot level with the floor, facing the body's yaw turned
            out by ``*_foot_turn``, before applying ``*_ankle_flex``; otherwise the ankle
            angle is relative to the shank (and the foot turn unused).

    The body is placed so its lowest joint touches the floor plus ``root_lift``, and
    horizontally so that the centre of the feet (heels and toes) is at
    ``(root_x, root_z)``: feet stay where they stand while the body moves above them.
    """
    local = local_rotations(pose)
    frames = local.shape[0]
    world_rot = np.empty_like(local)
    positions = np.zeros((frames, len(BODY_PARENTS), 3))
    yaw = rot_y(pose["root_yaw"])
    for joint, parent in enumerate(BODY_PARENTS):
        if parent < 0:
            world_rot[:, joint] = local[:, joint]
            continue
        positions[:, joint] = positions[:, parent] + world_rot[:, parent] @ offsets[joint]
        if planted_feet and joint in (J["left_ankle"], J["right_ankle"]):
            side, mirror = ("left", 1.0) if joint == J["left_ankle"] else ("right", -1.0)
            turn = pose[f"{side}_foot_turn"]
            foot = yaw @ rot_y(mirror * turn) if turn.any() else yaw  # 0: as before, exactly
            world_rot[:, joint] = foot @ rot_x(-pose[f"{side}_ankle_flex"])
        else:
            world_rot[:, joint] = world_rot[:, parent] @ local[:, joint]
    positions[..., 1] += pose["root_lift"][:, None] - positions[..., 1].min(axis=1, keepdims=True)
    feet = [J[name] for name in ("left_heel", "left_toe", "right_heel", "right_toe")]
    feet_centre = positions[:, feet].mean(axis=1)
    positions[..., 0] += (pose["root_x"] - feet_centre[:, 0])[:, None]
    positions[..., 2] += (pose["root_z"] - feet_centre[:, 2])[:, None]
    return positions
