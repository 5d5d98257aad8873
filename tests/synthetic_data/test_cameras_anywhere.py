"""Cameras from anywhere around the person, partial framing and the view-yaw helpers."""

import numpy as np
import pytest

from pose3d.camera import project, world_to_camera
from synthetic_data.cameras import (
    ANYWHERE_DISTANCE_M,
    ANYWHERE_HEIGHT_M,
    camera_yaw_deg,
    clip_camera_yaw_deg,
    fraction_in_frame,
    frame_subject,
    sample_camera,
    tilt_camera,
    view_bin,
)
from synthetic_data.generator import ClipRequest, generate_clip


@pytest.fixture(scope="module")
def anywhere_cameras():
    rng = np.random.default_rng(0)
    return [
        sample_camera(rng, subject_height=1.75, facing_deg=40.0, coverage="anywhere")
        for _ in range(3000)
    ]


@pytest.fixture(scope="module")
def clip():
    return generate_clip(
        ClipRequest(seed=5, movement="squat", num_reps=3, num_cameras=1, facing_deg=0.0)
    )


def _pixel(camera, point):
    cam = world_to_camera(np.asarray([point], dtype=np.float64), camera.rotation, camera.position)
    return project(cam, camera.intrinsics)[0]


def test_anywhere_yaw_is_uniform_over_360_degrees(anywhere_cameras):
    yaw = np.array([camera_yaw_deg(c, 40.0) for c in anywhere_cameras])
    counts, _ = np.histogram(yaw, bins=12, range=(-180, 180))
    expected = len(yaw) / 12  # 250 a bin; binomial sd ~15
    assert counts.min() > 0.8 * expected and counts.max() < 1.2 * expected
    bins = [view_bin(y) for y in yaw]
    assert 0.2 < bins.count("back") / len(bins) < 0.3  # |yaw| in [135, 180]: a quarter


def test_anywhere_heights_distances_orientations_and_aim(anywhere_cameras):
    heights = np.array([c.position[1] for c in anywhere_cameras])
    distances = np.array([np.linalg.norm(c.position[[0, 2]]) for c in anywhere_cameras])
    assert ANYWHERE_HEIGHT_M[0] <= heights.min() and heights.max() <= ANYWHERE_HEIGHT_M[1]
    assert ANYWHERE_DISTANCE_M[0] <= distances.min() and distances.max() <= ANYWHERE_DISTANCE_M[1]
    # Floor to head height and near to far are all covered, not only the old placements.
    assert (
        heights.min() < 0.15 and heights.max() > 1.8 and ((heights > 0.3) & (heights < 0.6)).any()
    )
    assert distances.min() < 1.7 and distances.max() > 5.8
    portrait = [c.intrinsics.height > c.intrinsics.width for c in anywhere_cameras]
    assert 0.5 < np.mean(portrait) < 0.7
    for camera in anywhere_cameras[:300]:
        hips = _pixel(camera, [0.0, 0.9, 0.0])  # aimed at the body: hips in the image
        assert 0 <= hips[0] < camera.intrinsics.width and 0 <= hips[1] < camera.intrinsics.height
        looks_up = camera.rotation[2, 1] > 0  # the optical axis' world y component
        if camera.position[1] < 0.3:
            assert looks_up
        if camera.position[1] > 1.6:
            assert not looks_up


def test_yaw_range_and_coverage_arguments():
    rng = np.random.default_rng(1)
    for _ in range(300):
        camera = sample_camera(
            rng, subject_height=1.7, facing_deg=-90.0, coverage="anywhere", yaw_range_deg=30.0
        )
        assert abs(camera_yaw_deg(camera, -90.0)) <= 30.0 + 1e-9
        wide_front = sample_camera(rng, subject_height=1.7, facing_deg=0.0, yaw_range_deg=120.0)
        assert 2.0 <= np.linalg.norm(wide_front.position[[0, 2]]) <= 5.0
        assert abs(camera_yaw_deg(wide_front, 0.0)) <= 120.0 + 1e-9
    with pytest.raises(ValueError, match="coverage"):
        sample_camera(rng, subject_height=1.7, facing_deg=0.0, coverage="everywhere")
    with pytest.raises(ValueError, match="yaw_range_deg"):
        sample_camera(rng, subject_height=1.7, facing_deg=0.0, yaw_range_deg=200.0)


def test_explicit_front_coverage_is_the_default():
    a, b = np.random.default_rng(4), np.random.default_rng(4)
    for _ in range(50):
        one = sample_camera(a, subject_height=1.8, facing_deg=10.0)
        two = sample_camera(b, subject_height=1.8, facing_deg=10.0, coverage="front")
        assert np.array_equal(one.rotation, two.rotation)
        assert np.array_equal(one.position, two.position) and one.intrinsics == two.intrinsics


def test_camera_yaw_convention():
    rng = np.random.default_rng(2)
    base = sample_camera(rng, subject_height=1.75, facing_deg=0.0)

    def at(x, z):
        return base.__class__(base.name, base.intrinsics, base.rotation, np.array([x, 1.0, z]))

    assert camera_yaw_deg(at(0, 3), 0.0) == pytest.approx(0.0)
    assert abs(camera_yaw_deg(at(0, -3), 0.0)) == pytest.approx(180.0)
    assert camera_yaw_deg(at(3, 0), 0.0) == pytest.approx(90.0)  # on the person's left
    assert camera_yaw_deg(at(3, 0), 90.0) == pytest.approx(0.0)  # they turned to face it
    assert camera_yaw_deg(at(0, 3), 0.0, subject_position=np.array([0, 0, 6])) == pytest.approx(
        -180.0
    )
    per_frame = camera_yaw_deg(at(0, 3), np.array([0.0, 90.0, 180.0]))
    np.testing.assert_allclose(np.abs(per_frame), [0.0, 90.0, 180.0])
    assert [view_bin(y) for y in (0, 44, -60, 134, 135, -180, 200, 250)] == [
        "front", "front", "side", "side", "back", "back", "back", "side",
    ]  # fmt: skip


def test_clip_camera_yaw_follows_the_person(clip):
    camera = clip.cameras[0]
    per_frame = clip_camera_yaw_deg(clip, camera)
    assert per_frame.shape == (len(clip.joints),)
    # The squat faces +z throughout: per-frame yaw agrees with the static one within a few deg.
    assert np.abs(per_frame - camera_yaw_deg(camera, 0.0)).max() < 5.0


def test_frame_subject_anywhere_keeps_the_person_in_frame(clip):
    rng = np.random.default_rng(6)
    yaws = []
    for _ in range(60):
        camera = frame_subject(
            rng,
            clip.joints,
            subject_height=clip.body.height,
            facing_deg=0.0,
            name="cam0",
            coverage="anywhere",
        )
        assert fraction_in_frame(clip.joints[::5], camera) >= 0.9
        yaws.append(camera_yaw_deg(camera, 0.0))
    assert {view_bin(y) for y in yaws} == {"front", "side", "back"}


def test_partial_framing_cuts_off_the_feet_or_the_head(clip):
    rng = np.random.default_rng(7)
    edges = set()
    for _ in range(40):
        camera = frame_subject(
            rng,
            clip.joints,
            subject_height=clip.body.height,
            facing_deg=0.0,
            name="cam0",
            coverage="anywhere",
            allow_partial=True,
            partial_probability=1.0,
        )
        points = clip.joints[:: max(1, len(clip.joints) // 30)].reshape(-1, 3).astype(np.float64)
        fraction = fraction_in_frame(points, camera)
        assert 0.6 < fraction < 0.95
        cam = world_to_camera(points, camera.rotation, camera.position)
        uv = project(cam, camera.intrinsics)
        w, h = camera.intrinsics.width, camera.intrinsics.height
        below, above = uv[:, 1] >= h, uv[:, 1] < 0
        sideways = ((uv[:, 0] < 0) | (uv[:, 0] >= w)) & ~below & ~above
        assert sideways.mean() < 0.05  # what leaves the image leaves at the top or bottom
        edges.add("bottom" if below.sum() > above.sum() else "top")
        if below.sum() > above.sum():  # feet out: the lowest body points are the ones lost
            assert points[below, 1].max() < np.median(points[:, 1])
    assert edges == {"bottom", "top"}


def test_partial_framing_is_occasional_and_off_by_default(clip):
    def partial_share(**kwargs):
        rng = np.random.default_rng(8)
        partial = 0
        for _ in range(150):
            camera = frame_subject(
                rng,
                clip.joints,
                subject_height=clip.body.height,
                facing_deg=0.0,
                name="cam0",
                coverage="anywhere",
                **kwargs,
            )
            partial += fraction_in_frame(clip.joints[::10], camera) < 0.93
        return partial / 150

    assert partial_share() < 0.03
    assert 0.04 < partial_share(allow_partial=True) < 0.2  # ~10 %


def test_tilting_up_moves_the_person_down_in_the_image():
    rng = np.random.default_rng(9)
    camera = sample_camera(rng, subject_height=1.75, facing_deg=0.0)
    v = _pixel(camera, [0.0, 0.9, 0.0])[1]
    assert _pixel(tilt_camera(camera, 5.0), [0.0, 0.9, 0.0])[1] > v + 50
    assert _pixel(tilt_camera(camera, -5.0), [0.0, 0.9, 0.0])[1] < v - 50
    np.testing.assert_allclose(tilt_camera(camera, 0.0).rotation, camera.rotation, atol=1e-12)


def test_a_clip_filmed_from_anywhere_keeps_its_motion_and_labels():
    """The same seeds filmed all around the person: motion, errors and reps unchanged,
    cameras beyond the front coverage's 60 deg (behind the person too), recorded."""
    yaws = []
    for seed in range(24):
        front = generate_clip(ClipRequest(seed=seed, movement="squat"))
        around = generate_clip(ClipRequest(seed=seed, movement="squat", camera_coverage="anywhere"))
        np.testing.assert_array_equal(front.joints, around.joints)
        assert front.errors == around.errors and front.reps == around.reps
        assert "camera_coverage" not in front.generator
        assert around.generator["camera_coverage"] == "anywhere"
        assert abs(float(np.mean(clip_camera_yaw_deg(front, front.cameras[0])))) <= 61
        yaws.append(float(np.median(clip_camera_yaw_deg(around, around.cameras[0]))))
    assert max(np.abs(yaws)) > 120 and sum(abs(y) > 60 for y in yaws) >= 6
    with pytest.raises(ValueError, match="coverage"):
        generate_clip(ClipRequest(seed=0, movement="squat", camera_coverage="above"))
