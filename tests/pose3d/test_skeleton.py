import numpy as np
import pytest

from pose3d.skeleton import (
    COCO17,
    H36M17,
    MEDIAPIPE33,
    bone_lengths,
    convert_layout,
    flip_lr,
    get_layout,
)


def test_mediapipe_to_coco_selects_the_same_named_joints():
    points = np.arange(33 * 2, dtype=np.float32).reshape(33, 2)
    coco = convert_layout(points, "mediapipe33", "coco17")
    for index, name in enumerate(COCO17.joint_names):
        assert np.array_equal(coco[index], points[MEDIAPIPE33.index(name)])


def test_h36m_contract():
    assert H36M17.parents == (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)
    assert H36M17.left == (4, 5, 6, 11, 12, 13)
    assert H36M17.right == (1, 2, 3, 14, 15, 16)
    assert len(H36M17.bones) == 16


@pytest.mark.parametrize("layout", [MEDIAPIPE33, COCO17, H36M17])
def test_left_right_twins_have_mirrored_names(layout):
    for left, right in zip(layout.left, layout.right, strict=True):
        assert layout.joint_names[left].replace("left", "right") == layout.joint_names[right]


def test_flip_is_an_involution_and_mirrors_x():
    rng = np.random.default_rng(1)
    poses = rng.normal(size=(5, 17, 3)).astype(np.float32)
    flipped = flip_lr(poses, H36M17)
    assert np.array_equal(flip_lr(flipped, H36M17), poses)
    # The flipped left wrist is the mirrored right wrist.
    assert np.allclose(flipped[:, 13], poses[:, 16] * [-1, 1, 1])
    assert np.allclose(flipped[:, 0], poses[:, 0] * [-1, 1, 1])


def test_flip_preserves_bone_lengths():
    poses = np.random.default_rng(2).normal(size=(3, 17, 3))
    assert np.allclose(
        np.sort(bone_lengths(flip_lr(poses, "h36m17"))), np.sort(bone_lengths(poses))
    )


def test_unknown_layout_and_conversion_are_named():
    with pytest.raises(ValueError, match="unknown layout 'openpose25'"):
        get_layout("openpose25")
    with pytest.raises(ValueError, match="no exact conversion from 'coco17' to 'mediapipe33'"):
        convert_layout(np.zeros((17, 2)), "coco17", "mediapipe33")
    with pytest.raises(ValueError, match="expected 33 joints"):
        convert_layout(np.zeros((17, 2)), "mediapipe33", "coco17")
