"""Complete a partial skeleton (COCO-17, OpenPose-18, mocap) to the body-28 layout.

External sources name fewer joints than the simulator. Missing body-28 joints are
placed from the ones present, in proportions of the body-28 rest skeleton measured
along the trunk (hip centre to shoulder centre): pelvis a little above the hip centre,
thorax a little above the shoulder centre, spine between them, head from the ears or
eyes, hands beyond the wrists, heels and toes under the ankles along the facing
direction. World axes: y up, metres.
"""

from __future__ import annotations

import numpy as np

from synthetic_data.body import BODY_JOINT_NAMES

_UP = np.array([0.0, 1.0, 0.0])


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def complete_body(partial: dict[str, np.ndarray]) -> tuple[np.ndarray, list[str]]:
    """Fill a body-28 array from named joints ``{name: (T, 3)}``.

    Requires both shoulders and both hips. Returns ``(T, 28, 3)`` and the names of the
    joints that were derived rather than given.
    """
    need = ("left_shoulder", "right_shoulder", "left_hip", "right_hip")
    missing = [name for name in need if name not in partial]
    if missing:
        raise ValueError(f"cannot complete a body without {missing}")
    joints = dict(partial)
    derived: list[str] = []

    def derive(name: str, value: np.ndarray) -> None:
        if name not in joints:
            joints[name] = value
            derived.append(name)

    hips = (joints["left_hip"] + joints["right_hip"]) / 2
    shoulders = (joints["left_shoulder"] + joints["right_shoulder"]) / 2
    trunk = shoulders - hips
    trunk_len = np.linalg.norm(trunk, axis=-1, keepdims=True)
    up = _unit(trunk)
    height = trunk_len / 0.28  # hip centre to shoulder centre is ~0.28 of body height
    derive("pelvis", hips + 0.03 * height * up)
    derive("thorax", shoulders + 0.01 * height * up)
    derive("spine", joints["pelvis"] + 0.1 / 0.26 * (joints["thorax"] - joints["pelvis"]))
    face = [joints[n] for n in ("left_ear", "right_ear", "left_eye", "right_eye") if n in joints]
    head_centre = np.mean(face, axis=0) if face else joints["thorax"] + 0.12 * height * up
    derive("neck_top", joints["thorax"] + 0.07 * height * up)
    derive("head_top", head_centre + 0.07 * height * up)
    left_dir = _unit(joints["left_hip"] - joints["right_hip"])
    forward = _unit(np.cross(left_dir, _UP))  # horizontal facing direction
    derive("nose", head_centre + 0.06 * height * forward)
    for side, sign in (("left", 1.0), ("right", -1.0)):
        derive(
            f"{side}_eye", head_centre + 0.045 * height * forward + sign * 0.018 * height * left_dir
        )
        derive(f"{side}_ear", head_centre + sign * 0.045 * height * left_dir)
        if f"{side}_wrist" in joints and f"{side}_elbow" in joints:
            forearm = joints[f"{side}_wrist"] - joints[f"{side}_elbow"]
            derive(f"{side}_hand", joints[f"{side}_wrist"] + 0.41 * forearm)
        if f"{side}_ankle" in joints:
            ankle = joints[f"{side}_ankle"]
            derive(f"{side}_heel", ankle - 0.04 * height * _UP - 0.05 * height * forward)
            derive(f"{side}_toe", ankle - 0.04 * height * _UP + 0.11 * height * forward)
    absent = [name for name in BODY_JOINT_NAMES if name not in joints]
    if absent:
        raise ValueError(f"cannot complete a body: no source for {absent}")
    return np.stack([joints[name] for name in BODY_JOINT_NAMES], axis=1), derived


def estimate_height(joints: np.ndarray) -> float:
    """Standing height estimate (m) from body-28 joints ``(T, 28, 3)``: the median over
    frames of the vertical extent, the tallest frames standing."""
    extent = joints[..., 1].max(axis=1) - joints[..., 1].min(axis=1)
    return float(np.percentile(extent, 90))


def external_clip(
    joints: np.ndarray,
    derived: list[str],
    clip_id: str,
    fps: float,
    cameras: list,
    movement: str,
    source: str,
):
    """A :class:`~synthetic_data.clip.Clip` from motion recorded elsewhere (mocap, Unity).

    The floor is put at the lowest joint; the body is unknown apart from its height
    and which joints were derived rather than measured.
    """
    from synthetic_data.body import BodyParams, Flexibility
    from synthetic_data.clip import Clip

    joints = joints.copy()
    joints[..., 1] -= joints[..., 1].min()
    body = BodyParams(
        height=round(estimate_height(joints), 4),
        build="unknown",
        proportions={},
        flexibility=Flexibility(),
        body_id=clip_id,
        extra={"derived_joints": derived},
    )
    return Clip(
        clip_id=clip_id,
        fps=round(fps, 6),
        joints=joints,
        body=body,
        cameras=cameras,
        movement=movement,
        generator={"name": source, "version": "1", "seed": 0},
    )
