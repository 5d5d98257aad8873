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

Two noise profiles (``film(..., profile=...)``):

* ``"phone-v1"`` (default): the model above, unchanged, draw for draw, since the bundled
  scoring models were fitted on it and tests pin its seeded outputs.
* ``"mediapipe-real"``: the failure modes measured on real MediaPipe video
  (:class:`DetectorNoise`, :data:`MEDIAPIPE_REAL`):

  - left/right swaps of the whole body, both arms or both legs for 20-50 frames at
    30 fps (0.7-1.7 s), starting almost never from the front and most from the side and
    behind (:func:`swap_view_weight`);
  - temporally correlated jitter about 3x larger on wrists and ankles (more on hands and
    feet) than on the shoulders and hips, scaled with image size and distance;
  - joints hidden behind the torso, head or thighs from the camera's viewpoint
    (:func:`self_occluded`) get low scores (0.1-0.55), extra drifting noise, and are
    sometimes dropped;
  - in a few % of clips, a 1-4 s stretch where the detector follows another person: a
    time-shifted, rescaled, moved (and half the time mirrored) copy of the motion.

  What happened is in :attr:`Observation.events`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pose3d.camera import project, world_to_camera
from pose3d.sequence_json import KeypointSequence
from pose3d.skeleton import Layout, get_layout
from synthetic_data.body import J
from synthetic_data.cameras import clip_camera_yaw_deg
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
        profile: Noise profile name (``"phone-v1"`` or ``"mediapipe-real"``).
        events: What the ``"mediapipe-real"`` profile did, for tests and evaluation
            (empty for ``"phone-v1"``):

            * ``"swaps"``: ``[(start, end, part), ...]`` frames ``[start, end)`` where
              left and right were exchanged; part ``"all"``, ``"arms"`` or ``"legs"``.
            * ``"identity_switches"``: ``[(start, end), ...]`` frames where the
              keypoints belong to another person (swaps listed there are moot).
            * ``"occluded"``: ``(T, J)`` bool, joints hidden behind the body (by true
              identity, before any swap).
            * ``"view_yaw_deg"``: ``(T,)`` camera yaw relative to the person's facing
              (0 front, +-180 behind; :func:`~synthetic_data.cameras.camera_yaw_deg`).
    """

    keypoints: np.ndarray
    scores: np.ndarray
    layout: str
    camera: CameraSpec
    fps: float
    noise_level: float
    profile: str = "phone-v1"
    events: dict[str, Any] = field(default_factory=dict)

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
    profile: str | DetectorNoise = "phone-v1",
) -> Observation:
    """Project ``clip`` through ``camera`` and simulate the 2D detector.

    Args:
        profile: ``"phone-v1"`` (default, the original model, bit for bit),
            ``"mediapipe-real"`` or a :class:`DetectorNoise` (e.g. ``MEDIAPIPE_REAL``
            with an option changed by :func:`dataclasses.replace`). The real profile
            costs far more than the original per frame: it casts occlusion rays through
            the body for every joint (:func:`self_occluded`).

    Returns an :class:`Observation` in ``layout`` with ``(T, J, 2)`` float32 pixels (NaN
    where missing) and ``(T, J)`` scores in [0, 1].
    """
    if noise_level < 0:
        raise ValueError(f"noise_level must be >= 0, got {noise_level}")
    noise = _resolve_profile(profile)
    if noise is not None:
        return _film_real(clip, camera, rng, layout=layout, noise_level=noise_level, noise=noise)
    lay = get_layout(layout)
    _, cam, uv = _project_layout(clip.joints.astype(np.float64), camera, layout)
    frames, joints = uv.shape[:2]
    intr = camera.intrinsics
    if noise_level == 0:
        scores = np.ones((frames, joints), dtype=np.float32)
        return Observation(uv.astype(np.float32), scores, layout, camera, clip.fps, 0.0)
    # The random draws below happen in a fixed order (jitter, scores, swaps, dropouts):
    # "phone-v1" outputs are pinned draw for draw.
    sigma = _phone_jitter_sigma(clip, camera, lay, uv, noise_level)
    noisy = uv + _ar1_noise(rng, (frames, joints, 2), rho=0.7) * sigma[..., None]
    occluded = _behind_torso(clip, camera, cam, uv)
    outside = _outside_image(uv, (intr.width, intr.height))
    scores = _phone_scores(rng, noisy, sigma, occluded, outside, noise_level)
    _phone_limb_swaps(rng, noisy, lay, _side_on(clip, camera), noise_level)
    _phone_dropouts(rng, noisy, scores, noise_level)
    return Observation(
        noisy.astype(np.float32), scores.astype(np.float32), layout, camera, clip.fps, noise_level
    )


def _project_layout(
    joints: np.ndarray, camera: CameraSpec, layout: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The body-28 ``joints`` ``(T, 28, 3)`` (world, metres, float64) in ``layout``, seen
    by ``camera``: ``(points_world (T, J, 3) m, cam (T, J, 3) m, uv (T, J, 2) px)``.

    ``cam`` is in camera coordinates with depth clamped to at least 0.05 m (a joint
    behind the lens is still projected; callers flag it as outside the image), and ``uv``
    is its projection through the camera's intrinsics, lens distortion included.
    """
    points_world = body_to_layout(joints, layout)
    cam = world_to_camera(points_world, camera.rotation, camera.position)
    cam[..., 2] = np.maximum(cam[..., 2], 0.05)  # a joint behind the lens: clamp, flag below
    return points_world, cam, project(cam, camera.intrinsics)


def _phone_jitter_sigma(
    clip: Clip, camera: CameraSpec, lay: Layout, uv: np.ndarray, noise_level: float
) -> np.ndarray:
    """``(T, J)`` jitter standard deviation (px) of the ``"phone-v1"`` model.

    Per joint (:data:`_JITTER_BY_PART`), times the image width over 1080 px and
    ``1 + 0.15 (distance - 2 m)`` (camera to pelvis), plus 0.05 x the joint's image
    speed (px/frame, from the exact pixels ``uv`` ``(T, J, 2)``), all times
    ``noise_level``.
    """
    frames, joints = uv.shape[:2]
    distance = np.linalg.norm(clip.joints[:, J["pelvis"]] - camera.position, axis=-1)
    speed = np.zeros((frames, joints))
    speed[1:] = np.linalg.norm(np.diff(uv, axis=0), axis=-1)
    return (
        _jitter_sigma(lay.joint_names)[None]
        * (camera.intrinsics.width / 1080)
        * (1 + 0.15 * (distance[:, None] - 2))
        + 0.05 * speed
    ) * noise_level


def _behind_torso(clip: Clip, camera: CameraSpec, cam: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """``(T, J)`` bool: joints the ``"phone-v1"`` model treats as hidden by the torso.

    ``cam`` ``(T, J, 3)`` camera coordinates (m) and ``uv`` ``(T, J, 2)`` pixels of the
    joints. A joint is hidden when it lies deeper than the torso's mean depth (shoulders
    and hips) by more than 6 cm (scaled with the person's height over 1.75 m) and, in
    the image, nearer the torso's centre than 1.5 x (0.6 x the shoulders' distance
    apart + 1 px).
    """
    intr = camera.intrinsics
    torso = [J[n] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]
    torso_cam = world_to_camera(
        clip.joints[:, torso].astype(np.float64), camera.rotation, camera.position
    )
    torso_depth = torso_cam[..., 2].mean(axis=1, keepdims=True)
    torso_uv = project(np.maximum(torso_cam, [-np.inf, -np.inf, 0.05]), intr)
    centre = torso_uv.mean(axis=1, keepdims=True)
    half_width = 0.6 * np.linalg.norm(torso_uv[:, 0] - torso_uv[:, 1], axis=-1)[:, None] + 1
    band = np.linalg.norm(uv - centre, axis=-1) < 1.5 * half_width
    return (cam[..., 2] > torso_depth + 0.06 * clip.body.height / 1.75) & band


def _phone_scores(
    rng: np.random.Generator,
    noisy: np.ndarray,
    sigma: np.ndarray,
    occluded: np.ndarray,
    outside: np.ndarray,
    noise_level: float,
) -> np.ndarray:
    """``(T, J)`` float64 scores of the ``"phone-v1"`` model; adds the occluded joints'
    extra noise (3 x their ``sigma`` ``(T, J)`` px) to ``noisy`` ``(T, J, 2)`` in place.

    Visible joints score 0.98 minus a half-normal spread (at least 0.5), ``occluded``
    ``(T, J)`` ones 0.25-0.6, and ones ``outside`` ``(T, J)`` the image 0-0.25.
    """
    visible_score = 0.98 - np.abs(rng.normal(0, 0.03 * noise_level, size=occluded.shape))
    scores = np.clip(visible_score, 0.5, 1.0)
    scores[occluded] = rng.uniform(0.25, 0.6, size=occluded.sum())
    noisy[occluded] += rng.normal(0, 3.0, size=(occluded.sum(), 2)) * sigma[occluded][:, None]
    scores[outside] = rng.uniform(0.0, 0.25, size=outside.sum())
    return scores


def _side_on(clip: Clip, camera: CameraSpec) -> np.ndarray:
    """``(T,)`` how side-on the person is to ``camera``: 0 facing it or facing away, 1
    seen from the side (one minus the |cosine| of the horizontal angle between the
    face's direction, neck top to nose, and the pelvis-to-camera direction)."""
    forward = clip.joints[:, J["nose"]] - clip.joints[:, J["neck_top"]]
    view = camera.position - clip.joints[:, J["pelvis"]]
    return 1 - np.abs(
        (forward[:, [0, 2]] * view[:, [0, 2]]).sum(-1)
        / (
            np.linalg.norm(forward[:, [0, 2]], axis=-1) * np.linalg.norm(view[:, [0, 2]], axis=-1)
            + 1e-9
        )
    )


def _phone_limb_swaps(
    rng: np.random.Generator,
    noisy: np.ndarray,
    lay: Layout,
    side_on: np.ndarray,
    noise_level: float,
) -> None:
    """Swap left and right arms, then legs, of ``noisy`` ``(T, J, 2)`` px in place, in
    runs of 2-8 frames starting at 0.002 per frame x ``noise_level``, up to 4x as often
    when the person is side-on (mean of ``side_on`` ``(T,)``)."""
    frames = len(noisy)
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


def _phone_dropouts(
    rng: np.random.Generator, noisy: np.ndarray, scores: np.ndarray, noise_level: float
) -> None:
    """Drop joints in runs of 1-5 frames starting at 0.003 per frame x ``noise_level``,
    joint by joint: NaN in ``noisy`` ``(T, J, 2)`` and score 0 in ``scores`` ``(T, J)``,
    in place."""
    frames, joints = scores.shape
    for joint in range(joints):
        for start, end in _runs(rng, frames, 0.003 * noise_level, 1, 5):
            noisy[start:end, joint] = np.nan
            scores[start:end, joint] = 0.0


# --- The "mediapipe-real" profile ------------------------------------------------------

# Jitter standard deviation (pixels on a 1080x1920 image, 2 m, noise level 1) by body
# part, in match order (``foot_index`` before ``index``). Shaped like real MediaPipe's
# errors: steady on the trunk and face, several times worse on wrists and ankles, and
# worse still on fingers and toes (the ratio it was tuned to: docs/design-notes.md).
_REAL_JITTER_BY_PART = (
    ("foot_index", 4.4), ("heel", 3.8), ("ankle", 3.4), ("knee", 2.2), ("hip", 1.4),
    ("pinky", 5.0), ("index", 5.0), ("thumb", 5.0), ("wrist", 4.0), ("elbow", 2.4),
    ("shoulder", 1.2), ("mouth", 0.9), ("ear", 1.0), ("eye", 0.8), ("nose", 0.8),
)  # fmt: skip
_REFERENCE_DIAGONAL_PX = float(np.hypot(1080, 1920))
_SWAP_PARTS = ("all", "arms", "legs")


@dataclass(frozen=True)
class DetectorNoise:
    """Settings of the ``"mediapipe-real"`` detector model (:data:`MEDIAPIPE_REAL`).

    Rates are per frame at 30 fps and noise level 1; :func:`film` rescales them to the
    clip's fps (same rate per second) and multiplies them by ``noise_level``. Frame counts
    are at 30 fps and scale with fps (same duration).

    Attributes:
        swap_rate: Probability per frame that a left/right swap starts, from a side or
            back view (weight 1 in :func:`swap_view_weight`).
        swap_frames: ``(min, max)`` length of a swap.
        swap_part_shares: Shares of swaps that exchange ``"all"`` pairs, the
            ``"arms"`` or the ``"legs"``.
        jitter_scale: Multiplies the per-part jitter table.
        jitter_rho: AR(1) frame-to-frame correlation of the jitter at 30 fps (the
            detector's own temporal filter makes errors drift rather than flicker).
        speed_jitter: Extra jitter per pixel/frame of image speed (motion blur).
        visible_score: Mean score of a visible joint (minus a half-normal spread).
        occluded_score: ``(low, high)`` uniform score of a self-occluded joint.
        occluded_noise: Extra drifting noise on occluded joints, in units of its jitter.
        occluded_drop_rate: Per-frame rate of runs in which an occluded joint is dropped.
        occluded_drop_frames: ``(min, max)`` length of those runs.
        dropout_rate: Per-frame, per-joint rate of short dropouts of any joint.
        dropout_frames: ``(min, max)`` length of those.
        identity_switch_probability: Chance per clip of following another person.
        identity_switch_frames: ``(min, max)`` length of that stretch.
    """

    swap_rate: float = 0.006
    swap_frames: tuple[int, int] = (20, 50)
    swap_part_shares: tuple[float, float, float] = (0.5, 0.25, 0.25)
    jitter_scale: float = 1.0
    jitter_rho: float = 0.85
    speed_jitter: float = 0.05
    visible_score: float = 0.97
    occluded_score: tuple[float, float] = (0.1, 0.55)
    occluded_noise: float = 2.5
    occluded_drop_rate: float = 0.015
    occluded_drop_frames: tuple[int, int] = (5, 20)
    dropout_rate: float = 0.002
    dropout_frames: tuple[int, int] = (1, 5)
    identity_switch_probability: float = 0.03
    identity_switch_frames: tuple[int, int] = (30, 120)


MEDIAPIPE_REAL = DetectorNoise()
PROFILES: dict[str, DetectorNoise | None] = {"phone-v1": None, "mediapipe-real": MEDIAPIPE_REAL}


def _resolve_profile(profile: str | DetectorNoise) -> DetectorNoise | None:
    """The profile's settings; ``None`` for the original ``"phone-v1"`` model."""
    if isinstance(profile, DetectorNoise):
        return profile
    if profile not in PROFILES:
        raise ValueError(f"unknown detector profile {profile!r}; expected one of {list(PROFILES)}")
    return PROFILES[profile]


def _real_jitter_sigma(names: tuple[str, ...]) -> np.ndarray:
    """``(J,)`` jitter (px at the reference image and distance) of each joint name."""
    return np.array(
        [next((v for part, v in _REAL_JITTER_BY_PART if part in name), 1.5) for name in names]
    )


def swap_view_weight(yaw_deg: np.ndarray) -> np.ndarray:
    """Relative left/right swap rate for a camera at ``yaw_deg`` from the person's facing.

    0.02 from straight in front (the face makes left and right plain), rising smoothly
    from 30 deg to 1 at 90 deg and staying 1 round the back, where MediaPipe, trained
    mostly on people facing the camera, takes the back for a front. Shape as ``yaw_deg``.
    """
    x = np.clip((np.abs(np.asarray(yaw_deg, dtype=np.float64)) - 30.0) / 60.0, 0.0, 1.0)
    return 0.02 + 0.98 * x * x * (3 - 2 * x)


def _frames(bounds: tuple[int, int], fps: float) -> tuple[int, int]:
    """``(min, max)`` frame counts given at 30 fps, rescaled to ``fps`` (same duration)."""
    return max(1, round(bounds[0] * fps / 30)), max(1, round(bounds[1] * fps / 30))


def _segment_distance_sq(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared distance (m^2) from ``points (T, N, 3)`` to segments ``a``-``b`` ``(T, 3)``."""
    ab = b - a
    rel = points - a[:, None]
    # Batched matmuls rather than (x * y).sum(-1): reductions over an axis of 3 are slow.
    t = (rel @ ab[:, :, None])[..., 0] / np.maximum((ab * ab).sum(-1), 1e-12)[:, None]
    off = rel - np.clip(t, 0, 1)[..., None] * ab[:, None]
    return np.einsum("tnk,tnk->tn", off, off)


def _inside_body(
    points: np.ndarray,
    joints: np.ndarray,
    height: float,
    skip_thigh: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Whether ``points (T, N, 3)`` lie inside the opaque body of ``joints (T, 28, 3)``.

    The body, in metres for a person ``height`` tall: an elliptic cylinder for the torso
    (from just below the hips to just above the shoulders; 0.85x the joints' half-widths
    wide, so that the shoulder and hip joints themselves lie just outside it, and 0.11 x
    height deep), a sphere of radius 0.05 x height about the ears' midpoint for the head,
    and capsules of radius 0.035 x height for the thighs; ``skip_thigh["left"]`` ``(N,)``
    bool marks points the left thigh does not hide (likewise right). Returns ``(T, N)``.
    """
    lh, rh = joints[:, J["left_hip"]], joints[:, J["right_hip"]]
    ls, rs = joints[:, J["left_shoulder"]], joints[:, J["right_shoulder"]]
    base, top = (lh + rh) / 2, (ls + rs) / 2
    axis = top - base
    length = np.maximum(np.linalg.norm(axis, axis=-1), 1e-6)
    axis = axis / length[:, None]
    lateral = (ls - rs) + (lh - rh)
    lateral -= (lateral * axis).sum(-1, keepdims=True) * axis
    lateral /= np.maximum(np.linalg.norm(lateral, axis=-1, keepdims=True), 1e-9)
    basis = np.stack([lateral, axis, np.cross(lateral, axis)], axis=-1)  # (T, 3, 3) columns
    x, y, z = np.moveaxis((points - base[:, None]) @ basis, -1, 0)  # torso coordinates
    up_share = np.clip(y / length[:, None], 0.0, 1.0)
    half_hip = np.linalg.norm(lh - rh, axis=-1)[:, None] / 2
    half_shoulder = np.linalg.norm(ls - rs, axis=-1)[:, None] / 2
    half_width = 0.85 * (half_hip + (half_shoulder - half_hip) * up_share)
    half_depth = 0.055 * height
    margin = 0.03 * height
    torso = (
        (y > -margin)
        & (y < length[:, None] + margin)
        & ((x / half_width) ** 2 + (z / half_depth) ** 2 < 1)
    )
    head_centre = (joints[:, J["left_ear"]] + joints[:, J["right_ear"]]) / 2
    head_offset = points - head_centre[:, None]
    head = np.einsum("tnk,tnk->tn", head_offset, head_offset) < (0.05 * height) ** 2
    inside = torso | head
    for side in ("left", "right"):
        hip, knee = joints[:, J[f"{side}_hip"]], joints[:, J[f"{side}_knee"]]
        thigh = _segment_distance_sq(points, hip, knee) < (0.035 * height) ** 2
        if skip_thigh is not None:
            thigh &= ~skip_thigh[side]
        inside |= thigh
    return inside


def self_occluded(
    joints: np.ndarray,
    points: np.ndarray,
    camera_position: np.ndarray,
    height: float,
    *,
    hips: tuple[int, int] | None = None,
    chunk: int = 128,
) -> np.ndarray:
    """Which ``points (T, J, 3)`` are hidden behind the body from ``camera_position``.

    A point is hidden when the ray from it to the camera passes through the body
    (:func:`_inside_body` of ``joints (T, 28, 3)``, person ``height`` metres tall) more
    than 0.045 x height from the point itself (a joint lies inside its own flesh), sampled
    every 2.5 cm up to 1 m. ``hips``: indices of the left and right hip among ``points``;
    a hip is not hidden by its own thigh (it sits at the thigh's root; otherwise every
    deep squat seen from the front would hide both hips). Returns ``(T, J)`` bool.
    """
    points = np.asarray(points, dtype=np.float64)
    joints = np.asarray(joints, dtype=np.float64)
    to_camera = np.asarray(camera_position, dtype=np.float64) - points
    reach = np.linalg.norm(to_camera, axis=-1, keepdims=True)
    direction = to_camera / np.maximum(reach, 1e-9)
    steps = np.arange(0.045 * height, 1.0, 0.025)  # metres from the point toward the lens
    frames, num_points = points.shape[:2]
    hidden = np.zeros((frames, num_points), dtype=bool)
    skip = None
    if hips is not None:
        skip = {side: np.zeros((num_points, len(steps)), dtype=bool) for side in ("left", "right")}
        skip["left"][hips[0]], skip["right"][hips[1]] = True, True
        skip = {side: mask.reshape(-1) for side, mask in skip.items()}
    for start in range(0, frames, chunk):
        window = slice(start, start + chunk)
        along = np.minimum(steps[None, None, :], reach[window] - 0.05)  # stop before the lens
        samples = points[window, :, None] + direction[window, :, None] * along[..., None]
        flat = samples.reshape(len(samples), -1, 3)
        inside = _inside_body(flat, joints[window], height, skip)
        hidden[window] = inside.reshape(len(samples), num_points, len(steps)).any(axis=-1)
    return hidden


def _swap_pairs(lay: Layout, part: str) -> list[tuple[int, int]]:
    """``(left, right)`` index pairs of ``lay`` exchanged by a swap of ``part``."""
    if part == "all":
        return list(zip(lay.left, lay.right, strict=True))
    limbs = _LIMBS["arm" if part == "arms" else "leg"]
    return [
        (lay.index(f"left_{p}"), lay.index(f"right_{p}"))
        for p in limbs
        if f"left_{p}" in lay.joint_names
    ]


def _swap_stretches(
    rng: np.random.Generator,
    rate: np.ndarray,
    length: tuple[int, int],
    shares: tuple[float, float, float],
) -> list[tuple[int, int, str]]:
    """Non-overlapping swaps ``(start, end, part)``: one may start at frame t with
    probability ``rate[t]`` ``(T,)`` when none is under way (a swap persists until the
    tracker re-locks; it does not flicker), lasting ``length`` ``(min, max)`` frames, of
    the parts in :data:`_SWAP_PARTS` with ``shares``."""
    frames = len(rate)
    draws = rng.random(frames)
    stretches, t = [], 0
    while t < frames:
        if draws[t] < rate[t]:
            end = min(frames, t + int(rng.integers(length[0], length[1] + 1)))
            part = _SWAP_PARTS[int(rng.choice(len(_SWAP_PARTS), p=np.asarray(shares)))]
            stretches.append((t, end, part))
            t = end
        else:
            t += 1
    return stretches


def _impostor(
    rng: np.random.Generator, uv: np.ndarray, lay: Layout, image_size: tuple[int, int]
) -> np.ndarray:
    """Exact 2D keypoints ``(T, J, 2)`` of "another person" doing a copy of the motion.

    Time-shifted by a quarter to three quarters of the clip, rescaled 0.75-1.15x about
    the feet (nearer or farther away), moved sideways by 0.35-0.8 body heights toward the
    side of the image with more room, a little up or down, and half the time mirrored
    (left/right relabelled, so it is still a plausible person).
    """
    frames = len(uv)
    other = np.roll(uv, int(rng.integers(frames // 4, max(frames // 4 + 1, 3 * frames // 4))), 0)
    body_height = float(np.median(np.ptp(uv[..., 1], axis=1)))
    centre_x = float(np.median(uv[..., 0]))
    feet = np.array([centre_x, float(np.median(uv[..., 1].max(axis=1)))])
    if rng.random() < 0.5:
        other = other[:, lay.flip_permutation].copy()
        other[..., 0] = 2 * centre_x - other[..., 0]
    other = feet + (other - feet) * rng.uniform(0.75, 1.15)
    side = 1.0 if centre_x < image_size[0] / 2 else -1.0
    shift = np.array([side * rng.uniform(0.35, 0.8), rng.uniform(-0.1, 0.1)]) * body_height
    return other + shift


def _outside_image(uv: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    """``(T, J)`` bool: pixel points ``(T, J, 2)`` outside a ``(width, height)`` image."""
    width, height = image_size
    return (uv[..., 0] < 0) | (uv[..., 0] >= width) | (uv[..., 1] < 0) | (uv[..., 1] >= height)


def _real_jitter(
    rng: np.random.Generator,
    uv: np.ndarray,
    names: tuple[str, ...],
    distance: np.ndarray,
    image_size: tuple[int, int],
    noise: DetectorNoise,
    noise_level: float,
    rho: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Drifting detector error: ``(jitter (T, J, 2) px, sigma (T, J) px)``.

    ``uv`` ``(T, J, 2)`` exact pixels; ``distance`` ``(T,)`` camera to pelvis, metres.
    Sigma per body part, times the image diagonal over 1080x1920's and
    ``1 + 0.15 (distance - 2 m)`` (a person farther away is fewer pixels for the network),
    plus ``speed_jitter`` x image speed (motion blur).
    """
    speed = np.zeros(uv.shape[:2])
    speed[1:] = np.linalg.norm(np.diff(uv, axis=0), axis=-1)
    sigma = (
        noise.jitter_scale
        * _real_jitter_sigma(names)[None]
        * (np.hypot(*image_size) / _REFERENCE_DIAGONAL_PX)
        * np.maximum(0.5, 1 + 0.15 * (distance[:, None] - 2))
        + noise.speed_jitter * speed
    ) * noise_level
    return _ar1_noise(rng, (*uv.shape[:2], 2), rho=rho) * sigma[..., None], sigma


def _apply_swaps(
    noisy: np.ndarray, scores: np.ndarray, lay: Layout, swaps: list[tuple[int, int, str]]
) -> None:
    """Exchange left and right keypoints ``(T, J, 2)`` and scores ``(T, J)`` in place."""
    for start, end, part in swaps:
        for left, right in _swap_pairs(lay, part):
            noisy[start:end, [left, right]] = noisy[start:end, [right, left]]
            scores[start:end, [left, right]] = scores[start:end, [right, left]]


def _real_dropouts(
    rng: np.random.Generator,
    occluded: np.ndarray,
    noise: DetectorNoise,
    noise_level: float,
    fps: float,
) -> np.ndarray:
    """``(T, J)`` bool: occluded joints lost in longer runs, any joint in short ones."""
    frames, num_joints = occluded.shape
    per_frame = noise_level * 30.0 / fps
    hidden_length = _frames(noise.occluded_drop_frames, fps)
    short_length = _frames(noise.dropout_frames, fps)
    dropped = np.zeros((frames, num_joints), dtype=bool)
    for joint in range(num_joints):
        for start, end in _runs(rng, frames, noise.occluded_drop_rate * per_frame, *hidden_length):
            dropped[start:end, joint] |= occluded[start:end, joint]
        for start, end in _runs(rng, frames, noise.dropout_rate * per_frame, *short_length):
            dropped[start:end, joint] = True
    return dropped


def _identity_switch(
    rng: np.random.Generator,
    uv: np.ndarray,
    lay: Layout,
    image_size: tuple[int, int],
    noise: DetectorNoise,
    fps: float,
) -> tuple[slice, np.ndarray, np.ndarray]:
    """Frames where the tracker follows another person, that person's exact pixels
    ``(L, J, 2)`` there, and which of them fall outside the image ``(L, J)``."""
    frames = len(uv)
    low, high = _frames(noise.identity_switch_frames, fps)
    length = min(frames, int(rng.integers(low, high + 1)))
    start = int(rng.integers(0, frames - length + 1))
    window = slice(start, start + length)
    other = _impostor(rng, uv, lay, image_size)[window]
    return window, other, _outside_image(other, image_size)


def _film_real(
    clip: Clip,
    camera: CameraSpec,
    rng: np.random.Generator,
    *,
    layout: str,
    noise_level: float,
    noise: DetectorNoise,
) -> Observation:
    """:func:`film` with the ``"mediapipe-real"`` model ``noise`` (see the module doc)."""
    lay = get_layout(layout)
    joints = clip.joints.astype(np.float64)
    points_world, _, uv = _project_layout(joints, camera, layout)
    frames, num_joints = uv.shape[:2]
    size = (camera.intrinsics.width, camera.intrinsics.height)
    fps = float(clip.fps)
    yaw = np.asarray(clip_camera_yaw_deg(clip, camera), dtype=np.float64).reshape(frames)
    hips = (lay.index("left_hip"), lay.index("right_hip"))
    occluded = self_occluded(joints, points_world, camera.position, clip.body.height, hips=hips)
    events: dict[str, Any] = {
        "swaps": [],
        "identity_switches": [],
        "occluded": occluded,
        "view_yaw_deg": yaw,
    }
    if noise_level == 0:
        scores = np.ones((frames, num_joints), dtype=np.float32)
        return Observation(
            uv.astype(np.float32), scores, layout, camera, clip.fps, 0.0, "mediapipe-real", events
        )
    rho = noise.jitter_rho ** (30.0 / fps)  # the same correlation time at any fps
    distance = np.linalg.norm(joints[:, J["pelvis"]] - camera.position, axis=-1)
    jitter, sigma = _real_jitter(rng, uv, lay.joint_names, distance, size, noise, noise_level, rho)
    noisy = uv + jitter

    # Scores; occluded joints: low scores and extra drift (the detector guesses them).
    spread = np.abs(rng.normal(0, 0.03 * noise_level, size=(frames, num_joints)))
    visible_scores = np.clip(noise.visible_score - spread, 0.5, 1.0)
    scores = visible_scores.copy()
    scores[occluded] = rng.uniform(*noise.occluded_score, size=int(occluded.sum()))
    drift = _ar1_noise(rng, (frames, num_joints, 2), rho=rho) * sigma[..., None]
    noisy += drift * (noise.occluded_noise * occluded)[..., None]
    outside = _outside_image(uv, size)
    scores[outside] = rng.uniform(0.0, 0.25, size=int(outside.sum()))

    # Left/right swaps, far more often from the side and behind.
    rate = noise.swap_rate * noise_level * (30.0 / fps) * swap_view_weight(yaw)
    swaps = _swap_stretches(rng, rate, _frames(noise.swap_frames, fps), noise.swap_part_shares)
    _apply_swaps(noisy, scores, lay, swaps)
    events["swaps"] = swaps
    dropped = _real_dropouts(rng, occluded, noise, noise_level, fps)

    # Rarely, the tracker follows someone else for a while: in plain view, confidently.
    if rng.random() < min(1.0, noise.identity_switch_probability * noise_level):
        window, other, other_outside = _identity_switch(rng, uv, lay, size, noise, fps)
        noisy[window] = other + jitter[window]
        other_scores = visible_scores[window].copy()
        other_scores[other_outside] = rng.uniform(0.0, 0.25, size=int(other_outside.sum()))
        scores[window] = other_scores
        dropped[window] = False
        events["identity_switches"] = [(window.start, window.stop)]

    noisy[dropped] = np.nan
    scores[dropped] = 0.0
    return Observation(
        noisy.astype(np.float32),
        scores.astype(np.float32),
        layout,
        camera,
        clip.fps,
        noise_level,
        "mediapipe-real",
        events,
    )


def phone_json(clip: Clip, seed: int = 0) -> dict:
    """The clip as the phone app sends it: MediaPipe-33 keypoint-sequence JSON (see
    ``pose3d.sequence_json``) filmed by the clip's first camera with detector noise seeded
    by ``seed``."""
    seen = film(clip, clip.cameras[0], np.random.default_rng(seed), layout="mediapipe33")
    return KeypointSequence(
        "mediapipe33", clip.fps, *seen.image_size, seen.keypoints, seen.scores
    ).to_json()
