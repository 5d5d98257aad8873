"""Film a clip with a phone camera and a 2D detector shaped like MediaPipe Pose.

:func:`film` projects the 3D joints through the camera (with its lens distortion) and
adds what a real detector does:

* jitter, temporally correlated (AR(1)), per joint (hands and feet worst), growing with
  distance and with how fast the joint moves in the image;
* occasional left/right swaps of a limb, more often when the person is side-on;
* dropouts (the joint is missing: NaN, score 0) in short runs;
* low scores for joints hidden behind the body and for joints outside the image
  (their coordinates are still reported, extrapolated, as MediaPipe does).

``noise_level`` scales all of it: 0 gives the exact projection with perfect scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pose3d.camera import project, world_to_camera
from pose3d.skeleton import get_layout
from synthetic_data.body import J
from synthetic_data.clip import CameraSpec, Clip
from synthetic_data.landmarks import body_to_layout

# Jitter standard deviation (pixels at 1080 px image width, 2 m, noise level 1) by joint
# name suffix; face joints are the steadiest, hands and feet the least.
_JITTER_BY_PART = {
    "eye": 0.8, "ear": 1.0, "nose": 0.8, "mouth": 0.9, "shoulder": 1.4, "elbow": 2.0,
    "wrist": 2.6, "pinky": 3.2, "index": 3.2, "thumb": 3.2, "hip": 2.0, "knee": 2.0,
    "ankle": 2.4, "heel": 2.8, "foot_index": 3.0,
}  # fmt: skip
_LIMBS = {
    "arm": ("shoulder", "elbow", "wrist", "pinky", "index", "thumb"),
    "leg": ("hip", "knee", "ankle", "heel", "foot_index"),
}


@dataclass
class Observation:
    """What the phone's detector reports for one clip seen by one camera.

    Attributes:
        keypoints: ``(T, J, 2)`` float32 pixels, NaN where the detector gave nothing.
        scores: ``(T, J)`` float32 confidences in [0, 1].
        layout: ``"coco17"`` or ``"mediapipe33"``.
        camera: The camera that filmed it.
        fps: Frames per second.
        noise_level: Detector noise scale used.
    """

    keypoints: np.ndarray
    scores: np.ndarray
    layout: str
    camera: CameraSpec
    fps: float
    noise_level: float

    @property
    def image_size(self) -> tuple[int, int]:
        return self.camera.intrinsics.width, self.camera.intrinsics.height


def _jitter_sigma(names: tuple[str, ...]) -> np.ndarray:
    sigma = []
    for name in names:
        part = next((v for k, v in _JITTER_BY_PART.items() if name.endswith(k)), 1.5)
        sigma.append(part)
    return np.array(sigma)


def _ar1_noise(rng: np.random.Generator, shape: tuple[int, ...], rho: float) -> np.ndarray:
    """Unit-variance noise correlated over axis 0 with coefficient ``rho``."""
    white = rng.standard_normal(shape)
    out = np.empty(shape)
    out[0] = white[0]
    scale = np.sqrt(1 - rho**2)
    for t in range(1, shape[0]):
        out[t] = rho * out[t - 1] + scale * white[t]
    return out


def _runs(rng: np.random.Generator, frames: int, rate: float, min_len: int, max_len: int):
    """Random ``(start, end)`` runs starting with probability ``rate`` per frame."""
    starts = np.flatnonzero(rng.random(frames) < rate)
    return [(s, min(frames, s + int(rng.integers(min_len, max_len + 1)))) for s in starts]


def film(
    clip: Clip,
    camera: CameraSpec,
    rng: np.random.Generator,
    *,
    layout: str = "coco17",
    noise_level: float = 1.0,
) -> Observation:
    """Project ``clip`` through ``camera`` and simulate the 2D detector.

    Returns an :class:`Observation` in ``layout`` with ``(T, J, 2)`` pixels.
    """
    if noise_level < 0:
        raise ValueError(f"noise_level must be >= 0, got {noise_level}")
    lay = get_layout(layout)
    points_world = body_to_layout(clip.joints.astype(np.float64), layout)
    cam = world_to_camera(points_world, camera.rotation, camera.position)
    cam[..., 2] = np.maximum(cam[..., 2], 0.05)  # a joint behind the lens: clamp, flag below
    uv = project(cam, camera.intrinsics)
    frames, joints = uv.shape[:2]
    intr = camera.intrinsics
    scores = np.ones((frames, joints))
    if noise_level == 0:
        return Observation(
            uv.astype(np.float32), scores.astype(np.float32), layout, camera, clip.fps, 0.0
        )

    # Jitter: per joint, scaled by image size, distance and image speed.
    distance = np.linalg.norm(clip.joints[:, J["pelvis"]] - camera.position, axis=-1)
    speed = np.zeros((frames, joints))
    speed[1:] = np.linalg.norm(np.diff(uv, axis=0), axis=-1)
    sigma = (
        _jitter_sigma(lay.joint_names)[None]
        * (intr.width / 1080)
        * (1 + 0.15 * (distance[:, None] - 2))
        + 0.05 * speed
    ) * noise_level
    noisy = uv + _ar1_noise(rng, (frames, joints, 2), rho=0.7) * sigma[..., None]

    # Occlusion: behind the torso's depth and inside its image band.
    torso = [J[n] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]
    torso_cam = world_to_camera(
        clip.joints[:, torso].astype(np.float64), camera.rotation, camera.position
    )
    torso_depth = torso_cam[..., 2].mean(axis=1, keepdims=True)
    torso_uv = project(np.maximum(torso_cam, [-np.inf, -np.inf, 0.05]), intr)
    centre = torso_uv.mean(axis=1, keepdims=True)
    half_width = 0.6 * np.linalg.norm(torso_uv[:, 0] - torso_uv[:, 1], axis=-1)[:, None] + 1
    band = np.linalg.norm(uv - centre, axis=-1) < 1.5 * half_width
    occluded = (cam[..., 2] > torso_depth + 0.06 * clip.body.height / 1.75) & band
    outside = (
        (uv[..., 0] < 0)
        | (uv[..., 0] >= intr.width)
        | (uv[..., 1] < 0)
        | (uv[..., 1] >= intr.height)
    )
    visible_score = 0.98 - np.abs(rng.normal(0, 0.03 * noise_level, size=scores.shape))
    scores = np.clip(visible_score, 0.5, 1.0)
    scores[occluded] = rng.uniform(0.25, 0.6, size=occluded.sum())
    noisy[occluded] += rng.normal(0, 3.0, size=(occluded.sum(), 2)) * sigma[occluded][:, None]
    scores[outside] = rng.uniform(0.0, 0.25, size=outside.sum())

    # Left/right swaps of a limb, more likely when the person is side-on to the camera.
    forward = clip.joints[:, J["nose"]] - clip.joints[:, J["neck_top"]]
    view = camera.position - clip.joints[:, J["pelvis"]]
    side_on = 1 - np.abs(
        (forward[:, [0, 2]] * view[:, [0, 2]]).sum(-1)
        / (
            np.linalg.norm(forward[:, [0, 2]], axis=-1) * np.linalg.norm(view[:, [0, 2]], axis=-1)
            + 1e-9
        )
    )
    for parts in _LIMBS.values():
        pairs = [
            (lay.index(f"left_{p}"), lay.index(f"right_{p}"))
            for p in parts
            if f"left_{p}" in lay.joint_names
        ]
        rate = 0.002 * noise_level * (1 + 3 * float(side_on.mean()))
        for start, end in _runs(rng, frames, rate, 2, 8):
            for left, right in pairs:
                noisy[start:end, [left, right]] = noisy[start:end, [right, left]]

    # Dropouts in short runs.
    for joint in range(joints):
        for start, end in _runs(rng, frames, 0.003 * noise_level, 1, 5):
            noisy[start:end, joint] = np.nan
            scores[start:end, joint] = 0.0
    return Observation(
        noisy.astype(np.float32), scores.astype(np.float32), layout, camera, clip.fps, noise_level
    )
