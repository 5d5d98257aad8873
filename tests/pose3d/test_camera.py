import numpy as np
import pytest

from pose3d.camera import (
    Intrinsics,
    camera_to_world,
    image_coordinates,
    look_at,
    normalize_screen_coordinates,
    project,
    world_to_camera,
)


def test_normalisation_maps_image_edges_and_round_trips():
    pts = np.array([[0, 0], [1080, 1920], [540, 960]], dtype=np.float32)
    norm = normalize_screen_coordinates(pts, 1080, 1920)
    assert np.allclose(norm[0], [-1, -1920 / 1080])
    assert np.allclose(norm[1], [1, 1920 / 1080])
    assert np.allclose(norm[2], [0, 0])
    assert np.allclose(image_coordinates(norm, 1080, 1920), pts, atol=1e-3)


@pytest.mark.parametrize("size", [(0, 100), (100, -1), (float("nan"), 10)])
def test_bad_image_size_is_rejected(size):
    with pytest.raises(ValueError, match="image_size"):
        normalize_screen_coordinates(np.zeros((1, 2)), *size)


def test_pinhole_projection_without_distortion():
    intr = Intrinsics(fx=1000, fy=1000, cx=540, cy=960, width=1080, height=1920)
    uv = project(np.array([[0.2, -0.1, 2.0]]), intr)
    assert np.allclose(uv, [[540 + 100, 960 - 50]])


def test_distortion_moves_points_radially_and_tangentially():
    point = np.array([[0.3, 0.2, 1.0]])
    base = Intrinsics(fx=500, fy=500, cx=0, cy=0, width=1000, height=1000)
    barrel = Intrinsics(fx=500, fy=500, cx=0, cy=0, width=1000, height=1000, k1=-0.2)
    tangential = Intrinsics(fx=500, fy=500, cx=0, cy=0, width=1000, height=1000, p1=0.01)
    r2 = 0.3**2 + 0.2**2
    assert np.allclose(project(point, barrel), project(point, base) * (1 - 0.2 * r2))
    # p1 shifts x by 2*p1*x*y and y by p1*(r2 + 2y^2).
    expected = 500 * np.array([0.3 + 2 * 0.01 * 0.3 * 0.2, 0.2 + 0.01 * (r2 + 2 * 0.04)])
    assert np.allclose(project(point, tangential)[0], expected)


def test_points_behind_the_camera_are_rejected():
    intr = Intrinsics(fx=1, fy=1, cx=0, cy=0, width=10, height=10)
    with pytest.raises(ValueError, match="behind the camera"):
        project(np.array([[0, 0, -1.0]]), intr)


def test_world_camera_round_trip_and_look_at():
    position = np.array([3.0, 1.2, 0.5])
    target = np.array([0.0, 1.0, 0.0])
    rotation = look_at(position, target, up=np.array([0.0, 1.0, 0.0]))
    assert np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)
    assert np.isclose(np.linalg.det(rotation), 1.0)
    cam = world_to_camera(target[None], rotation, position)
    # The target lies on the optical axis, in front of the camera.
    assert np.allclose(cam[0, :2], 0, atol=1e-12) and cam[0, 2] > 0
    # A point above the target (world +y) appears higher in the image (camera -y).
    above = world_to_camera((target + np.array([0, 0.5, 0]))[None], rotation, position)
    assert above[0, 1] < 0
    pts = np.random.default_rng(0).normal(size=(10, 3))
    assert np.allclose(
        camera_to_world(world_to_camera(pts, rotation, position), rotation, position), pts
    )


def test_normalized_intrinsics_project_to_normalized_screen():
    intr = Intrinsics(fx=1400, fy=1400, cx=530, cy=970, width=1080, height=1920, k1=0.05)
    point = np.array([[0.4, 0.3, 3.0]])
    f, c, k = intr.normalized()[:2], intr.normalized()[2:4], intr.normalized()[4:]
    xy = point[:, :2] / point[:, 2:]
    r2 = (xy**2).sum()
    expected = normalize_screen_coordinates(project(point, intr), 1080, 1920)
    assert np.allclose(f * xy * (1 + k[0] * r2) + c, expected, atol=1e-5)
