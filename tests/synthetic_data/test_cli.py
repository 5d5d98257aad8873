import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from coach_cli.main import app
from pose3d import angles
from synthetic_data.clip import read_clip

runner = CliRunner()


def test_synth_writes_clips_references_and_a_manifest(tmp_path):
    result = runner.invoke(
        app,
        [
            "synth",
            "--out",
            str(tmp_path),
            "--clips",
            "6",
            "--seed",
            "3",
            "--workers",
            "2",
            "--exercises",
            "squat",
            "--exercises",
            "dance",
        ],
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert len(manifest["clips"]) == 6
    assert {c["movement"] for c in manifest["clips"]} == {"squat", "dance"}
    assert sorted(manifest["references"]) == [
        "references/trainer-dance.clip.npz",
        "references/trainer-squat.clip.npz",
    ]
    first = read_clip(tmp_path / manifest["clips"][0]["file"])
    assert first.generator["seed"] == 3 * 1_000_003
    # Re-running gives the same files.
    before = {p.name: p.read_bytes() for p in tmp_path.glob("*.clip.npz")}
    runner.invoke(
        app,
        [
            "synth",
            "--out",
            str(tmp_path),
            "--clips",
            "6",
            "--seed",
            "3",
            "--exercises",
            "squat",
            "--exercises",
            "dance",
        ],
    )
    assert before == {p.name: p.read_bytes() for p in tmp_path.glob("*.clip.npz")}


def test_synth_preview_draws_a_png(tmp_path):
    runner.invoke(app, ["synth", "--out", str(tmp_path), "--clips", "1", "--exercises", "lunge"])
    clip = next(tmp_path.glob("lunge-*.clip.npz"))
    result = runner.invoke(app, ["synth", "preview", str(clip), "--out", str(tmp_path / "p.png")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_synth_bad_arguments_are_explained(tmp_path):
    result = runner.invoke(app, ["synth", "--out", str(tmp_path), "--exercises", "yoga"])
    assert result.exit_code != 0 and "unknown movement 'yoga'" in result.output
    assert "--out is required" in runner.invoke(app, ["synth"]).output
    broken = tmp_path / "broken.clip.npz"
    broken.write_bytes(b"nope")
    result = runner.invoke(app, ["synth", "preview", str(broken)])
    assert result.exit_code != 0 and "broken or truncated" in result.output


def test_synth_makes_deep_squats_when_asked(tmp_path):
    def deepest_knee(folder: Path) -> float:
        args = [
            "synth",
            "--out",
            str(folder),
            "--clips",
            "1",
            "--seed",
            "2",
            "--exercises",
            "squat",
        ]
        extra = ["--deep-squat-share", "1"] if folder.name == "deep" else []
        result = runner.invoke(app, args + extra)
        assert result.exit_code == 0, result.output
        poses = read_clip(next(folder.glob("*.clip.npz"))).h36m17()
        return float(np.max(angles.knee_flexion(poses, "left")))

    assert deepest_knee(tmp_path / "deep") > deepest_knee(tmp_path / "plain") + 20
    bad = runner.invoke(app, ["synth", "--out", str(tmp_path), "--deep-squat-share", "2"])
    assert bad.exit_code != 0 and "deep-squat-share" in bad.output


def test_synth_varies_the_users_posture_when_asked(tmp_path):
    args = ["synth", "--out", str(tmp_path), "--clips", "1", "--exercises", "squat"]
    result = runner.invoke(app, [*args, "--style-variation", "1"])
    assert result.exit_code == 0, result.output
    assert read_clip(next(tmp_path.glob("*.clip.npz"))).generator["style_variation"] == 1.0
    bad = runner.invoke(app, [*args, "--style-variation", "3"])
    assert bad.exit_code != 0 and "style-variation" in bad.output


def test_synth_films_from_all_around_when_asked(tmp_path):
    args = ["synth", "--out", str(tmp_path), "--clips", "2", "--exercises", "squat"]
    result = runner.invoke(app, [*args, "--camera-coverage", "anywhere"])
    assert result.exit_code == 0, result.output
    for path in tmp_path.glob("*.clip.npz"):
        assert read_clip(path).generator["camera_coverage"] == "anywhere"
    refused = tmp_path / "refused"
    bad = runner.invoke(
        app, ["synth", "--out", str(refused), "--clips", "2", "--camera-coverage", "above"]
    )
    assert bad.exit_code != 0 and "camera-coverage" in bad.output and "above" in bad.output
    assert not refused.exists()  # refused before anything was written
