"""Drift statistics of scored sessions: stored with the report, exported to Prometheus and
as JSON lines (statistics only), erased with the account."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from coach_api.cli import app as operator_app
from coach_api.db import SessionStats, WorkoutSession
from coach_api.persistence import store_session
from tests.coach_api.conftest import auth_headers, published_routine, wait_job


def _stats_rows(client) -> list[SessionStats]:
    with client.app.state.sessionmaker() as db:
        return list(db.scalars(select(SessionStats)))


def test_a_scored_session_job_stores_its_statistics_exports_them_and_erases_them(
    client, trainer_payload, user_payload, tmp_path
):
    routine = published_routine(client, trainer_payload)
    user = auth_headers(client)
    body = {"routine_id": routine, "keypoints": user_payload}
    accepted = client.post("/v1/session-jobs", headers=user, json=body)
    job = wait_job(client, user, accepted.json()["id"])
    assert job["status"] == "done", job
    (row,) = _stats_rows(client)
    assert row.session_id == job["session_id"]
    report = client.get(f"/v1/sessions/{job['session_id']}", headers=user).json()["report"]
    stats = row.stats
    assert stats["score"] == report["score"]
    assert stats["fps"] == user_payload["fps"] and stats["movement_m_per_s"] > 0
    assert 0 < stats["confidence_p10"] <= stats["confidence_mean"] <= 1

    metrics = client.get("/v1/metrics").text
    assert "coach_session_score_count 1.0" in metrics
    assert 'coach_session_cues_per_minute_count{kind="rounded_back"} 1.0' in metrics

    out = tmp_path / "stats.jsonl"
    now = datetime.now(UTC)
    env = {"COACH_DATA_DIR": str(client.app.state.settings.data_dir)}
    database_url = client.app.state.settings.database_url
    if database_url:  # the PostgreSQL pass
        env["COACH_DATABASE_URL"] = database_url
    window = ["--since", (now - timedelta(hours=1)).isoformat(), "--until", now.isoformat()]
    result = CliRunner().invoke(operator_app, ["export-stats", *window, "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    (line,) = out.read_text().splitlines()
    exported = json.loads(line)
    assert set(exported) == {"created_at", "stats"} and exported["stats"] == stats
    earlier = ["--since", "2026-01-01", "--until", "2026-01-02T00:00:00+00:00", "--out", str(out)]
    assert CliRunner().invoke(operator_app, ["export-stats", *earlier], env=env).exit_code == 0
    assert out.read_text() == ""

    assert client.delete("/v1/me", headers=user).status_code == 204
    assert _stats_rows(client) == []


def test_statistics_are_stored_with_the_session_or_not_at_all(client):
    settings = client.app.state.settings

    def store(finish=None):
        with client.app.state.sessionmaker() as db:
            return store_session(
                settings, db, 1, 7, "squats", {"score": 80.0}, np.zeros((3, 17, 3)), 30.0, None,
                finish=finish, stats={"score": 80.0, "fps": 30.0},
            )  # fmt: skip

    auth_headers(client)  # account 1

    def crash(db, row):
        raise RuntimeError("the job lost its lease")

    with pytest.raises(RuntimeError):
        store(crash)
    assert _stats_rows(client) == []
    row = store()
    (stored,) = _stats_rows(client)
    assert (stored.session_id, stored.user_id) == (row.id, 1)
    assert stored.stats == {"score": 80.0, "fps": 30.0}
    with client.app.state.sessionmaker() as db:
        assert db.scalars(select(WorkoutSession.id)).all() == [row.id]


def test_export_stats_refuses_an_empty_window_and_a_bad_time(tmp_path):
    runner, env = CliRunner(), {"COACH_DATA_DIR": str(tmp_path)}
    out = str(tmp_path / "s.jsonl")
    backwards = ["export-stats", "--since", "2026-02-01", "--until", "2026-01-01", "--out", out]
    result = runner.invoke(operator_app, backwards, env=env)
    assert result.exit_code != 0 and "empty" in result.output
    garbled = ["export-stats", "--since", "yesterday", "--until", "2026-01-01", "--out", out]
    result = runner.invoke(operator_app, garbled, env=env)
    assert result.exit_code != 0 and "ISO 8601" in result.output


def test_every_statistic_has_a_histogram_and_unknown_names_are_not_exported():
    from coach_api.observability import SESSION_BUCKETS, Metrics
    from scoring.session_stats import INPUT_STATISTICS

    assert set(SESSION_BUCKETS) == {*INPUT_STATISTICS, "score"}
    metrics = Metrics()
    metrics.observe_session(
        {"fps": 30.0, "detector_p_max.off_beat": 0.7, "cues_per_min.made_up": 1.0, "x.y": 2.0}
    )
    text = metrics.render().decode()
    assert "coach_session_fps_count 1.0" in text
    assert 'coach_session_detector_probability_count{aggregate="max",kind="off_beat"} 1.0' in text
    assert "made_up" not in text and "x.y" not in text
