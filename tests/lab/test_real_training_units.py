"""Real-motion training units: bodies, trainers, labels and takes kept together."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from lab import real_scoring_eval, real_training_units
from lab.real_exercise import RealSession, squat_depth_share
from lab.real_scoring_eval import ERRORS_PER_KIND, VIEWS
from lab.real_training_units import TRAINERS, body_variants, real_units
from pose3d.lifter import Lifter
from scoring import PopulationModel, PoseSource
from synthetic_data.generator import ClipRequest, generate_clip
from synthetic_data.real_errors import REAL_ERROR_SIDES
from tests.lab.conftest import heels_lifted


def _session(seed: int, take: str) -> RealSession:
    """A simulated squat standing in for a real training take (train split)."""
    clip = generate_clip(ClipRequest(seed=seed, movement="squat", num_reps=2, errors=[]))
    body = replace(clip.body, body_id="cmu_014", extra={"split": "train"})
    clip = replace(clip, body=body, cameras=[], clip_id=f"cmu_014-{take}-squat")
    return RealSession(clip, squat_depth_share(clip.joints, clip.reps))


def test_body_variants_keep_the_performance_and_its_split_on_new_bodies():
    session = _session(1, "14_06")
    variants = body_variants(session, np.random.default_rng(0), 3)
    assert variants[0] is session and len(variants) == 4
    heights = set()
    for variant in variants[1:]:
        assert variant.clip.reps == session.clip.reps
        assert variant.split == "train" and variant.person == session.person
        assert variant.depth.shape == session.depth.shape and variant.depth.max() == 1.0
        heights.add(round(float(variant.clip.joints[..., 1].max()), 2))
    assert len(heights) == 3  # three different bodies


@pytest.mark.slow
def test_every_clip_is_scored_against_both_trainers_from_both_sources(monkeypatch):
    # the first take's capture lifts the heels past the coach's standard, as 14_06's does
    sessions = [heels_lifted(_session(1, "14_06"), 0.6), _session(2, "14_14")]
    monkeypatch.setattr(real_training_units, "training_sessions", lambda root, manifest: sessions)
    monkeypatch.setattr(real_training_units, "BODIES_PER_SESSION", 0)
    monkeypatch.setattr(real_training_units, "SEEDS", (101,))
    units = real_units(None, None, Lifter.for_recordings(), PopulationModel.load())
    kinds = [k for k in ("rounded_back", "knees_caving_in", "shallow_squat", "heels_lifting")]
    assert all(k in REAL_ERROR_SIDES for k in kinds)
    per_session = (VIEWS + ERRORS_PER_KIND * len(kinds)) * len(TRAINERS)
    assert len(units.take) == 2 * per_session
    np.testing.assert_array_equal(units.take, np.repeat([0, 1], per_session))
    assert units.takes == ["cmu_014-14_06-squat", "cmu_014-14_14-squat"]
    for source in PoseSource:
        dataset = units.datasets[source]
        # the heel-lifting take's unperturbed views carry its heel lifts: not correct
        np.testing.assert_array_equal(np.flatnonzero(dataset.correct) // per_session, 1)
        assert dataset.correct.sum() == VIEWS * len(TRAINERS)
        for kind in kinds:
            found = dataset.kinds[kind]
            assert found.present.sum() > 0  # injected errors are labelled on their units
            assert not found.present[dataset.correct[found.clip]].any()  # none on correct
        heels = dataset.kinds["heels_lifting"]
        first_views = heels.clip[heels.present] % per_session
        assert (first_views[heels.clip[heels.present] < per_session] < VIEWS).any()
    summary = units.summary()
    assert summary["clips"] == len(units.take) and summary["correct_clips"] == VIEWS * 2


def test_the_cached_units_follow_the_code_that_injects_and_labels(tmp_path, monkeypatch):
    lifter, population = Lifter.for_recordings(), PopulationModel.load()
    key = real_training_units.real_units_key(tmp_path, lifter, population)
    assert real_training_units.real_units_key(tmp_path, lifter, population) == key
    edited = tmp_path / "real_scoring_eval.py"
    edited.write_text(Path(real_scoring_eval.__file__).read_text() + "\n# a new label rule\n")
    monkeypatch.setattr(real_scoring_eval, "__file__", str(edited))
    assert real_training_units.real_units_key(tmp_path, lifter, population) != key
