"""The drift job: a shifted statistic is flagged, an unchanged one is not, and the report
shows every statistic's distribution."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from dataflow_jobs.cli import drift_main
from dataflow_jobs.drift_stats import compare, population_stability


def _write(path: Path, columns: dict[str, np.ndarray]) -> str:
    """One JSON line per row of ``columns`` (statistic -> values), as the exports write."""
    count = len(next(iter(columns.values())))
    lines = [
        json.dumps({"stats": {name: float(values[i]) for name, values in columns.items()}})
        for i in range(count)
    ]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_psi_and_ks_tell_a_shift_from_sampling_noise():
    rng = np.random.default_rng(0)
    reference = rng.normal(0.0, 1.0, 1000)
    same = compare(rng.normal(0.0, 1.0, 300), reference)
    assert same.status == "stable" and same.psi < 0.1 and same.ks_p > 0.001
    shifted = compare(rng.normal(1.0, 1.0, 300), reference)
    assert shifted.status == "drifted" and shifted.psi >= 0.25 and shifted.ks_p < 1e-6
    assert compare(reference, reference).psi == 0.0
    # A constant in training (every clip at 30 fps): a different rate is a shift either way.
    fps = np.full(1000, 30.0)
    assert population_stability(np.full(50, 30.0), fps) == 0.0
    assert compare(np.full(50, 25.0), fps).status == "drifted"
    assert compare(np.full(50, 60.0), fps).status == "drifted"
    assert compare(np.array([]), fps) is None
    # A small shift over many sessions: PSI says watch at most, KS says it is real.
    slight = compare(rng.normal(0.3, 1.0, 5000), rng.normal(0.0, 1.0, 20000))
    assert slight.psi < 0.25 and slight.ks_p < 0.001 and slight.status == "drifted"


@pytest.mark.slow
def test_few_sessions_from_one_distribution_are_not_called_drifted():
    """Windows of 15 and 90 sessions, where PSI over the reference's deciles reaches the
    usual 0.25 by chance alone: the permutation p-value keeps them stable; a real shift
    of so few is still caught."""
    rng = np.random.default_rng(7)
    for size in (15, 90):
        verdicts = [compare(rng.normal(size=size), rng.normal(size=size)) for _ in range(40)]
        assert max(v.psi for v in verdicts) >= 0.25  # what the usual reading calls drifted
        statuses = [v.status for v in verdicts]
        assert statuses.count("drifted") == 0 and statuses.count("watch") <= 2, statuses
    moved = compare(rng.normal(3.0, 1.0, 15), rng.normal(0.0, 1.0, 15))
    assert moved.status == "drifted" and moved.psi_p == 0.001


@pytest.mark.slow  # a Beam pipeline on the DirectRunner (~2 s)
def test_the_job_flags_the_shifted_statistic_and_writes_the_report(tmp_path):
    rng = np.random.default_rng(1)
    reference = {
        "camera_yaw_deg": rng.uniform(0, 60, 2000),
        "score": rng.normal(80, 8, 2000),
        "fps": np.full(2000, 30.0),
    }
    previous = {
        "camera_yaw_deg": rng.uniform(0, 60, 1000),
        "score": rng.normal(80, 8, 1000),
        "fps": np.full(1000, 30.0),
    }
    # Users started filming from the side; scores and frame rates are as before.
    current = {
        "camera_yaw_deg": rng.uniform(60, 120, 1000),
        "score": rng.normal(80, 8, 1000),
        "fps": np.full(1000, 30.0),
    }
    out = tmp_path / "drift"
    args = [
        "--current", _write(tmp_path / "current.jsonl", current),
        "--previous", _write(tmp_path / "previous.jsonl", previous),
        "--reference", _write(tmp_path / "reference.jsonl", reference),
        "--out", str(out),
    ]  # fmt: skip
    assert drift_main(args) == 0
    result = json.loads((out / "drift.json").read_text())
    rows = {row["name"]: row for row in result["statistics"]}
    assert result["drifted"] == ["camera_yaw_deg"] and result["watch"] == []
    assert result["counts"]["sessions"] == {"reference": 2000, "previous": 1000, "current": 1000}
    yaw = rows["camera_yaw_deg"]
    assert yaw["against_reference"]["status"] == yaw["against_previous"]["status"] == "drifted"
    assert rows["score"]["status"] == rows["fps"]["status"] == "stable"
    assert rows["fps"]["against_reference"]["psi"] == 0.0

    page = (out / "drift.html").read_text()
    images = re.findall(r"<img src='data:image/png;base64,([^']+)' alt='([^']+)'>", page)
    assert len(images) == 3  # one plot per statistic, embedded, each described
    assert all(alt.startswith("Distribution of ") for _, alt in images)
    assert "http" not in page  # nothing fetched from elsewhere


def test_coach_dataflow_drift_passes_its_flags_through(tmp_path):
    from typer.testing import CliRunner

    from coach_cli.main import app

    lines = _write(tmp_path / "s.jsonl", {"score": np.array([70.0, 80.0])})
    base = ["dataflow", "drift", "--current", lines, "--out", str(tmp_path / "o")]
    missing = CliRunner().invoke(app, base)
    assert missing.exit_code == 2 and "--reference is required" in missing.output
    built = CliRunner().invoke(app, [*base, "--reference", lines, "--dry-run"])
    assert built.exit_code == 0, built.output
    assert "Judge and plot" in built.output and "Write report" in built.output
