"""Phone cameras the way people set them up to film a workout.

Two coverages:

* ``"front"`` (the default, what the bundled models were fitted on): on the floor
  leaning on something (5-25 cm high), on a table (70-100 cm) or on a tripod
  (110-160 cm); 2-5 m from the person, up to 60 degrees to either side of their facing
  direction.
* ``"anywhere"``: 360 degrees around the person (yaw uniform relative to their facing),
  0.05-1.9 m high (floor to head height), 1.5-6 m away.

Either way the camera is aimed at the body with a little error (pitched by
:func:`~pose3d.camera.look_at`), portrait or landscape, with a main (24-28 mm
equivalent) or ultra-wide lens and mild lens distortion. :func:`frame_subject` re-draws
until the person is in frame, and with ``allow_partial`` sometimes tilts the camera so
that their feet or head leave the image, as happens with a phone propped too close.

Yaw convention (:func:`camera_yaw_deg`): degrees from the person's facing direction to
the camera about the vertical, in [-180, 180): 0 in front, +-180 behind, +90 on the
person's left (world +x when they face +z).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from pose3d.camera import Intrinsics, look_at, project, world_to_camera
from synthetic_data.body import J
from synthetic_data.clip import CameraSpec

if TYPE_CHECKING:
    from synthetic_data.clip import Clip

PLACEMENTS = {"floor": (0.05, 0.25), "table": (0.7, 1.0), "tripod": (1.1, 1.6)}
IMAGE_SIZES = ((1080, 1920), (720, 1280), (1440, 2560))
SENSOR_DIAGONAL_MM = 43.27  # 35 mm film diagonal, the basis of "equivalent" focal lengths

Coverage = Literal["front", "anywhere"]
COVERAGES = ("front", "anywhere")
FRONT_YAW_RANGE_DEG = 60.0
ANYWHERE_HEIGHT_M = (0.05, 1.9)
ANYWHERE_DISTANCE_M = (1.5, 6.0)
# Placement names for "anywhere" heights (upper bounds, metres); "shelf" is above a tripod.
_ANYWHERE_PLACEMENTS = (("floor", 0.4), ("table", 1.05), ("tripod", 1.6), ("shelf", np.inf))
# View bins for evaluation, by |yaw| in degrees: front [0, 45), side [45, 135), back [135, 180].
VIEW_BINS = (("front", 45.0), ("side", 135.0), ("back", 180.0 + 1e-9))
# Partial framing: share of the points pushed out of the image at the top or bottom.
_PARTIAL_SHARE = (0.08, 0.25)
_PARTIAL_FEET_SHARE = 0.6  # propped-up phones cut the feet more often than the head
_MAX_TILT_DEG = 60.0


def sample_intrinsics(rng: np.random.Generator) -> Intrinsics:
    """A phone camera: image size, orientation, focal length, principal point, distortion."""
    short, long = IMAGE_SIZES[rng.integers(len(IMAGE_SIZES))]
    width, height = (short, long) if rng.random() < 0.6 else (long, short)
    equivalent_mm = rng.uniform(24, 28) if rng.random() < 0.85 else rng.uniform(13, 16)
    focal = equivalent_mm / SENSOR_DIAGONAL_MM * np.hypot(width, height)
    return Intrinsics(
        fx=round(float(focal), 3),
        fy=round(float(focal * rng.normal(1.0, 0.002)), 3),
        cx=round(float(width / 2 * rng.normal(1.0, 0.01)), 3),
        cy=round(float(height / 2 * rng.normal(1.0, 0.01)), 3),
        width=int(width),
        height=int(height),
        k1=round(float(rng.uniform(-0.04, 0.04)), 5),
        k2=round(float(rng.uniform(-0.01, 0.01)), 5),
        p1=round(float(rng.normal(0, 0.0005)), 6),
        p2=round(float(rng.normal(0, 0.0005)), 6),
    )


def _anywhere_placement(height: float) -> str:
    """Placement name for an "anywhere" camera ``height`` metres above the floor."""
    return next(name for name, top in _ANYWHERE_PLACEMENTS if height < top)


def sample_camera(
    rng: np.random.Generator,
    *,
    subject_height: float,
    facing_deg: float,
    name: str = "cam0",
    subject_position: np.ndarray | None = None,
    coverage: Coverage = "front",
    yaw_range_deg: float | None = None,
) -> CameraSpec:
    """A random phone camera filming a person of ``subject_height`` metres.

    The person stands at ``subject_position`` (floor point, default the origin) facing
    ``facing_deg`` about the vertical axis (0 = world +z).

    Args:
        coverage: ``"front"`` (default; floor/table/tripod, 2-5 m, +-60 deg: the draws
            the bundled models were fitted on, unchanged) or ``"anywhere"`` (0.05-1.9 m
            high, 1.5-6 m, all around the person).
        yaw_range_deg: Half-width (deg) of the uniform yaw around the facing direction;
            ``None`` is the coverage's own (60 for front, 180 for anywhere).
    """
    if coverage not in COVERAGES:
        raise ValueError(f"unknown camera coverage {coverage!r}; expected one of {COVERAGES}")
    if yaw_range_deg is not None and not 0 <= yaw_range_deg <= 180:
        raise ValueError(f"yaw_range_deg must be in [0, 180], got {yaw_range_deg}")
    centre = np.zeros(3) if subject_position is None else np.asarray(subject_position, float)
    if coverage == "front":
        # Same draws in the same order as before "anywhere" existed: seeds stay valid.
        placement = str(rng.choice(list(PLACEMENTS)))
        height = rng.uniform(*PLACEMENTS[placement])
        distance = rng.uniform(2.0, 5.0)
        half_range = FRONT_YAW_RANGE_DEG if yaw_range_deg is None else yaw_range_deg
    else:
        height = rng.uniform(*ANYWHERE_HEIGHT_M)
        placement = _anywhere_placement(height)
        distance = rng.uniform(*ANYWHERE_DISTANCE_M)
        half_range = 180.0 if yaw_range_deg is None else yaw_range_deg
    yaw = np.radians(facing_deg + rng.uniform(-half_range, half_range))
    position = centre + np.array([distance * np.sin(yaw), height, distance * np.cos(yaw)])
    aim = centre + np.array([0.0, subject_height * rng.uniform(0.4, 0.6), 0.0])
    aim += rng.normal(0, 0.08, size=3)
    rotation = look_at(position, aim, up=np.array([0.0, 1.0, 0.0]))
    roll = np.radians(rng.normal(0, 2.0))
    c, s = np.cos(roll), np.sin(roll)
    rotation = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]) @ rotation
    return CameraSpec(name, sample_intrinsics(rng), rotation, position, placement)


def fraction_in_frame(points_world: np.ndarray, camera: CameraSpec) -> float:
    """Share of points ``(..., 3)`` in front of the camera and inside the image."""
    cam = world_to_camera(points_world.reshape(-1, 3), camera.rotation, camera.position)
    front = cam[:, 2] > 0.1
    if not front.any():
        return 0.0
    uv = project(cam[front], camera.intrinsics)
    intr = camera.intrinsics
    inside = (uv[:, 0] >= 0) & (uv[:, 0] < intr.width) & (uv[:, 1] >= 0) & (uv[:, 1] < intr.height)
    return float(inside.sum() / len(cam))


def tilt_camera(camera: CameraSpec, degrees: float) -> CameraSpec:
    """``camera`` pitched up by ``degrees`` about its own x axis (negative: down).

    Pitching up moves everything down in the image. Position and intrinsics are kept.
    """
    theta = np.radians(degrees)
    right, down, forward = np.asarray(camera.rotation, dtype=np.float64)
    new_forward = np.cos(theta) * forward - np.sin(theta) * down
    new_down = np.cos(theta) * down + np.sin(theta) * forward
    rotation = np.stack([right, new_down, new_forward])
    return CameraSpec(camera.name, camera.intrinsics, rotation, camera.position, camera.placement)


def _share_beyond_edge(points: np.ndarray, camera: CameraSpec, edge: str) -> float:
    """Share of ``points (N, 3)`` below the image's bottom (``"bottom"``) or above its top.

    Points behind the camera count as beyond the edge (they are not seen either).
    """
    cam = world_to_camera(points, camera.rotation, camera.position)
    front = cam[:, 2] > 0.1
    beyond = ~front
    if front.any():
        v = project(cam[front], camera.intrinsics)[:, 1]
        beyond[front] = v >= camera.intrinsics.height if edge == "bottom" else v < 0
    return float(beyond.mean())


def _crop_partially(rng: np.random.Generator, camera: CameraSpec, points: np.ndarray) -> CameraSpec:
    """Tilt a framed ``camera`` so that the feet (bottom edge) or head (top) leave the image.

    ``points`` ``(N, 3)`` world metres. A share of 8-25 % of them ends beyond the edge;
    found by bisection on the tilt, since the share grows monotonically with it.
    """
    edge = "bottom" if rng.random() < _PARTIAL_FEET_SHARE else "top"
    target = rng.uniform(*_PARTIAL_SHARE)
    sign = 1.0 if edge == "bottom" else -1.0  # tilting up pushes the feet out of the bottom
    low, high = 0.0, _MAX_TILT_DEG
    for _ in range(30):
        mid = (low + high) / 2
        if _share_beyond_edge(points, tilt_camera(camera, sign * mid), edge) < target:
            low = mid
        else:
            high = mid
    return tilt_camera(camera, sign * high)


def frame_subject(
    rng: np.random.Generator,
    points_world: np.ndarray,
    *,
    subject_height: float,
    facing_deg: float,
    name: str,
    min_fraction: float = 0.95,
    tries: int = 25,
    coverage: Coverage = "front",
    yaw_range_deg: float | None = None,
    allow_partial: bool = False,
    partial_probability: float = 0.1,
) -> CameraSpec:
    """Sample cameras until one sees ``min_fraction`` of the points, as a user framing
    themselves would; returns the best of ``tries`` if none does.

    Args:
        points_world: ``(..., 3)`` world metres, e.g. the clip's ``(T, 28, 3)`` joints.
        coverage, yaw_range_deg: Passed to :func:`sample_camera`.
        allow_partial: When true, with ``partial_probability`` the framed camera is then
            tilted so that 8-25 % of the points (the feet or the head end) leave the
            image. The default (false) draws exactly what it always did.
    """
    partial = allow_partial and rng.random() < partial_probability
    best, best_fraction = None, -1.0
    subset = points_world[:: max(1, len(points_world) // 30)]
    for _ in range(tries):
        camera = sample_camera(
            rng,
            subject_height=subject_height,
            facing_deg=facing_deg,
            name=name,
            coverage=coverage,
            yaw_range_deg=yaw_range_deg,
        )
        fraction = fraction_in_frame(subset, camera)
        if fraction >= min_fraction:
            best = camera
            break
        if fraction > best_fraction:
            best, best_fraction = camera, fraction
    if partial:
        best = _crop_partially(rng, best, np.asarray(subset, dtype=np.float64).reshape(-1, 3))
    return best


def wrap_deg(angle: np.ndarray | float) -> np.ndarray | float:
    """Angles in degrees wrapped to [-180, 180)."""
    return (np.asarray(angle) + 180.0) % 360.0 - 180.0


def mean_deg(angles: np.ndarray) -> float:
    """The circular mean of ``angles`` ``(N,)`` in degrees, in [-180, 180] (an arithmetic
    mean or median would split at +-180)."""
    radians = np.radians(angles)
    return float(np.degrees(np.arctan2(np.sin(radians).mean(), np.cos(radians).mean())))


def camera_yaw_deg(
    camera: CameraSpec,
    facing_deg: float | np.ndarray,
    subject_position: np.ndarray | None = None,
) -> float | np.ndarray:
    """Yaw of ``camera`` seen from the person, relative to their facing, in [-180, 180).

    0 = in front, +-180 = behind, +90 = on the person's left. ``facing_deg`` is a
    scalar or ``(T,)`` degrees about the vertical (0 = world +z); ``subject_position``
    ``(3,)`` or ``(T, 3)`` metres (default the origin). Returns a float or ``(T,)``.
    """
    centre = np.zeros(3) if subject_position is None else np.asarray(subject_position, float)
    to_camera = np.asarray(camera.position, dtype=np.float64) - centre
    bearing = np.degrees(np.arctan2(to_camera[..., 0], to_camera[..., 2]))
    yaw = wrap_deg(bearing - np.asarray(facing_deg, dtype=np.float64))
    return float(yaw) if np.ndim(yaw) == 0 else yaw


def body_facing_deg(joints: np.ndarray) -> np.ndarray:
    """Facing direction per frame, degrees about the vertical (0 = world +z), ``(T,)``.

    From the hips' and shoulders' left-right axis of body-28 ``joints`` ``(T, 28, 3)``
    (steadier than the nose, and defined lying down: a push-up "faces" its head end).
    """
    joints = np.asarray(joints, dtype=np.float64)
    lateral = (joints[:, J["left_hip"]] - joints[:, J["right_hip"]]) + (
        joints[:, J["left_shoulder"]] - joints[:, J["right_shoulder"]]
    )
    forward = np.cross(lateral, [0.0, 1.0, 0.0])  # body x (left) x up = forward
    return np.degrees(np.arctan2(forward[:, 0], forward[:, 2]))


def clip_camera_yaw_deg(clip: Clip, camera: CameraSpec) -> np.ndarray:
    """Per-frame yaw ``(T,)`` of ``camera`` relative to the person's facing (see
    :func:`camera_yaw_deg`), following the person as they turn and move."""
    joints = np.asarray(clip.joints, dtype=np.float64)
    return camera_yaw_deg(camera, body_facing_deg(joints), joints[:, J["pelvis"]])


def view_bin(yaw_deg: float) -> str:
    """``"front"`` (|yaw| < 45), ``"side"`` (45-135) or ``"back"`` for a relative yaw."""
    magnitude = abs(float(wrap_deg(yaw_deg)))
    return next(name for name, top in VIEW_BINS if magnitude < top)
