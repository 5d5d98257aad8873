"""``coach drift-reference``: training clips measured the way the API measures sessions."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from coach_cli.main import app
from synthetic_data.batch import generate_batch, plan_requests


@pytest.mark.slow
def test_the_reference_holds_each_clips_statistics(tmp_path):
    clips = tmp_path / "clips"
    requests = plan_requests(3, 5, ["squat"], duration_s=4.0)
    generate_batch(clips, requests, with_references=False, progress=False)
    out = tmp_path / "reference.jsonl"
    args = ["drift-reference", "--clips", str(clips), "--out", str(out), "--limit", "2"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 2 and {line["movement"] for line in lines} == {"squat"}
    for line in lines:
        stats = line["stats"]
        assert stats["fps"] == 30.0 and abs(stats["duration_s"] - 4.0) < 0.1
        assert stats["movement_m_per_s"] > 0 and 0 <= stats["camera_yaw_deg"] <= 180
        assert 0 <= stats["score"] <= 100 and "cues_per_min.shallow_squat" in stats
        # The bundled detector judges squats: its probabilities are summarised.
        assert 0 <= stats["detector_p_mean.rounded_back"] <= stats["detector_p_max.rounded_back"]


def test_an_empty_folder_is_refused(tmp_path):
    args = ["drift-reference", "--clips", str(tmp_path), "--out", str(tmp_path / "r.jsonl")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0 and "no clip files" in result.output
    assert not (tmp_path / "r.jsonl").exists()


def test_clips_or_real_mocap_one_of_them(tmp_path):
    both = ["drift-reference", "--clips", str(tmp_path), "--real-mocap", str(tmp_path)]
    for args in (both, ["drift-reference"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2 and "give --clips or --real-mocap" in result.output
