"""Hand-built H36M-17 poses with known joint angles, the phone's view of legs of a known
knee bend (:func:`legs_filmed`), and the bundled detector read once.

Poses are in camera space (x right, y down, z forward, metres), the person facing the
camera (their left side at +x). :func:`body` builds one pose from joint angles named as
``scoring.features.FEATURE_NAMES``; every angle left out is 0 (standing straight, arms
hanging). Only one angle is exact at a time where they share a bone: ``spine_flexion``
tilts the trunk's axis that hip flexion and arm elevation are measured from, and a
``knee_valgus`` bends the leg, so it needs the hip and knee of that side left at 0.
"""

from __future__ import annotations

import numpy as np

from pose3d.skeleton import H36M17, MEDIAPIPE33
from scoring.features import FEATURE_NAMES

THIGH, SHIN, UPPER_ARM, FOREARM = 0.45, 0.42, 0.30, 0.26
DOWN, FORWARD = np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, -1.0])  # towards the camera


def _rad(degrees: float) -> float:
    return float(np.radians(degrees))


def body(**angles: float) -> np.ndarray:
    """One ``(17, 3)`` pose with the given joint angles (degrees)."""
    assert set(angles) <= set(FEATURE_NAMES), set(angles) - set(FEATURE_NAMES)
    joints: dict[str, np.ndarray] = {"pelvis": np.zeros(3)}
    spine = _rad(angles.get("spine_flexion", 0.0))
    joints["spine"] = -0.2 * DOWN
    joints["thorax"] = joints["spine"] + 0.25 * (-np.cos(spine) * DOWN + np.sin(spine) * FORWARD)
    up = joints["thorax"] - joints["spine"]
    up /= np.linalg.norm(up)
    joints["neck_nose"] = joints["thorax"] + 0.1 * up
    joints["head"] = joints["neck_nose"] + 0.1 * up
    for side, outward in (("left", 1.0), ("right", -1.0)):
        lateral = np.array([outward, 0.0, 0.0])
        hip = joints[f"{side}_hip"] = 0.1 * lateral
        flexion = _rad(angles.get(f"hip_flexion_{side}", 0.0))
        knee_bend = _rad(angles.get(f"knee_flexion_{side}", 0.0))
        valgus = _rad(angles.get(f"knee_valgus_{side}", 0.0))
        if valgus:
            assert not (flexion or knee_bend), "valgus is built on a straight, vertical leg"
            # The knee leaves the hip-ankle line towards the midline; the ankle stays below.
            knee = hip + THIGH * (np.cos(valgus) * DOWN - np.sin(valgus) * lateral)
            ankle = hip + 2 * THIGH * np.cos(valgus) * DOWN
        else:
            thigh = np.cos(flexion) * DOWN + np.sin(flexion) * FORWARD
            knee = hip + THIGH * thigh
            # The shin folds backwards from the thigh's line.
            back = np.cos(flexion) * -FORWARD + np.sin(flexion) * DOWN
            ankle = knee + SHIN * (np.cos(knee_bend) * thigh + np.sin(knee_bend) * back)
        joints[f"{side}_knee"], joints[f"{side}_ankle"] = knee, ankle
        shoulder = joints[f"{side}_shoulder"] = joints["thorax"] + 0.18 * lateral
        elevation = _rad(angles.get(f"arm_elevation_{side}", 0.0))
        upper = np.cos(elevation) * DOWN + np.sin(elevation) * lateral  # raised sideways
        elbow = joints[f"{side}_elbow"] = shoulder + UPPER_ARM * upper
        bend = _rad(angles.get(f"elbow_flexion_{side}", 0.0))
        joints[f"{side}_wrist"] = elbow + FOREARM * (np.cos(bend) * upper + np.sin(bend) * FORWARD)
    return np.stack([joints[name] for name in H36M17.joint_names])


def motion(fps: float = 30.0, **tracks: np.ndarray) -> np.ndarray:
    """``(T, 17, 3)`` poses from per-frame angle tracks of equal length ``T``."""
    lengths = {len(track) for track in tracks.values()}
    assert len(lengths) == 1, lengths
    frames = lengths.pop()
    return np.stack([body(**{k: float(v[t]) for k, v in tracks.items()}) for t in range(frames)])


def squat_track(reps: int, fps: float = 30.0, rep_s: float = 1.5, rest_s: float = 0.5):
    """A knee angle going 0 -> 90 -> 0 deg (raised cosine) ``reps`` times, with rests
    before, between and after: ``(track, [(start, end) of each bump])``."""
    rest, rep = round(rest_s * fps), round(rep_s * fps)
    bump = 45.0 * (1 - np.cos(2 * np.pi * np.arange(rep) / rep))
    track, bumps = [np.zeros(rest)], []
    for _ in range(reps):
        start = sum(len(part) for part in track)
        track += [bump, np.zeros(rest)]
        bumps.append((start, start + rep))
    return np.concatenate(track), bumps


def legs_filmed(
    flexion_deg: np.ndarray, yaw_deg: float, shin_share: float = 0.35
) -> tuple[np.ndarray, np.ndarray]:
    """MediaPipe-33 pixels ``(T, 33, 2)`` and scores of a squat whose knees bend
    ``flexion_deg`` ``(T,)`` (the shank tilted forward by ``shin_share`` of it, the thigh
    the rest), its legs in vertical planes turned ``yaw_deg`` from the camera's axis,
    filmed by a level camera (orthographic, 400 px a metre, y down)."""
    frames = len(flexion_deg)
    shank_tilt = np.radians(flexion_deg) * shin_share
    thigh_tilt = np.radians(flexion_deg) - shank_tilt
    yaw = np.radians(yaw_deg)
    keypoints = np.full((frames, 33, 2), np.nan)
    for side, x0 in (("left", 0.15), ("right", -0.15)):
        ankle = np.stack([np.full(frames, x0), np.zeros(frames), np.zeros(frames)], axis=1)
        forward = np.stack([np.sin(yaw), 0.0, np.cos(yaw)])  # the leg's plane, seen turned
        knee = ankle + SHIN * (
            np.cos(shank_tilt)[:, None] * [0, 1, 0] + np.sin(shank_tilt)[:, None] * forward
        )
        hip = knee + THIGH * (
            np.cos(thigh_tilt)[:, None] * [0, 1, 0] - np.sin(thigh_tilt)[:, None] * forward
        )
        for joint, point in (("ankle", ankle), ("knee", knee), ("hip", hip)):
            pixels = np.stack([500 + 400 * point[:, 0], 900 - 400 * point[:, 1]], axis=1)
            keypoints[:, MEDIAPIPE33.index(f"{side}_{joint}")] = pixels
    scores = np.where(np.isfinite(keypoints[..., 0]), 0.9, 0.0)
    return keypoints, scores
