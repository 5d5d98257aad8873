"""The named steps of ``film`` ("phone-v1"), ``write_solo`` and ``parse_bvh``."""

import dataclasses
import re

import numpy as np
import pytest

from synthetic_data.bvh import parse_bvh
from synthetic_data.clip import ClipFormatError
from synthetic_data.detector import (
    _phone_dropouts,
    _phone_scores,
    _project_layout,
    _side_on,
    film,
)
from synthetic_data.generator import ClipRequest, generate_clip
from synthetic_data.solo import (
    _coco17_in_camera,
    _solo_camera_fields,
    _solo_keypoints,
    camera_from_capture,
)

SMALL_BVH = (
    "HIERARCHY ROOT hips { OFFSET 1 2 3 CHANNELS 3 Xposition Yposition Zrotation "
    "JOINT spine { OFFSET 0 1 0 CHANNELS 1 Zrotation End Site { OFFSET 0 0.5 0 } } "
    "JOINT leg { OFFSET 0 -1 0 CHANNELS 2 Xrotation Yrotation } } MOTION "
)


@pytest.fixture(scope="module")
def clip():
    return generate_clip(ClipRequest(seed=5, movement="squat", facing_deg=0.0, num_cameras=1))


def test_project_layout_clamps_depth_and_projects(clip):
    camera = clip.cameras[0]
    world, cam, uv = _project_layout(clip.joints.astype(np.float64), camera, "mediapipe33")
    assert world.shape == cam.shape == (clip.num_frames, 33, 3)
    assert uv.shape == (clip.num_frames, 33, 2)
    assert (cam[..., 2] >= 0.05).all()
    exact = film(clip, camera, np.random.default_rng(0), layout="mediapipe33", noise_level=0)
    np.testing.assert_array_equal(exact.keypoints, uv.astype(np.float32))


def test_side_on_is_zero_in_front_and_one_from_the_side(clip):
    camera = clip.cameras[0]
    pelvis = clip.joints[0, 0].astype(np.float64)
    front = dataclasses.replace(camera, position=pelvis + np.array([0.0, 0.0, 3.0]))  # faces +z
    side = dataclasses.replace(camera, position=pelvis + np.array([3.0, 0.0, 0.0]))
    assert _side_on(clip, front)[0] < 0.2
    assert _side_on(clip, side)[0] > 0.8


def test_phone_scores_rank_visible_occluded_outside():
    rng = np.random.default_rng(0)
    frames, joints = 50, 4
    noisy = np.zeros((frames, joints, 2))
    sigma = np.ones((frames, joints))
    occluded = np.zeros((frames, joints), dtype=bool)
    outside = np.zeros((frames, joints), dtype=bool)
    occluded[:, 1], outside[:, 2] = True, True
    scores = _phone_scores(rng, noisy, sigma, occluded, outside, 1.0)
    assert scores.shape == (frames, joints)
    assert (scores[:, 0] >= 0.5).all() and (scores[:, 0] <= 0.98).all()
    assert ((scores[:, 1] >= 0.25) & (scores[:, 1] <= 0.6)).all()
    assert (scores[:, 2] <= 0.25).all()
    assert (noisy[:, 1] != 0).all() and (noisy[:, [0, 2, 3]] == 0).all()  # only occluded drift


def test_phone_dropouts_blank_keypoints_and_scores_together():
    rng = np.random.default_rng(1)
    noisy = np.ones((400, 5, 2))
    scores = np.ones((400, 5))
    _phone_dropouts(rng, noisy, scores, 5.0)
    dropped = scores == 0
    assert dropped.any()
    assert np.array_equal(np.isnan(noisy).all(axis=-1), dropped)
    assert not np.isnan(noisy[~dropped]).any()


def test_solo_camera_fields_invert_camera_from_capture(clip):
    camera = clip.cameras[0]
    back = camera_from_capture(_solo_camera_fields(camera), "unity")
    np.testing.assert_allclose(back.rotation, camera.rotation, atol=1e-7)
    np.testing.assert_allclose(back.position, camera.position, atol=1e-5)
    assert back.intrinsics.width == camera.intrinsics.width
    assert back.intrinsics.fx == pytest.approx(camera.intrinsics.fx)


def test_solo_keypoint_states(clip):
    camera = clip.cameras[0]
    coco_cam, uv = _coco17_in_camera(clip, camera)
    assert coco_cam.shape == (clip.num_frames, 17, 3) and uv.shape == (clip.num_frames, 17, 2)
    frame_cam, frame_uv = coco_cam[0].copy(), uv[0].copy()
    frame_uv[1] = [-5.0, 10.0]  # left of the image
    frame_cam[2, 2] = -0.5  # behind the camera
    keypoints = _solo_keypoints(frame_cam, frame_uv, camera.intrinsics)
    assert [k["index"] for k in keypoints] == list(range(17))
    states = [k["state"] for k in keypoints]
    assert states[1] == 0 and states[2] == 0
    assert keypoints[0]["cameraCartesianLocation"][1] == pytest.approx(-frame_cam[0, 1], abs=1e-6)


def test_parse_bvh_hierarchy_motion_and_end_sites():
    motion = parse_bvh(SMALL_BVH + "Frames: 2 Frame Time: 0.05 " + " ".join(map(str, range(12))))
    assert [(j.name, j.parent) for j in motion.joints] == [("hips", -1), ("spine", 0), ("leg", 0)]
    assert motion.joints[0].offset.tolist() == [1.0, 2.0, 3.0]
    assert motion.joints[1].end_site.tolist() == [0.0, 0.5, 0.0]
    assert motion.joints[2].end_site is None
    assert motion.frame_time == 0.05
    assert motion.values.shape == (2, 6) and motion.values[1, 0] == 6.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("HIERARCHY ROOT a { OFFSET 0 0 0 } }", "unbalanced braces"),
        ("HIERARCHY ROOT a { OFFSET 0 0 0 CHANNELS q }", "CHANNELS needs a count"),
        ("HIERARCHY ROOT a { OFFSET 0 x 0 }", "expected a number"),
        ("HIERARCHY ROOT a { FOO }", "unexpected token 'FOO'"),
        ("HIERARCHY MOTION Frames: 1", "the HIERARCHY has no joints"),
        (SMALL_BVH + "Fromes: 2", "MOTION lacks 'Frames:'"),
        (SMALL_BVH + "Frames: 2.5 Frame Time: 0.1", "'Frames:' needs a whole number"),
        (SMALL_BVH + "Frames: 2 Frame Tim: 0.1", "MOTION lacks 'Frame Time:'"),
        (SMALL_BVH + "Frames: 1 Frame Time: x", "'Frame Time:' needs a number"),
        (SMALL_BVH + "Frames: 2 Frame Time: 0.1 1 2 3", "truncated motion: 3 values"),
        (SMALL_BVH + "Frames: 1 Frame Time: 0 1 2 3 4 5 6", "frame time must be positive"),
        (SMALL_BVH + "Frames: 0 Frame Time: 0.1", "no motion frames"),
        (SMALL_BVH + "Frames: 1 Frame Time: 0.1 1 2 nan 4 5 6", "NaN or infinite"),
        ("HIERARCHY ROOT", "unexpected end of file"),
    ],
)
def test_parse_bvh_names_the_problem(text, message):
    with pytest.raises(ClipFormatError, match=rf"^src\.bvh: .*{re.escape(message)}"):
        parse_bvh(text, "src.bvh")
