import json

import pytest
from typer.testing import CliRunner

from coach_cli.main import app
from synthetic_data.clip import write_clip
from synthetic_data.errors import ErrorPlan
from synthetic_data.generator import ClipRequest, generate_clip, trainer_clip

runner = CliRunner()


@pytest.mark.slow
def test_score_clips_writes_json_and_html(tmp_path):
    trainer = write_clip(trainer_clip("squat"), tmp_path / "trainer.clip.npz")
    user = generate_clip(
        ClipRequest(
            seed=3,
            movement="squat",
            num_reps=4,
            errors=[ErrorPlan("rounded_back", 0.9, "both", 1, 1)],
        )
    )
    user_path = write_clip(user, tmp_path / "user.clip.npz")
    result = runner.invoke(
        app,
        [
            "score",
            "--trainer",
            str(trainer),
            "--user",
            str(user_path),
            "--json",
            str(tmp_path / "r.json"),
            "--report",
            str(tmp_path / "r.html"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Keep your chest up" in result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["reps"] == 4 and report["errors"][0]["kind"] == "rounded_back"
    page = (tmp_path / "r.html").read_text()
    # The alignment plot and the rounded back's worst moment (the timeline is HTML).
    assert page.startswith("<!doctype html>") and page.count("data:image/png;base64,") == 2
    assert "Keep your chest up" in page


def test_score_rejects_bad_inputs(tmp_path):
    broken = tmp_path / "broken.clip.npz"
    broken.write_bytes(b"nope")
    result = runner.invoke(app, ["score", "--trainer", str(broken), "--user", str(broken)])
    assert result.exit_code != 0 and "broken or truncated" in result.output
    bad_json = tmp_path / "user.json"
    bad_json.write_text(json.dumps({"layout": "coco17", "fps": -1}))
    trainer = write_clip(trainer_clip("squat"), tmp_path / "trainer.clip.npz")
    result = runner.invoke(app, ["score", "--trainer", str(trainer), "--user", str(bad_json)])
    assert result.exit_code != 0
