"""Per-repetition events and calibrated decision thresholds.

(Choosing the thresholds on labelled clips: tests/lab/test_calibration.py; fitting the
population model on correct sessions: tests/lab/test_population_fitting.py.)"""

import numpy as np

from scoring import (
    ErrorEvent,
    ObservedSession,
    PopulationModel,
    PoseSource,
    Reference,
    score_session,
)
from scoring.population import ThresholdScales
from scoring.session import extend_to_reps
from synthetic_data.errors import ErrorPlan
from synthetic_data.generator import ClipRequest, generate_clip, trainer_clip


def _squat_reference() -> Reference:
    trainer = trainer_clip("squat")
    return Reference.from_poses(trainer.h36m17(), trainer.fps, "squat")


def _squat(seed: int, *errors: ErrorPlan):
    """A user's 3-rep squat clip with the given errors."""
    return generate_clip(ClipRequest(seed=seed, movement="squat", num_reps=3, errors=list(errors)))


def _event(kind, segment, start, end, severity=0.5, confidence=0.9):
    return ErrorEvent(kind, segment, start, end, severity, confidence, "cue")


def test_events_grow_to_their_repetitions_and_merge():
    reps = [(0, 60), (60, 120), (120, 180)]  # frames at 30 fps: 0-2 s, 2-4 s, 4-6 s
    events = [
        _event("shallow_squat", "hips", 1.2, 1.6, severity=0.4),
        _event("shallow_squat", "hips", 1.8, 2.5, severity=0.7, confidence=0.6),
        _event("rounded_back", "spine", 4.5, 4.8),
        _event("off_beat", "timing", 0.5, 0.7),
    ]
    grown = {(e.kind, e.start_s, e.end_s): e for e in extend_to_reps(events, reps, 30.0)}
    assert set(grown) == {
        ("shallow_squat", 0.0, 4.0),  # overlapping once grown to reps 1 and 2: merged
        ("rounded_back", 4.0, 6.0),
        ("off_beat", 0.5, 0.7),  # timing stays where it was
    }
    merged = grown[("shallow_squat", 0.0, 4.0)]
    assert merged.severity == 0.7 and merged.confidence == 0.6
    # Errors in neighbouring repetitions stay one event per repetition.
    apart = [_event("shallow_squat", "hips", 1.0, 1.5), _event("shallow_squat", "hips", 3.0, 3.5)]
    assert [(e.start_s, e.end_s) for e in extend_to_reps(apart, reps, 30.0)] == [
        (0.0, 2.0),
        (2.0, 4.0),
    ]
    assert extend_to_reps(events, [], 30.0) == events  # no repetitions: as they were


def test_population_thresholds_round_trip_and_default_to_one(tmp_path):
    model = PopulationModel({}, 3, {"lifted": {"rounded_back": [0.7, 1.5]}})
    loaded = PopulationModel.load(model.save(tmp_path / "p.json"))
    assert loaded.scales("rounded_back", PoseSource.LIFTED) == ThresholdScales(0.7, 1.5, 1.0)
    assert loaded.scales("rounded_back", PoseSource.EXACT) == ThresholdScales()
    assert loaded.scales("knees_caving_in", PoseSource.LIFTED) == ThresholdScales(1.0, 1.0, 1.0)


def test_calibrated_thresholds_decide_what_is_flagged():
    reference = _squat_reference()
    user = _squat(4, ErrorPlan("rounded_back", 0.6, "both", 1, 2))

    def kinds(thresholds):
        model = PopulationModel({}, 0, thresholds)
        report = score_session(
            ObservedSession(user.h36m17(), user.fps), reference, population=model
        )
        return {e.kind for e in report.errors}

    assert "rounded_back" in kinds({})
    assert "rounded_back" not in kinds({"exact": {"rounded_back": [20.0, 1.0]}})
    assert "rounded_back" not in kinds({"exact": {"rounded_back": [1.0, 4.0]}})
    assert "rounded_back" in kinds({"lifted": {"rounded_back": [20.0, 4.0]}})  # other source


def test_natural_shortfall_from_the_population_decides_what_is_a_stiff_body():
    """A squat shallow on every rep is the user's own range when correct performers fall
    that short too, and an error when they do not."""
    from scoring.checks import SHALLOW
    from scoring.population import check_key

    reference = _squat_reference()
    user = _squat(6, ErrorPlan("shallow_squat", 0.8, "both", 0, 2))

    def flagged(natural: float) -> bool:
        stats = {"squat": {check_key(SHALLOW): {"centre": [0.0] * 10, "spread": [0.0] * 10}}}
        stats["squat"][check_key(SHALLOW)]["natural_shortfall"] = natural
        report = score_session(
            ObservedSession(user.h36m17(), user.fps),
            reference,
            population=PopulationModel(stats, 1),
        )
        return any(e.kind == "shallow_squat" for e in report.errors)

    assert flagged(0.0) and not flagged(0.9)


def test_exact_poses_are_judged_on_exact_statistics(tmp_path):
    from scoring.checks import ROUNDED_BACK
    from scoring.population import check_key

    def stats(spread: float) -> dict:
        return {"squat": {check_key(ROUNDED_BACK): {"centre": [0.0] * 10, "spread": [spread] * 10}}}

    model = PopulationModel(stats(20.0), 1, {}, exact_stats=stats(0.5))
    loaded = PopulationModel.load(model.save(tmp_path / "p.json"))
    bins = np.zeros(3, dtype=int)
    assert list(loaded.spread("squat", ROUNDED_BACK, bins, PoseSource.EXACT)) == [0.5] * 3
    assert list(loaded.spread("squat", ROUNDED_BACK, bins, PoseSource.LIFTED)) == [20.0] * 3
    # A lifted-size tolerance hides a moderate rounded back; the exact one does not.
    reference = _squat_reference()
    user = _squat(4, ErrorPlan("rounded_back", 0.6, "both", 1, 2))
    wide = PopulationModel(stats(20.0), 1)
    assert "rounded_back" not in {
        e.kind
        for e in score_session(
            ObservedSession(user.h36m17(), 30.0), reference, population=wide
        ).errors
    }
    assert "rounded_back" in {
        e.kind
        for e in score_session(
            ObservedSession(user.h36m17(), 30.0), reference, population=loaded
        ).errors
    }
