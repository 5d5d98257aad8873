"""The population model of form tolerance fitted on correct sessions (coach fit-scoring)."""

from lab.population_fitting import fit_population
from scoring import Reference
from scoring.checks import ROUNDED_BACK, SHALLOW
from synthetic_data.generator import ClipRequest, generate_clip, trainer_clip


def _squat_reference() -> Reference:
    trainer = trainer_clip("squat")
    return Reference.from_poses(trainer.h36m17(), trainer.fps, "squat")


def _squat(seed: int):
    """A user's correct 3-rep squat clip."""
    return generate_clip(ClipRequest(seed=seed, movement="squat", num_reps=3, errors=[]))


def test_fitted_population_measures_natural_shortfall():
    reference = _squat_reference()
    sessions = [(reference, clip.h36m17(), clip.fps, None) for clip in map(_squat, range(6))]
    model = fit_population(sessions)
    natural = model.natural_shortfall("squat", SHALLOW)
    assert natural is not None and 0.0 <= natural < 0.6
    assert model.natural_shortfall("squat", ROUNDED_BACK) is None  # not a range check
