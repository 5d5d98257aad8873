"""Real takes for the knee network: where a knee bends, the injected caving knees and
their labels, the filmed examples and the view bands."""

import numpy as np

from lab.knee_net_real import (
    REAL_OUTPUT_MASK,
    filmed_example,
    injected_versions,
    knee_bend_depth,
    view_band,
)
from lab.knee_net_training import frame_targets
from scoring.knee_net import INPUTS, OUTPUTS
from synthetic_data.generator import ClipRequest, generate_clip


def _squat():
    return generate_clip(ClipRequest(seed=4, movement="squat", num_reps=3, errors=[]))


def test_the_bend_depth_is_zero_standing_and_one_deep():
    clip = _squat()
    depth = knee_bend_depth(clip)
    assert depth.shape == (clip.num_frames,)
    assert depth[0] == 0.0 and depth.max() > 0.8  # stands, then squats to ~80 deg
    assert ((depth >= 0) & (depth <= 1)).all()


def test_injected_versions_move_the_knees_where_they_bend_and_label_them():
    clip = _squat()
    depth = knee_bend_depth(clip)
    versions = injected_versions(clip, np.random.default_rng(1), 6)
    assert len(versions) == 6 and len({v.clip_id for v in versions}) == 6
    labelled = [v for v in versions if v.errors]
    assert labelled, "a squat's bent knees must take the injection"
    for version in labelled:
        moved = np.abs(version.joints - clip.joints).max(axis=(1, 2)) > 1e-6
        assert moved.any() and (depth[moved] > 0).all()  # only where the knees bend
        assert {e.kind for e in version.errors} == {"knees_caving_in"}
        targets = frame_targets(version, version.num_frames)
        label = version.errors[0]
        side = OUTPUTS.index(f"{label.segment.split('_')[0]}_caving")
        assert targets[label.start_frame : label.end_frame, side].all()
        assert (
            targets[:, [OUTPUTS.index("left_over_toes"), OUTPUTS.index("right_over_toes")]].sum()
            == 0
        )


def test_a_filmed_real_example_labels_the_caving_outputs_only():
    clip = injected_versions(_squat(), np.random.default_rng(1), 1)[0]
    example = filmed_example(clip, 2, seed=0, profile="phone-v1", source="take")
    assert example.encoded.shape == (clip.num_frames, INPUTS)  # 30 fps in and out
    assert example.targets.shape == (clip.num_frames, len(OUTPUTS))
    np.testing.assert_array_equal(example.labelled, REAL_OUTPUT_MASK)
    assert REAL_OUTPUT_MASK.sum() == 2 and example.source == "take"


def test_view_bands_wrap_around():
    assert [view_band(y) for y in (0, -29, 31, 149, 150, 180, -170, 350)] == [
        "front",
        "front",
        "side",
        "side",
        "back",
        "back",
        "back",
        "front",
    ]
