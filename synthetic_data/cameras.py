"""Phone cameras the way people set them up to film a workout.

Placements: on the floor leaning on something (5-25 cm high), on a table (70-100 cm) or
on a tripod (110-160 cm); 2-5 m from the person, up to 60 degrees to either side of
their facing direction, aimed at their body with a little error; portrait or
landscape; main (24-28 mm equivalent) or ultra-wide lens; mild lens distortion.
"""

from __future__ import annotations

import numpy as np

from pose3d.camera import Intrinsics, look_at, project, world_to_camera
from synthetic_data.clip import CameraSpec

PLACEMENTS = {"floor": (0.05, 0.25), "table": (0.7, 1.0), "tripod": (1.1, 1.6)}
IMAGE_SIZES = ((1080, 1920), (720, 1280), (1440, 2560))
SENSOR_DIAGONAL_MM = 43.27  # 35 mm film diagonal, the basis of "equivalent" focal lengths


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


def sample_camera(
    rng: np.random.Generator,
    *,
    subject_height: float,
    facing_deg: float,
    name: str = "cam0",
    subject_position: np.ndarray | None = None,
) -> CameraSpec:
    """A random phone camera filming a person of ``subject_height`` metres.

    The person stands at ``subject_position`` (floor point, default the origin) facing
    ``facing_deg`` about the vertical axis (0 = world +z).
    """
    centre = np.zeros(3) if subject_position is None else np.asarray(subject_position, float)
    placement = str(rng.choice(list(PLACEMENTS)))
    height = rng.uniform(*PLACEMENTS[placement])
    distance = rng.uniform(2.0, 5.0)
    yaw = np.radians(facing_deg + rng.uniform(-60, 60))
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


def frame_subject(
    rng: np.random.Generator,
    points_world: np.ndarray,
    *,
    subject_height: float,
    facing_deg: float,
    name: str,
    min_fraction: float = 0.95,
    tries: int = 25,
) -> CameraSpec:
    """Sample cameras until one sees ``min_fraction`` of the points, as a user framing
    themselves would; returns the best of ``tries`` if none does."""
    best, best_fraction = None, -1.0
    subset = points_world[:: max(1, len(points_world) // 30)]
    for _ in range(tries):
        camera = sample_camera(rng, subject_height=subject_height, facing_deg=facing_deg, name=name)
        fraction = fraction_in_frame(subset, camera)
        if fraction >= min_fraction:
            return camera
        if fraction > best_fraction:
            best, best_fraction = camera, fraction
    return best
