"""coach dataflow rescore: exported sessions scored by two model sets on the DirectRunner,
their cues matched per kind; the same set twice agrees everywhere, a detector with one
kind's threshold lowered disagrees in that kind only."""

from __future__ import annotations

import json
import shutil

import pytest

from dataflow_jobs.cli import rescore_main
from dataflow_jobs.cue_agreement import kind_rows, merge_tallies, session_tally
from lifecycle.bundled import bundled_folder
from pose3d.sequence_json import parse_sequence
from scoring.cue_matching import match_cues
from scoring.detector import FormErrorDetector
from scoring.exported import Cue, ExportedSession, RoutineMotion, session_bytes
from scoring.stored_motion import Motion
from synthetic_data.detector import phone_json
from synthetic_data.errors import ErrorPlan
from synthetic_data.generator import ClipRequest, generate_clip, trainer_clip

CHANGED_KIND = "rounded_back"


def test_cues_match_by_kind_and_overlap_one_to_one():
    champion = [Cue("rounded_back", "spine", 1.0, 2.0), Cue("rounded_back", "spine", 2.5, 3.0)]
    candidate = [
        Cue("rounded_back", "spine", 1.5, 2.6),  # overlaps both; the larger overlap wins
        Cue("knees_caving_in", "left_leg", 1.0, 2.0),  # another kind never matches
    ]
    pairs, only_a, only_b = match_cues(champion, candidate)
    assert pairs == [(champion[0], candidate[0])]
    assert only_a == [champion[1]] and only_b == [candidate[1]]
    # Nor does another segment; a one-frame cue at a window's end does.
    assert match_cues(champion, [Cue("rounded_back", "neck", 1.0, 2.0)])[0] == []
    touching = Cue("rounded_back", "spine", 3.0, 3.0)
    assert match_cues(champion, [touching])[0] == [(champion[1], touching)]
    tally = merge_tallies(
        [session_tally(champion, candidate, -4.0), session_tally(candidate, candidate, 0.0)]
    )
    rows = {row["kind"]: row for row in kind_rows(tally)}
    assert (rows["rounded_back"]["agreed"], rows["rounded_back"]["only_champion"]) == (2, 1)
    assert rows["rounded_back"]["agreement"] == pytest.approx(2 / 3, abs=1e-4)
    assert rows["knees_caving_in"]["agreement"] == pytest.approx(1 / 2)
    assert rows["all"]["sessions"] == 2 and rows["all"]["mean_score_change"] == -2.0


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Two exported squat sessions (a rounded back, caving knees) against the trainer."""
    folder = tmp_path_factory.mktemp("exported")
    trainer = trainer_clip("squat")
    routine = RoutineMotion(Motion(trainer.h36m17(), trainer.fps), "squat")
    for seed, error in ((3, "rounded_back"), (4, "knees_caving_in")):
        clip = generate_clip(
            ClipRequest(
                seed=seed,
                movement="squat",
                num_reps=3,
                errors=[ErrorPlan(error, 0.8, "both", 1, 1)],
            )
        )
        session = ExportedSession(
            key=f"k{seed}",
            sequence=parse_sequence(phone_json(clip, seed=seed)),
            beat_times=None,
            routine=routine,
            strictness="intermediate",
            score=0.0,
        )
        (folder / f"session-k{seed}.npz").write_bytes(session_bytes(session))
    (folder / "session-broken.npz").write_bytes(b"not an npz")
    return folder


@pytest.fixture(scope="module")
def eager_detector(tmp_path_factory):
    """The bundled detector folder with the lifted rounded-back model flagging any unit."""
    folder = bundled_folder("detector", tmp_path_factory.mktemp("eager"))
    detector = FormErrorDetector.load(folder / "population.detector.npz")
    model = detector.models["lifted"][CHANGED_KIND]
    model.threshold, model.min_confidence = 0.0, 0.0
    detector.save(folder / "population.detector.npz")
    return folder


def _report(out) -> dict[str, dict]:
    report = json.loads((out / "report.json").read_text())
    assert report["sessions"] == 2 and report["dead_letters"] == 1
    assert (out / "report.md").read_text().count("|") > 20
    assert "<svg" in (out / "report.html").read_text()
    return {row["kind"]: row for row in report["kinds"]}


@pytest.mark.slow
def test_the_same_set_twice_agrees_on_every_cue(exported, tmp_path):
    out = tmp_path / "same"
    argv = ["--sessions", str(exported), "--champion", "bundled", "--candidate", "bundled"]
    assert rescore_main([*argv, "--out", str(out)]) == 0
    rows = _report(out)
    assert rows["all"]["cues_champion"] > 0
    for row in rows.values():
        assert row["agreement"] == 1.0 and row["only_champion"] == row["only_candidate"] == 0
        assert row["mean_score_change"] == 0.0
    compared = json.loads((out / "sessions" / "k3.json").read_text())
    assert compared["champion"] == compared["candidate"] and not compared["only_candidate"]
    described = json.loads((out / "models" / "candidate" / "set.json").read_text())
    assert set(described) == {"lifter-recordings", "detector", "knee-net"}
    assert "dead_letters.jsonl" in {p.name for p in out.iterdir()}


@pytest.mark.slow
def test_a_changed_detector_disagrees_in_its_kind_only(exported, eager_detector, tmp_path):
    out = tmp_path / "changed"
    argv = ["--sessions", str(exported), "--candidate", "bundled", "--output", str(out)]
    assert rescore_main([*argv, "--candidate-detector", str(eager_detector)]) == 0
    rows = _report(out)
    changed = rows[CHANGED_KIND]
    assert changed["only_candidate"] > 0 and changed["agreement"] < 1.0
    assert changed["cues_candidate"] > changed["cues_champion"]
    for kind, row in rows.items():
        if kind not in (CHANGED_KIND, "all"):
            assert row["agreement"] == 1.0, kind


def test_a_spec_that_names_nothing_is_refused(exported, tmp_path, capsys):
    missing = str(tmp_path / "nowhere")
    argv = ["--sessions", str(exported), "--output", str(tmp_path / "out")]
    assert rescore_main([*argv, "--candidate", missing, "--dry-run"]) == 2
    assert "nowhere" in capsys.readouterr().err
    shutil.rmtree(tmp_path / "out", ignore_errors=True)
    assert rescore_main([*argv, "--candidate", "bundled", "--dry-run"]) == 0
    assert "Rescore" in capsys.readouterr().out
