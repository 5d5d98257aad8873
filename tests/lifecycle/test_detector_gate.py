"""The detector's gate: a detector that flags everything is kept out."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

import lab.feedback
from coach_cli.main import app
from lifecycle import registry
from scoring.detector import FormErrorDetector
from synthetic_data.clip import CLIP_SUFFIX, write_clip
from synthetic_data.errors import ErrorPlan
from synthetic_data.generator import ClipRequest, generate_clip


@pytest.mark.slow
def test_a_detector_that_flags_everything_fails_the_gate(mlflow_store, tmp_path):
    clips = tmp_path / "clips"
    for seed, errors in enumerate([[], [], [ErrorPlan("knees_caving_in", 1.0, "left", 0, 1)]]):
        clip = generate_clip(
            ClipRequest(seed=900 + seed, movement="squat", num_reps=3, errors=errors)
        )
        write_clip(clip, clips / f"{clip.clip_id}{CLIP_SUFFIX}")
    runner = CliRunner()
    assert runner.invoke(app, ["models", "seed"]).exit_code == 0
    champion = registry.fetch("detector", "champion")
    trigger_happy = tmp_path / "trigger-happy"
    trigger_happy.mkdir()
    shutil.copy(champion.file("population.json"), trigger_happy / "population.json")
    detector = FormErrorDetector.load(champion.file("population.detector.npz"))
    for by_kind in detector.models.values():
        for model in by_kind.values():
            model.threshold = 0.0  # every repetition flagged
    detector.save(trigger_happy / "population.detector.npz")
    runner.invoke(app, ["models", "register", "--kind", "detector", "--folder", trigger_happy])

    options = ["--clips", clips, "--no-real", "--out", tmp_path / "gate"]
    result = runner.invoke(
        app, [str(a) for a in ["models", "promote", "--kind", "detector", "--version", 2, *options]]
    )
    assert result.exit_code == 1, result.output
    report = json.loads((tmp_path / "gate" / "report.json").read_text())
    failing = {row["figure"] for row in report["rows"] if not row["passed"]}
    assert "synthetic.ground-truth.false_alarm_rate" in failing
    assert "false_alarm_rate" in result.stderr
    assert registry.alias_version("detector", "champion") == "1"


@pytest.mark.slow  # seeds the registry (its database's migrations take seconds)
def test_a_detector_that_drops_what_users_confirmed_fails_the_gate(
    mlflow_store, tmp_path, monkeypatch
):
    """--feedback measures both detectors on the users' verdicts (lab.feedback, here
    replaced by figures per version: version 1 keeps every confirmed cue, 2 half)."""
    verdicts = tmp_path / "feedback"
    verdicts.mkdir()
    measured = []

    def figures(population_json, units_dir):
        measured.append((population_json.parent.name, units_dir))
        return {"feedback.right_kept": 1.0 if population_json.parent.name == "1" else 0.5}

    monkeypatch.setattr(lab.feedback, "feedback_figures", figures)
    runner = CliRunner()
    assert runner.invoke(app, ["models", "seed"]).exit_code == 0
    champion = registry.fetch("detector", "champion")
    runner.invoke(app, ["models", "register", "--kind", "detector", "--folder", champion.folder])

    options = ["--clips", tmp_path / "none", "--no-real", "--out", tmp_path / "gate"]
    command = ["models", "promote", "--kind", "detector", "--version", 2, *options]
    result = runner.invoke(app, [str(a) for a in [*command, "--feedback", verdicts]])
    assert result.exit_code == 1, result.output
    assert sorted(measured) == [("1", verdicts), ("2", verdicts)]
    assert "feedback.right_kept" in result.stderr
    assert registry.alias_version("detector", "champion") == "1"
    refused = runner.invoke(
        app, ["models", "gate", "--kind", "knee-net", "--version", "1", "--feedback", verdicts]
    )
    assert refused.exit_code == 2 and "only detectors" in refused.output
