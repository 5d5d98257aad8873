"""Users' verdicts as detector units (lab.feedback): labels from the verdict, weights in
the fit, a detector measured on the verdicts, and coach fit-scoring --feedback."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from coach_cli.main import app as coach_app
from lab import scoring_eval
from lab.detector_fitting import fit_kind
from lab.detector_training import KindUnits, trace_sources, with_feedback
from lab.feedback import feedback_dataset, feedback_figures, load_feedback
from lifecycle.bundled import bundled_folder
from pose3d.lifter import Lifter
from pose3d.sequence_json import parse_sequence
from scoring import FEATURE_NAMES, PopulationModel
from scoring.detector import FormErrorDetector, feature_names
from scoring.evidence import MOVEMENTS
from scoring.exported import Cue, ExportedSession, FeedbackUnit, RoutineMotion, feedback_bytes
from scoring.stored_motion import Motion
from synthetic_data.detector import phone_json
from synthetic_data.errors import ErrorPlan
from synthetic_data.generator import ClipRequest, generate_clip, trainer_clip

KIND = "rounded_back"


def _unit(key: str, clip, cue: Cue, verdict: str, routine: RoutineMotion) -> FeedbackUnit:
    session = ExportedSession(
        key=f"s-{key}",
        sequence=parse_sequence(phone_json(clip, seed=1)),
        beat_times=None,
        routine=routine,
        strictness="intermediate",
        score=50.0,
        cues=[cue],
    )
    return FeedbackUnit(key, session, cue, verdict)


@pytest.fixture(scope="module")
def units_dir(tmp_path_factory):
    """A confirmed rounded back (where the simulator put one) and a rejected rounded-back
    cue on a correct squat, as coach-api export-feedback writes them."""
    folder = tmp_path_factory.mktemp("feedback")
    trainer = trainer_clip("squat")
    routine = RoutineMotion(Motion(trainer.h36m17(), trainer.fps), "squat")
    bad = generate_clip(
        ClipRequest(
            seed=3, movement="squat", num_reps=3, errors=[ErrorPlan(KIND, 0.9, "both", 1, 1)]
        )
    )
    (label,) = bad.errors
    confirmed = Cue(
        KIND, label.segment, label.start_frame / bad.fps, label.end_frame / bad.fps, 0.8
    )
    good = generate_clip(ClipRequest(seed=5, movement="squat", num_reps=3, errors=[]))
    third = good.num_frames / good.fps / 3
    rejected = Cue(KIND, label.segment, third, 2 * third, 0.4)
    for unit in (
        _unit("right", bad, confirmed, "right", routine),
        _unit("wrong", good, rejected, "wrong", routine),
    ):
        (folder / f"feedback-{unit.key}.npz").write_bytes(feedback_bytes(unit))
    return folder


def _detector_folder(folder, threshold: float, min_confidence: float):
    """The bundled detector with the lifted rounded-back model's threshold and minimum
    confidence set ((0, 0): it flags every unit)."""
    bundled_folder("detector", folder)
    detector = FormErrorDetector.load(folder / "population.detector.npz")
    model = detector.models["lifted"][KIND]
    model.threshold, model.min_confidence = threshold, min_confidence
    detector.save(folder / "population.detector.npz")
    return folder / "population.json"


@pytest.mark.slow
def test_verdicts_become_units_of_their_kind_with_their_label(units_dir):
    units = load_feedback(units_dir)
    assert sorted(u.verdict for u in units) == ["right", "wrong"]
    dataset = feedback_dataset(units, Lifter.for_recordings(), PopulationModel.load())
    assert set(dataset) == {KIND}
    found = dataset[KIND]
    columns = feature_names(trace_sources(KIND), MOVEMENTS, FEATURE_NAMES)
    assert found.rows.shape[1] == len(columns) and len(found.present) >= 2
    by_verdict = {u.verdict: index for index, u in enumerate(units)}
    right, wrong = found.clip == by_verdict["right"], found.clip == by_verdict["wrong"]
    assert right.any() and wrong.any() and (right | wrong).all()
    assert (found.present[right] == 1).all() and (found.present[wrong] == 0).all()
    assert np.allclose(found.severity[right], 0.8) and (found.severity[wrong] == 0).all()


@pytest.mark.slow
def test_feedback_figures_measure_a_detector_on_the_verdicts(units_dir, tmp_path):
    eager = feedback_figures(_detector_folder(tmp_path / "eager", 0.0, 0.0), units_dir)
    assert eager == {
        "feedback.units": 2.0,
        "feedback.right_kept": 1.0,  # it flags the confirmed cue
        "feedback.wrong_dropped": 0.0,  # and the rejected one
    }


@pytest.mark.slow  # four small boosted fits (~5 s)
def test_weighted_verdicts_overrule_the_simulated_units_near_them():
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(300, 3))
    present = (rows[:, 0] > 0).astype(int)
    units = KindUnits(rows, present, present * 0.5, np.arange(300) // 10)
    verdicts = KindUnits(np.full((20, 3), 1.5), np.zeros(20, dtype=int), np.zeros(20), np.zeros(20))
    assert with_feedback(units, None, 5.0)[3] is None  # no verdicts: the plain fit
    merged = with_feedback(units, verdicts, 50.0)
    assert merged[0].shape == (320, 3) and merged[3].tolist() == [1.0] * 300 + [50.0] * 20
    columns = ["a", "b", "c"]
    plain = fit_kind(rows, present, present * 0.5, columns)
    taught = fit_kind(*merged[:3], columns, "", merged[3])
    probe = np.full((1, 3), 1.5)
    assert plain.classifier.raw(probe)[0] > 0 > taught.classifier.raw(probe)[0]  # logits
    with pytest.raises(ValueError, match="weight"):
        with_feedback(units, verdicts, 0.0)
    with pytest.raises(ValueError, match="features"):
        with_feedback(units, KindUnits(np.zeros((1, 2)), *np.zeros((3, 1))), 1.0)


@pytest.mark.slow  # fits detectors
def test_fit_scoring_takes_feedback_only_with_the_detector(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="--training"):
        scoring_eval.fit_scoring(6, 0, feedback=tmp_path)
    calls = []
    monkeypatch.setattr(scoring_eval, "fit_scoring", lambda *a: calls.append(a) or tmp_path)
    argv = ["fit-scoring", "--feedback", str(tmp_path), "--feedback-weight", "3"]
    done = CliRunner().invoke(coach_app, [*argv, "--training", str(tmp_path)])
    assert done.exit_code == 0, done.output
    # feedback, its weight, no real motion, no posture or stance variation
    assert calls[0][-5:] == (tmp_path, 3.0, None, 0.0, 0.0)
    refused = CliRunner().invoke(coach_app, [*argv[:3], "--feedback-weight", "0"])
    assert refused.exit_code != 0
