"""Training the knee-error network: frame targets, mirroring, learning caving knees."""

import numpy as np
import pytest

from lab.knee_net_real import REAL_OUTPUT_MASK
from lab.knee_net_training import (
    ALL_OUTPUTS,
    KneeExample,
    KneeNetTraining,
    _batch,
    clip_examples,
    frame_targets,
    mirrored,
    train_knee_net,
)
from scoring.knee_net import INPUTS, JOINTS, OUTPUTS, KneeNetConfig
from synthetic_data.clip import CLIP_SUFFIX, write_clip
from synthetic_data.errors import ErrorPlan
from synthetic_data.generator import ClipRequest, generate_clip


def _squat(seed: int, errors: list[ErrorPlan] | None = None):
    return generate_clip(ClipRequest(seed=seed, movement="squat", num_reps=3, errors=errors))


def _caving(severity: float = 1.0) -> list[ErrorPlan]:
    return [ErrorPlan("knees_caving_in", severity, "left", 0, 2)]


def test_frame_targets_follow_the_labels_per_knee():
    clip = _squat(5, _caving())
    targets = frame_targets(clip, clip.num_frames)
    label = next(e for e in clip.errors if e.kind == "knees_caving_in")
    left = OUTPUTS.index("left_caving")
    assert targets[label.start_frame : label.end_frame, left].all()
    assert targets[:, left].sum() == sum(
        e.end_frame - e.start_frame for e in clip.errors if e.segment == "left_leg"
    )
    assert targets[:, OUTPUTS.index("right_caving")].sum() == 0


def test_a_mirrored_session_swaps_the_knees_and_mirrors_back():
    rng = np.random.default_rng(0)
    encoded = rng.normal(size=(20, INPUTS)).astype(np.float32)
    targets = np.zeros((20, len(OUTPUTS)), np.float32)
    targets[:, OUTPUTS.index("left_caving")] = 1
    flipped, flipped_targets = mirrored(encoded, targets)
    assert flipped_targets[:, OUTPUTS.index("right_caving")].all()
    right_knee_x = 2 * JOINTS.index("right_knee")
    np.testing.assert_allclose(flipped[:, right_knee_x], -encoded[:, 2 * JOINTS.index("left_knee")])
    back, back_targets = mirrored(flipped, flipped_targets)
    np.testing.assert_allclose(back, encoded)
    np.testing.assert_array_equal(back_targets, targets)


@pytest.mark.slow  # over 3 s: the fast tier stays under 2 min
def test_training_learns_caving_knees_from_the_landmarks(tmp_path):
    # Gross caving on the left knee in half the clips: a few epochs must lower the loss
    # and rank the caving frames of clips it did not train on above the others.
    for seed in range(24):
        clip = _squat(100 + seed, _caving() if seed % 2 else [])
        write_clip(clip, tmp_path / f"{clip.clip_id}{CLIP_SUFFIX}")
    # Filmed from the front: what is checked here is the learning, on a tiny network.
    settings = KneeNetTraining(
        epochs=4, batch=8, crop=81, held_out_share=0.25, views=2, coverage="front"
    )
    network = train_knee_net([tmp_path], settings, KneeNetConfig(channels=16, dilations=(1, 3, 9)))
    losses = [epoch["loss"] for epoch in network.info["history"]]
    assert losses[-1] < losses[0]
    assert network.info["held_out_auc"]["left_caving"] > 0.7
    with pytest.raises(ValueError, match="at least 2 clip files"):
        train_knee_net([tmp_path / "empty"])


def test_clips_are_filmed_from_around_the_person_when_asked():
    clip = _squat(7, _caving())
    front = clip_examples(clip, 2, 3)
    around = clip_examples(clip, 2, 3, "anywhere")
    assert len(around) == 2 and around[0][0].shape == front[0][0].shape
    np.testing.assert_array_equal(around[0][1], front[0][1])  # the same labels
    assert not np.allclose(around[0][0], front[0][0])  # another camera
    with pytest.raises(ValueError, match="coverage"):
        clip_examples(clip, 1, 3, "above")


def test_a_real_take_trains_only_the_outputs_it_labels():
    # A real take labels the caving outputs only: its knee-over-toes outputs get no
    # weight, mirrored or not; a simulated clip's every output does; padding none.
    rng = np.random.default_rng(0)
    frames = 30
    encoded = rng.normal(size=(frames, INPUTS)).astype(np.float32)
    targets = np.zeros((frames, len(OUTPUTS)), np.float32)
    real = KneeExample(encoded, targets, REAL_OUTPUT_MASK, "take-k0")
    simulated = KneeExample(encoded, targets, ALL_OUTPUTS, "clip")
    _, _, weight = _batch([real] * 16 + [simulated], range(17), 40, rng)
    toes = [OUTPUTS.index("left_over_toes"), OUTPUTS.index("right_over_toes")]
    caving = [OUTPUTS.index("left_caving"), OUTPUTS.index("right_caving")]
    assert weight.shape == (17, len(OUTPUTS), 40)
    assert weight[:16, toes].sum() == 0 and (weight[:16, caving, :frames] == 1).all()
    assert (weight[16, :, :frames] == 1).all() and weight[:, :, frames:].sum() == 0
