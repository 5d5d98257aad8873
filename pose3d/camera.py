"""Camera maths: screen normalisation, pinhole projection with distortion, world<->camera.

Conventions:
    * Camera space is OpenCV's: x right, y down, z forward (metres).
    * Extrinsics are a world-to-camera rotation ``R`` (3x3) and the camera's position
      ``C`` in world coordinates (metres): ``X_cam = R @ (X_world - C)``.
    * Screen normalisation (VideoPose3D's): ``X / w * 2 - [1, h / w]`` maps pixel x in
      ``[0, w]`` to ``[-1, 1]`` and keeps the aspect ratio, so y spans ``[-h/w, h/w]``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


def _check_image_size(width: float, height: float) -> None:
    if not (np.isfinite(width) and np.isfinite(height)) or width <= 0 or height <= 0:
        raise ValueError(f"image_size must be two positive numbers, got ({width}, {height})")


def _as_float(points: np.ndarray) -> np.ndarray:
    """Keep float32/float64 arrays as they are; promote integers to float64."""
    points = np.asarray(points)
    return points if np.issubdtype(points.dtype, np.floating) else points.astype(np.float64)


def normalize_screen_coordinates(points: np.ndarray, width: float, height: float) -> np.ndarray:
    """Pixels ``(..., 2)`` -> normalised coordinates ``X / w * 2 - [1, h / w]``."""
    _check_image_size(width, height)
    points = _as_float(points)
    if points.shape[-1] != 2:
        raise ValueError(f"expected 2D points with a last axis of 2, got shape {points.shape}")
    offset = np.array([1.0, height / width], dtype=points.dtype)
    return points / width * 2 - offset


def image_coordinates(points: np.ndarray, width: float, height: float) -> np.ndarray:
    """Inverse of :func:`normalize_screen_coordinates`: normalised ``(..., 2)`` -> pixels."""
    _check_image_size(width, height)
    points = _as_float(points)
    if points.shape[-1] != 2:
        raise ValueError(f"expected 2D points with a last axis of 2, got shape {points.shape}")
    offset = np.array([1.0, height / width], dtype=points.dtype)
    return (points + offset) * width / 2


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics in pixels with Brown-Conrady distortion.

    Attributes:
        fx, fy: Focal lengths (px).
        cx, cy: Principal point (px).
        width, height: Image size (px).
        k1, k2, k3: Radial distortion coefficients.
        p1, p2: Tangential distortion coefficients.
    """

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    k1: float = 0.0
    k2: float = 0.0
    k3: float = 0.0
    p1: float = 0.0
    p2: float = 0.0

    def __post_init__(self) -> None:
        _check_image_size(self.width, self.height)
        if self.fx <= 0 or self.fy <= 0:
            raise ValueError(f"focal lengths must be positive, got fx={self.fx}, fy={self.fy}")

    @property
    def matrix(self) -> np.ndarray:
        """The 3x3 calibration matrix K."""
        return np.array([[self.fx, 0, self.cx], [0, self.fy, self.cy], [0, 0, 1]], dtype=np.float64)

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    def normalized(self) -> np.ndarray:
        """Intrinsics in normalised screen units, VideoPose3D's 9-vector.

        Returns ``[fx', fy', cx', cy', k1, k2, k3, p1, p2]`` with focal lengths scaled by
        ``2 / w`` and the principal point passed through
        :func:`normalize_screen_coordinates`, so that projecting with it yields normalised
        coordinates directly (used by the reprojection loss).
        """
        f = np.array([self.fx, self.fy]) / self.width * 2
        c = normalize_screen_coordinates(np.array([self.cx, self.cy]), self.width, self.height)
        k = [self.k1, self.k2, self.k3, self.p1, self.p2]
        return np.concatenate([f, c, k]).astype(np.float32)


def project(points_cam: np.ndarray, intrinsics: Intrinsics) -> np.ndarray:
    """Project camera-space points ``(..., 3)`` (metres, z > 0) to pixels ``(..., 2)``.

    Applies radial (k1, k2, k3) and tangential (p1, p2) distortion to the normalised
    image-plane coordinates before the calibration matrix.
    """
    if points_cam.shape[-1] != 3:
        raise ValueError(f"expected 3D points with a last axis of 3, got shape {points_cam.shape}")
    z = points_cam[..., 2:3]
    if np.any(z <= 0):
        raise ValueError("cannot project points at or behind the camera (z <= 0)")
    xy = points_cam[..., :2] / z
    x, y = xy[..., 0], xy[..., 1]
    r2 = x * x + y * y
    radial = 1 + intrinsics.k1 * r2 + intrinsics.k2 * r2**2 + intrinsics.k3 * r2**3
    x_d = x * radial + 2 * intrinsics.p1 * x * y + intrinsics.p2 * (r2 + 2 * x * x)
    y_d = y * radial + intrinsics.p1 * (r2 + 2 * y * y) + 2 * intrinsics.p2 * x * y
    u = intrinsics.fx * x_d + intrinsics.cx
    v = intrinsics.fy * y_d + intrinsics.cy
    return np.stack([u, v], axis=-1).astype(points_cam.dtype)


def world_to_camera(points: np.ndarray, rotation: np.ndarray, position: np.ndarray) -> np.ndarray:
    """World points ``(..., 3)`` -> camera space: ``R @ (X - C)``.

    Args:
        points: ``(..., 3)`` world coordinates (metres).
        rotation: ``(3, 3)`` world-to-camera rotation.
        position: ``(3,)`` camera centre in world coordinates (metres).
    """
    return ((points - position) @ np.asarray(rotation).T).astype(points.dtype)


def camera_to_world(points: np.ndarray, rotation: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Inverse of :func:`world_to_camera`: ``R.T @ X_cam + C``."""
    return (points @ np.asarray(rotation) + position).astype(points.dtype)


def look_at(position: np.ndarray, target: np.ndarray, up: np.ndarray) -> np.ndarray:
    """World-to-camera rotation ``(3, 3)`` of a camera at ``position`` looking at ``target``.

    ``up`` is the world's up direction; the camera's y axis (down in the image) points
    opposite to it. Raises ``ValueError`` when the view direction is parallel to ``up``.
    """
    forward = np.asarray(target, dtype=np.float64) - np.asarray(position, dtype=np.float64)
    norm = np.linalg.norm(forward)
    if norm == 0:
        raise ValueError("camera position and target coincide")
    forward /= norm
    right = np.cross(forward, np.asarray(up, dtype=np.float64))
    if np.linalg.norm(right) < 1e-9:
        raise ValueError("view direction is parallel to the up vector")
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    return np.stack([right, down, forward])
