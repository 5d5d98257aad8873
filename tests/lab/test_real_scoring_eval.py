"""`coach evaluate-scoring-real`: injected real sessions, scored every way, reported."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from typer.testing import CliRunner

from coach_cli.main import app
from lab import real_scoring_eval
from lab.clips import clip_performance, reference_from
from lab.real_exercise import RealSession, capture_heel_labels, squat_depth_share
from lab.real_scoring_eval import (
    CAPTURE_HEELS,
    ERRORS_PER_KIND,
    EVERY_TAKE_CORRECT,
    LIVE_SOURCE,
    PRODUCT_SOURCE,
    TEST_GROUP,
    VIEWS,
    RealResults,
    injected_clip,
    labelled_clips,
    lifted_reference,
    score_session_clips,
    with_capture_heels,
)
from lab.real_scoring_report import write_report
from pose3d.lifter import Lifter
from scoring.checks import squat_depth
from scoring.features import compute_features
from scoring.live import LiveModels
from synthetic_data.body import J
from synthetic_data.cameras import clip_camera_yaw_deg
from synthetic_data.clip import ErrorLabel
from synthetic_data.errors import ErrorPlan
from synthetic_data.generator import ClipRequest, generate_clip
from synthetic_data.movements import MOVEMENTS
from tests.lab.conftest import heels_lifted


def _session(seed: int, person: str) -> RealSession:
    """A simulated squat standing in for a real one (a held-out person)."""
    clip = generate_clip(ClipRequest(seed=seed, movement="squat", num_reps=3, errors=[]))
    body = replace(clip.body, body_id=person, extra={"split": "test"})
    clip = replace(clip, body=body, cameras=[], clip_id=f"{person}-squat")
    return RealSession(clip, squat_depth_share(clip.joints, clip.reps))


def test_each_session_is_seen_correct_from_all_round_and_with_each_kind_injected():
    session = _session(1, "ann")
    clips = labelled_clips(session, seed=0)
    kinds = MOVEMENTS["squat"].error_kinds
    assert len(clips) == VIEWS + ERRORS_PER_KIND * len(kinds)
    correct, injected = clips[:VIEWS], clips[VIEWS:]
    assert all(not clip.errors for clip in correct)
    yaws = [float(np.median(clip_camera_yaw_deg(c, c.cameras[0]))) for c in correct]
    assert np.ptp(np.unwrap(np.radians(sorted(yaws)))) > np.radians(180)  # all round
    for clip in injected:
        assert clip.errors and {label.kind for label in clip.errors} <= set(kinds)
        assert clip.num_frames == session.clip.num_frames
    assert {e.kind for c in injected for e in c.errors} == set(kinds)


def test_a_squat_raised_but_still_deep_enough_is_no_shallow_squat(monkeypatch):
    session = _session(1, "ann")
    first = slice(*session.clip.reps[0])
    bottom = squat_depth(compute_features(session.clip.h36m17()))[first].max()
    plan = ErrorPlan("shallow_squat", 0.3, "hips", 0, 0)
    raised = injected_clip(session, plan, "raised")
    assert raised.errors  # the simulated squat raised by 30% is above the 120-deg floor
    raised_bottom = squat_depth(compute_features(raised.h36m17()))[first].max()
    assert raised_bottom < bottom - 5
    # A floor below the raised squat's depth: that squat is deep enough, so no error ...
    monkeypatch.setattr(real_scoring_eval, "DEEP_ENOUGH_KNEE_FLEXION_DEG", raised_bottom - 5)
    still_deep = injected_clip(session, plan, "still-deep")
    assert not still_deep.errors
    np.testing.assert_array_equal(still_deep.joints, raised.joints)  # ... though it moved
    # ... and the evaluation leaves such draws out: every injected clip it keeps is labelled.
    clips = labelled_clips(session, seed=0)
    assert len(clips) < VIEWS + ERRORS_PER_KIND * len(MOVEMENTS["squat"].error_kinds)
    assert all(clip.errors for clip in clips[VIEWS:])
    for clip in clips:
        depth = squat_depth(compute_features(clip.h36m17()))
        for label in (e for e in clip.errors if e.kind == "shallow_squat"):
            assert depth[label.start_frame : label.end_frame].max() < raised_bottom - 5


def test_heel_lifts_in_the_capture_itself_are_labelled_on_both_legs():
    flat = _session(1, "ann")
    assert capture_heel_labels(flat) == []
    lifted = capture_heel_labels(heels_lifted(flat, 0.6))  # 15 deg: the coach cues that
    assert [label.segment for label in lifted] == ["left_leg", "right_leg"] * len(flat.clip.reps)
    for label, (start, end) in zip(lifted[::2], flat.clip.reps, strict=True):
        assert start <= label.start_frame < label.end_frame <= end
        assert label.kind == "heels_lifting" and label.severity == pytest.approx(0.6, abs=0.05)
    # 10 deg is below where the coach's heel rule cues: not an error by its own standard
    assert capture_heel_labels(heels_lifted(flat, 0.4)) == []
    # one foot pitching up alone is not a heel lift (a squat lifts both heels)
    one_foot = heels_lifted(flat, 1.0).clip.joints.copy()
    right_foot = [J["right_toe"], J["right_heel"], J["right_ankle"]]
    one_foot[:, right_foot] = flat.clip.joints[:, right_foot]
    assert capture_heel_labels(replace(flat, clip=replace(flat.clip, joints=one_foot))) == []


def test_capture_heel_lifts_join_the_injected_labels_once():
    clip = _session(1, "ann").clip
    back = ErrorLabel("rounded_back", "spine", 10, 40, 0.5)
    injected = ErrorLabel("heels_lifting", "left_leg", 40, 70, 0.3)
    clip = replace(clip, errors=[back, injected])
    capture = [
        ErrorLabel("heels_lifting", "left_leg", 30, 50, 0.6),
        ErrorLabel("heels_lifting", "right_leg", 30, 50, 0.6),
        ErrorLabel("heels_lifting", "left_leg", 100, 120, 0.6),
    ]
    labels = with_capture_heels(clip, capture).errors
    assert back in labels
    heels = sorted((e.segment, e.start_frame, e.end_frame, e.severity) for e in labels[1:])
    assert heels == [
        ("left_leg", 30, 70, 0.6),  # the heels rise once, over both spans
        ("left_leg", 100, 120, 0.6),
        ("right_leg", 30, 50, 0.6),
    ]
    assert with_capture_heels(replace(clip, errors=[]), []).errors == []


@pytest.mark.slow
def test_sessions_are_scored_every_way_and_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(real_scoring_eval, "ERRORS_PER_KIND", 2)  # a few of each kind
    user, trainer = _session(1, "ann"), _session(2, "bob")
    lifter = Lifter.for_recordings()
    exact = reference_from(clip_performance(trainer.clip), "squat")
    lifted = lifted_reference(trainer.clip, lifter, 0)  # as the product makes a routine
    # the trainer's own motion, seen through the phone and the lifter: the same squat
    assert lifted.poses.shape == exact.poses.shape and not np.allclose(lifted.poses, exact.poses)
    depths = [squat_depth(r.features).max() for r in (lifted, exact)]
    assert abs(depths[0] - depths[1]) < 20.0, depths
    results = RealResults()
    deciders = {"rules only": None}
    references = {"exact": exact, "lifted": lifted}
    live = LiveModels(Lifter.from_checkpoint(), lifter, None)  # streamed as a phone would
    score_session_clips(user, references, deciders, lifter, 0, results, live)
    summaries = results.summaries()
    # a simulated squat keeps its heels down: both labellings count the same correct views
    assert results.summaries(EVERY_TAKE_CORRECT) == summaries
    labels = {}
    for source in ("ground-truth 3D", "lifted from phone 2D", PRODUCT_SOURCE, LIVE_SOURCE):
        result = summaries[TEST_GROUP][source]["rules only"]
        assert result["correct_clips"] == VIEWS
        labels[source] = sum(m["labels"] for m in result["per_kind"].values())
        assert labels[source] > 0
    # live, the labels after the last reported repetition come with the summary: not counted
    assert labels[LIVE_SOURCE] <= labels[PRODUCT_SOURCE]
    assert len(results.rep_rows) == VIEWS
    assert all(row["true"] == 3 for row in results.rep_rows)
    headline = (TEST_GROUP, "lifted from phone 2D", "learned detector + rules")
    assert len(results.squat_rows) == 2 * VIEWS  # each correct view, both pose sources
    exact_rows = [r for r in results.squat_rows if r["source"] == "ground-truth 3D"]
    assert all(r["bottom_seen_deg"] == r["bottom_exact_deg"] for r in exact_rows)
    rows = {"repetitions": results.rep_rows, "squats": results.squat_rows}
    both = {CAPTURE_HEELS: summaries, EVERY_TAKE_CORRECT: summaries}
    report = write_report(tmp_path, both, rows, [user], Lifter.for_recordings(), None,
                          headline=headline)  # fmt: skip
    text = report.read_text()
    assert f"## The same clips, {EVERY_TAKE_CORRECT}" in text
    assert "| macro F1 |" not in text  # the headline needs the learned detector's figures
    assert "Repetition counting" in text and "do not cover" in text and LIVE_SOURCE in text
    assert "heel cues against the capture's own heels" in text
    assert "| recall, gross (0.8-1) |" in text  # which severities are found, per kind
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["labelling"] == CAPTURE_HEELS and metrics["groups"] == summaries
    assert metrics["other_labellings"] == {EVERY_TAKE_CORRECT: summaries}
    assert "another real person's take" in text
    own = write_report(tmp_path / "own", both, rows, [user], Lifter.for_recordings(), None,
                       headline=headline, trainer="own-take")  # fmt: skip
    assert "the same person's other take" in own.read_text()


def test_an_unknown_trainer_choice_is_refused_by_name():
    result = CliRunner().invoke(app, ["evaluate-scoring-real", "--trainer", "nobody", "--no-track"])
    assert result.exit_code != 0 and "--trainer" in result.output and "own-take" in result.output
