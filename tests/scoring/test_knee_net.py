"""The knee-error network: its input encoding, inference, saving, and its training command.

(Its training: tests/lab/test_knee_net_training.py.)"""

import numpy as np
import pytest
import torch

from scoring.knee_net import (
    INPUTS,
    JOINTS,
    OUTPUTS,
    KneeErrorNet,
    KneeNet,
    KneeNetConfig,
    encode,
)
from synthetic_data.clip import CLIP_SUFFIX, write_clip
from synthetic_data.detector import film
from synthetic_data.errors import ErrorPlan
from synthetic_data.generator import ClipRequest, generate_clip


def _squat(seed: int, errors: list[ErrorPlan] | None = None):
    return generate_clip(ClipRequest(seed=seed, movement="squat", num_reps=3, errors=errors))


def _caving(severity: float = 1.0) -> list[ErrorPlan]:
    return [ErrorPlan("knees_caving_in", severity, "left", 0, 2)]


def _tiny_net(seed: int = 0) -> KneeNet:
    torch.manual_seed(seed)
    return KneeNet(KneeErrorNet(KneeNetConfig(channels=8, dilations=(1, 3))).eval(), {})


def test_the_encoding_ignores_where_the_person_stands_and_how_large_they_look():
    seen = film(_squat(1), _squat(1).cameras[0], np.random.default_rng(0), layout="mediapipe33")
    encoded = encode(seen.keypoints, seen.scores)
    assert encoded.shape == (len(seen.keypoints), INPUTS) and np.isfinite(encoded).all()
    moved = encode(seen.keypoints * 1.7 + np.array([120.0, -40.0]), seen.scores)
    np.testing.assert_allclose(moved, encoded, atol=1e-4)


def test_unseen_joints_are_filled_in_time_and_carry_no_confidence():
    seen = film(_squat(1), _squat(1).cameras[0], np.random.default_rng(0), layout="mediapipe33")
    keypoints = seen.keypoints.copy()
    keypoints[10:20, 25] = np.nan  # left knee hidden for ten frames
    encoded = encode(keypoints, seen.scores)
    knee = JOINTS.index("left_knee")
    assert np.isfinite(encoded).all()
    assert (encoded[10:20, 2 * len(JOINTS) + knee] == 0).all()
    assert (encoded[:10, 2 * len(JOINTS) + knee] > 0).all()


def test_a_session_without_shoulders_or_hips_gives_finite_unsure_input():
    seen = film(_squat(1), _squat(1).cameras[0], np.random.default_rng(0), layout="mediapipe33")
    keypoints = seen.keypoints.copy()
    keypoints[:, 11:13] = np.nan  # the shoulders never seen
    keypoints[:, 23:25] = np.nan  # nor the hips
    encoded = encode(keypoints, seen.scores)
    assert np.isfinite(encoded).all()
    for joint in ("left_shoulder", "right_shoulder", "left_hip", "right_hip"):
        assert (encoded[:, 2 * len(JOINTS) + JOINTS.index(joint)] == 0).all()


def test_probabilities_come_per_frame_at_the_sessions_own_rate():
    clip = generate_clip(ClipRequest(seed=3, movement="squat", num_reps=2, fps=60.0))
    seen = film(clip, clip.cameras[0], np.random.default_rng(0), layout="mediapipe33")
    probabilities = _tiny_net().probabilities(seen.keypoints, seen.scores, 60.0)
    assert set(probabilities) == set(OUTPUTS)
    for values in probabilities.values():
        assert values.shape == (len(seen.keypoints),)
        assert ((values >= 0) & (values <= 1)).all()


def test_wrong_keypoint_layouts_are_refused():
    with pytest.raises(ValueError, match=r"\(T, 33, 2\)"):
        _tiny_net().probabilities(np.zeros((30, 17, 2)), np.ones((30, 17)), 30.0)


def test_a_saved_network_gives_the_same_probabilities(tmp_path):
    clip = _squat(4)
    seen = film(clip, clip.cameras[0], np.random.default_rng(0), layout="mediapipe33")
    network = _tiny_net()
    loaded = KneeNet.load(network.save(tmp_path / "knee.pt"))
    assert (tmp_path / "knee.json").is_file()  # what it was trained on, readable
    before = network.probabilities(seen.keypoints, seen.scores, clip.fps)
    after = loaded.probabilities(seen.keypoints, seen.scores, clip.fps)
    for name in OUTPUTS:  # weights are stored as float16
        np.testing.assert_allclose(after[name], before[name], atol=5e-3)
    assert KneeNet.load(tmp_path / "missing.pt") is None


@pytest.mark.slow  # trains a network
def test_the_command_writes_the_network_its_record_and_its_training_curve(tmp_path):
    from typer.testing import CliRunner

    from coach_cli.main import app

    clips = tmp_path / "clips"
    for seed in range(6):
        clip = _squat(200 + seed, _caving() if seed % 2 else [])
        write_clip(clip, clips / f"{clip.clip_id}{CLIP_SUFFIX}")
    out = tmp_path / "knee.pt"
    result = CliRunner().invoke(
        app, ["train-knee-net", "--clips", str(clips), "--epochs", "1", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert KneeNet.load(out) is not None
    assert out.with_suffix(".json").is_file() and out.with_suffix(".png").is_file()
    missing = CliRunner().invoke(app, ["train-knee-net", "--clips", str(tmp_path / "none")])
    assert missing.exit_code != 0 and "none" in missing.output
    above = CliRunner().invoke(
        app, ["train-knee-net", "--clips", str(clips), "--coverage", "above", "--out", str(out)]
    )
    assert above.exit_code != 0 and "coverage" in above.output and "above" in above.output


def test_a_population_model_carries_the_knee_network_its_detector_reads():
    """Two population models in one process each read their own network (a champion and
    a challenger scored side by side); without one, the bundled network."""
    from scoring import Landmarks, ObservedSession, PopulationModel, Reference, knee_net
    from scoring.session import session_evidence
    from synthetic_data.generator import trainer_clip

    clip = _squat(2, _caving())
    seen = film(clip, clip.cameras[0], np.random.default_rng(0), layout="mediapipe33")
    observed = ObservedSession(
        clip.h36m17(), clip.fps, landmarks=Landmarks(seen.keypoints, seen.scores)
    )
    trainer = trainer_clip("squat")
    reference = Reference.for_routine(trainer.h36m17(), trainer.fps, "squat")
    key = ("knees_caving_in", "left_leg")

    def rows(population: PopulationModel) -> np.ndarray:
        return session_evidence(observed, reference, population).rows[key]

    first, second = PopulationModel(knee_net=_tiny_net(0)), PopulationModel(knee_net=_tiny_net(1))
    assert PopulationModel().knee_network() is knee_net.bundled()
    assert first.knee_network() is first.knee_net
    assert not np.allclose(rows(first), rows(second))
    np.testing.assert_array_equal(rows(first), rows(PopulationModel(knee_net=_tiny_net(0))))
