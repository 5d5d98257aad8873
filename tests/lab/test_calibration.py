"""Decision thresholds calibrated on labelled clips (coach fit-scoring --validation)."""

import pytest

from lab.calibration import CONFIDENCE_SCALES, SEVERITY_SCALES, Z_SCALES, calibrate_thresholds
from scoring import ObservedSession, PopulationModel, Reference, score_session
from synthetic_data.clip import write_clip
from synthetic_data.errors import ErrorPlan
from synthetic_data.generator import ClipRequest, generate_clip, trainer_clip


def _squat_reference() -> Reference:
    trainer = trainer_clip("squat")
    return Reference.from_poses(trainer.h36m17(), trainer.fps, "squat")


def _squat(seed: int, *errors: ErrorPlan):
    """A user's 3-rep squat clip with the given errors."""
    return generate_clip(ClipRequest(seed=seed, movement="squat", num_reps=3, errors=list(errors)))


@pytest.mark.slow
def test_calibration_picks_thresholds_that_find_errors_without_alarms(tmp_path):
    error = ErrorPlan("rounded_back", 0.9, "both", 1, 2)
    clips = [_squat(seed, error) if seed % 2 else _squat(seed) for seed in range(4)]
    for seed, clip in enumerate(clips):
        write_clip(clip, tmp_path / f"squat-{seed}.clip.npz")
    thresholds = calibrate_thresholds(tmp_path, PopulationModel({}, 0))
    assert set(thresholds) == {"exact", "lifted"}
    z_scale, severity_scale, confidence_scale = thresholds["exact"]["rounded_back"]
    assert z_scale in Z_SCALES and severity_scale in SEVERITY_SCALES
    assert confidence_scale in CONFIDENCE_SCALES
    # The chosen thresholds find both gross errors and stay silent on the correct clips.
    model = PopulationModel({}, 0, thresholds)
    reference = _squat_reference()
    for seed, clip in enumerate(clips):
        found = score_session(
            ObservedSession(clip.h36m17(), clip.fps), reference, population=model
        ).errors
        assert bool(found) == bool(seed % 2), (seed, [(e.kind, e.segment) for e in found])
