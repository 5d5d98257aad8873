"""`coach evaluate-front-end`: held-out clips filmed all around, the front end measured."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np

from lab.front_end_eval import evaluate_front_end, held_out_clips, view_names
from synthetic_data.clip import write_clip
from synthetic_data.generator import ClipRequest, generate_clip


def _write_clips(folder, people):
    for number, (person, split) in enumerate(people):
        clip = generate_clip(ClipRequest(seed=number, movement="squat", duration_s=2.0))
        body = replace(clip.body, body_id=person, extra={"split": split})
        clip = replace(clip, body=body, clip_id=f"{person}-{number}")
        write_clip(clip, folder / f"{clip.clip_id}.clip.npz")


def test_a_limit_keeps_every_person_of_the_split(tmp_path):
    _write_clips(tmp_path, [("a", "test"), ("a", "test"), ("b", "test"), ("c", "train")])
    assert {c.body.body_id for c in held_out_clips(tmp_path, "test")} == {"a", "b"}
    assert [c.body.body_id for c in held_out_clips(tmp_path, "test", limit=2)] == ["a", "b"]


def test_views_by_yaw():
    names = view_names(np.array([0.0, -44.9, 45.0, 134.9, -135.0, 179.0]))
    assert names.tolist() == ["front", "front", "side", "side", "back", "back"]


def test_report_and_metrics(tmp_path):
    _write_clips(tmp_path, [("a", "test"), ("b", "test")])
    report = evaluate_front_end(tmp_path, tmp_path / "out", cameras=2)
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["sequences"] == 4 and metrics["setup"]["people"] == ["a", "b"]
    assert set(metrics["swaps"]["by_part"]) == {"all", "arms", "legs"}
    assert set(metrics["swaps"]["by_view"]) == {"front", "side", "back"}
    stress = metrics["identity_stress"]["identity"]
    assert stress["sequences_with_a_switch"] == 4
    rows = metrics["mpjpe_mm"]
    assert rows["all frames"]["frames"] == metrics["frames"]
    assert rows["all frames"]["front end"] > 0
    text = report.read_text()
    assert "Swapped frames fixed" in text and "Stress pass" in text and "MPJPE" in text
