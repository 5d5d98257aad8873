"""Body-28 joints -> the phone's 2D detector layouts (COCO-17 and MediaPipe-33) in 3D.

COCO-17 joints are a subset of the body. MediaPipe's extra face, hand and foot
landmarks are placed from the body's own joints: eye corners beside the eyes, mouth
corners below the nose, finger landmarks around the hand joint, the foot index at the
toe. These are approximations good to a couple of centimetres, enough for the
detector simulation.
"""

from __future__ import annotations

import numpy as np

from pose3d.skeleton import MEDIAPIPE33
from synthetic_data.body import J
from synthetic_data.clip import BODY_TO_COCO17


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def body_to_coco17(joints: np.ndarray) -> np.ndarray:
    """``(T, 28, 3)`` -> ``(T, 17, 3)``."""
    return joints[:, BODY_TO_COCO17]


def body_to_mediapipe33(joints: np.ndarray) -> np.ndarray:
    """``(T, 28, 3)`` body joints -> ``(T, 33, 3)`` MediaPipe landmark positions."""
    out = np.zeros((joints.shape[0], 33, 3), dtype=joints.dtype)

    def put(name: str, value: np.ndarray) -> None:
        out[:, MEDIAPIPE33.index(name)] = value

    def body(name: str) -> np.ndarray:
        return joints[:, J[name]]

    head_size = np.linalg.norm(body("head_top") - body("neck_top"), axis=-1, keepdims=True)
    lateral = _unit(body("left_ear") - body("right_ear"))  # toward the person's left
    down = _unit(body("neck_top") - body("head_top"))
    for name in ("nose", "left_eye", "right_eye", "left_ear", "right_ear"):
        put(name, body(name))
    for side, sign in (("left", 1.0), ("right", -1.0)):
        eye = body(f"{side}_eye")
        put(f"{side}_eye_inner", eye - sign * 0.09 * head_size * lateral)
        put(f"{side}_eye_outer", eye + sign * 0.09 * head_size * lateral)
        put(
            f"mouth_{side}",
            body("nose") + 0.22 * head_size * down + sign * 0.12 * head_size * lateral,
        )
        for joint in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle", "heel"):
            put(f"{side}_{joint}", body(f"{side}_{joint}"))
        put(f"{side}_foot_index", body(f"{side}_toe"))
        wrist, hand = body(f"{side}_wrist"), body(f"{side}_hand")
        across = _unit(np.cross(hand - wrist, body(f"{side}_elbow") - wrist) + 1e-6 * lateral)
        put(f"{side}_index", hand + 0.25 * (hand - wrist) + 0.3 * head_size * 0.1 * across)
        put(f"{side}_pinky", hand + 0.1 * (hand - wrist) - 0.3 * head_size * across * 0.2)
        put(f"{side}_thumb", wrist + 0.6 * (hand - wrist) + 0.05 * head_size * across)
    return out


def body_to_layout(joints: np.ndarray, layout: str) -> np.ndarray:
    """Body joints in a 2D-detector layout (``"coco17"`` or ``"mediapipe33"``)."""
    if layout == "coco17":
        return body_to_coco17(joints)
    if layout == "mediapipe33":
        return body_to_mediapipe33(joints)
    raise ValueError(f"unknown detector layout {layout!r}; expected coco17 or mediapipe33")
