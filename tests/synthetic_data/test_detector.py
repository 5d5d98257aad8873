import numpy as np
import pytest

from pose3d.camera import project, world_to_camera
from synthetic_data.cameras import sample_camera
from synthetic_data.detector import film
from synthetic_data.generator import ClipRequest, generate_clip
from synthetic_data.landmarks import body_to_mediapipe33


@pytest.fixture(scope="module")
def clip():
    return generate_clip(ClipRequest(seed=31, movement="jumping_jack", num_reps=6, num_cameras=1))


def test_noise_free_filming_is_the_exact_projection(clip):
    obs = film(clip, clip.cameras[0], np.random.default_rng(0), noise_level=0)
    cam = clip.cameras[0]
    expected = project(
        world_to_camera(clip.coco17().astype(np.float64), cam.rotation, cam.position),
        cam.intrinsics,
    )
    np.testing.assert_allclose(obs.keypoints, expected, atol=1e-3)
    assert (obs.scores == 1).all() and obs.image_size == (
        cam.intrinsics.width,
        cam.intrinsics.height,
    )


def _jitter(clip, camera, level):
    """Median pixel distance between the noisy and the exact detections."""
    exact = film(clip, camera, np.random.default_rng(0), noise_level=0).keypoints
    noisy = film(clip, camera, np.random.default_rng(1), noise_level=level).keypoints
    return np.nanmedian(np.linalg.norm(noisy - exact, axis=-1))


def test_jitter_grows_with_noise_level_and_distance(clip):
    assert _jitter(clip, clip.cameras[0], 2.0) > 1.5 * _jitter(clip, clip.cameras[0], 1.0)
    rng = np.random.default_rng(3)
    cams = [sample_camera(rng, subject_height=clip.body.height, facing_deg=0) for _ in range(40)]
    distance = [np.linalg.norm(c.position[[0, 2]]) for c in cams]
    near, far = cams[int(np.argmin(distance))], cams[int(np.argmax(distance))]

    def relative(camera):  # jitter in units of the body's height in the image
        exact = film(clip, camera, np.random.default_rng(0), noise_level=0).keypoints
        return _jitter(clip, camera, 1.0) / np.median(np.ptp(exact[..., 1], axis=1))

    assert relative(far) > relative(near)


def test_dropouts_swaps_and_low_scores(clip):
    obs = film(clip, clip.cameras[0], np.random.default_rng(5), noise_level=2.0)
    missing = np.isnan(obs.keypoints).any(axis=-1)
    assert missing.any() and (obs.scores[missing] == 0).all()
    assert obs.scores.min() >= 0 and obs.scores.max() <= 1
    exact = film(clip, clip.cameras[0], np.random.default_rng(5), noise_level=0).keypoints
    # A swapped left wrist sits nearer the exact right wrist than its own position.
    left, right = 9, 10
    d_own = np.linalg.norm(obs.keypoints[:, left] - exact[:, left], axis=-1)
    d_twin = np.linalg.norm(obs.keypoints[:, left] - exact[:, right], axis=-1)
    assert np.nansum(d_twin < d_own * 0.3) > 0


def test_out_of_frame_joints_score_low(clip):
    camera = clip.cameras[0]
    close = camera.__class__(
        camera.name,
        camera.intrinsics,
        camera.rotation,
        camera.position * 0.25 + np.array([0, 1.0, 0]) * 0.75,
        camera.placement,
    )
    obs = film(clip, close, np.random.default_rng(0), noise_level=1.0)
    exact = film(clip, close, np.random.default_rng(0), noise_level=0).keypoints
    w, h = obs.image_size
    outside = (
        (exact[..., 0] < 0) | (exact[..., 0] >= w) | (exact[..., 1] < 0) | (exact[..., 1] >= h)
    )
    assert outside.any()
    assert obs.scores[outside].max() <= 0.25
    assert np.median(obs.scores[~outside & ~np.isnan(obs.keypoints[..., 0])]) > 0.8


def test_mediapipe_layout_agrees_with_coco_on_shared_joints(clip):
    from pose3d.skeleton import MEDIAPIPE33_TO_COCO17

    mp = film(clip, clip.cameras[0], np.random.default_rng(0), layout="mediapipe33", noise_level=0)
    coco = film(clip, clip.cameras[0], np.random.default_rng(0), layout="coco17", noise_level=0)
    np.testing.assert_allclose(mp.keypoints[:, MEDIAPIPE33_TO_COCO17], coco.keypoints, atol=1e-3)
    landmarks = body_to_mediapipe33(clip.joints)
    # Finger landmarks sit within 15 cm of the wrist.
    assert np.linalg.norm(landmarks[:, 19] - landmarks[:, 15], axis=-1).max() < 0.15


def test_cameras_follow_the_placement_ranges():
    rng = np.random.default_rng(0)
    for _ in range(200):
        cam = sample_camera(rng, subject_height=1.75, facing_deg=30.0)
        horizontal = cam.position[[0, 2]]
        assert 2.0 <= np.linalg.norm(horizontal) <= 5.0
        yaw = np.degrees(np.arctan2(horizontal[0], horizontal[1]))
        assert abs((yaw - 30.0 + 180) % 360 - 180) <= 60.0 + 1e-9
        assert 0.05 <= cam.position[1] <= 1.6
        # The camera looks at the person: their hips project inside the image.
        uv = project(
            world_to_camera(np.array([[0.0, 0.9, 0.0]]), cam.rotation, cam.position), cam.intrinsics
        )[0]
        assert 0 <= uv[0] < cam.intrinsics.width and 0 <= uv[1] < cam.intrinsics.height
