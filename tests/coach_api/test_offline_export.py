"""coach-api export-sessions / export-feedback: keypoints-only files for offline jobs,
nothing that names the account, and an erased account's rows gone from the next export."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from coach_api.cli import app as cli_app
from coach_api.offline_export import export_feedback, export_sessions, pseudonym
from scoring.exported import (
    MANIFEST,
    feedback_files,
    read_feedback,
    read_session,
    session_files,
)
from tests.coach_api.conftest import auth_headers, new_email, published_routine

pytestmark = pytest.mark.slow  # each test scores sessions through the API


def _session_with_feedback(client, routine_id: int, user_payload: dict, verdict: str):
    """A new user's scored session with ``verdict`` on its first cue: (email, session)."""
    email = new_email()
    headers = auth_headers(client, email)
    body = {"routine_id": routine_id, "keypoints": user_payload}
    session = client.post("/v1/sessions", headers=headers, json=body).json()
    assert session["report"]["errors"], "the test session needs a cue to judge"
    given = client.post(
        f"/v1/sessions/{session['id']}/feedback",
        headers=headers,
        json={"error_index": 0, "verdict": verdict, "comment": "my knee hurt"},
    )
    assert given.status_code == 201, given.text
    return email, headers, session


def _export(client, settings, kind: str, out):
    with client.app.state.sessionmaker() as db:
        run = export_sessions if kind == "sessions" else export_feedback
        return run(settings, db, out)


def test_exports_hold_keypoints_only_and_forget_erased_accounts(
    client, settings, trainer_payload, user_payload, tmp_path
):
    routine_id = published_routine(client, trainer_payload)
    email_a, headers_a, session_a = _session_with_feedback(
        client, routine_id, user_payload, "wrong"
    )
    email_b, _, session_b = _session_with_feedback(client, routine_id, user_payload, "right")

    sessions = _export(client, settings, "sessions", tmp_path / "sessions")
    feedback = _export(client, settings, "feedback", tmp_path / "feedback")
    assert (sessions.written, feedback.written) == (2, 2)
    key_a = pseudonym(settings.signing_key, "session", session_a["id"])
    files = {path.name: path for path in session_files(tmp_path / "sessions")}
    assert set(files) == {
        f"session-{pseudonym(settings.signing_key, 'session', s['id'])}.npz"
        for s in (session_a, session_b)
    }
    exported = read_session(files[f"session-{key_a}.npz"].read_bytes())
    sent = np.array(user_payload["frames"], dtype=float)
    np.testing.assert_allclose(exported.sequence.keypoints, sent[..., :2], atol=0.01)
    assert exported.cues[0].kind == session_a["report"]["errors"][0]["kind"]
    assert exported.score == session_a["report"]["score"]
    assert exported.routine.movement == "squat"
    assert exported.routine.motion.poses.shape[1:] == (17, 3)
    exported.routine.reference()  # what scoring it again needs is there
    for path in (*session_files(tmp_path / "sessions"), *feedback_files(tmp_path / "feedback")):
        raw = path.read_bytes()
        for private in (email_a, email_b, "my knee hurt"):
            assert private.encode() not in raw
        with np.load(path) as data:
            meta = json.loads(str(data["meta"]))
            stored = {"meta", "keypoints", "scores", "reference_poses", "reference_reps"}
            assert set(data.files) <= stored
        assert not {"user_id", "email", "session_id", "comment", "video"} & set(meta)
    units = sorted(
        (read_feedback(p.read_bytes()) for p in feedback_files(tmp_path / "feedback")),
        key=lambda unit: unit.label,
    )
    assert [(u.verdict, u.label) for u in units] == [("wrong", 0), ("right", 1)]
    assert units[0].session.key == key_a and units[0].cue == exported.cues[0]

    assert client.delete("/v1/me", headers=headers_a).status_code == 204
    again = _export(client, settings, "feedback", tmp_path / "feedback")
    left = [read_feedback(p.read_bytes()) for p in feedback_files(tmp_path / "feedback")]
    assert again.written == 1 and [u.verdict for u in left] == ["right"]
    assert _export(client, settings, "sessions", tmp_path / "sessions").written == 1
    key_b = pseudonym(settings.signing_key, "session", session_b["id"])
    assert [p.name for p in session_files(tmp_path / "sessions")] == [f"session-{key_b}.npz"]


def test_export_refuses_a_folder_that_is_not_an_export(client, settings, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match=MANIFEST):
        _export(client, settings, "sessions", tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_export_commands_read_the_configured_service(
    client, settings, trainer_payload, user_payload, tmp_path, monkeypatch
):
    routine_id = published_routine(client, trainer_payload)
    _session_with_feedback(client, routine_id, user_payload, "right")
    monkeypatch.setenv("COACH_DATA_DIR", str(settings.data_dir))
    if settings.database_url:
        monkeypatch.setenv("COACH_DATABASE_URL", settings.database_url)
    runner = CliRunner()
    out = tmp_path / "export"
    done = runner.invoke(cli_app, ["export-sessions", "--out", str(out), "--since", "2000-01-01"])
    assert done.exit_code == 0, done.output
    assert "1 sessions files" in done.output and len(session_files(out)) == 1
    later = runner.invoke(cli_app, ["export-sessions", "--out", str(out), "--since", "2999-01-01"])
    assert later.exit_code == 0 and session_files(out) == []
    done = runner.invoke(cli_app, ["export-feedback", "--out", str(tmp_path / "fb")])
    assert done.exit_code == 0 and len(feedback_files(tmp_path / "fb")) == 1
    bad = runner.invoke(cli_app, ["export-sessions", "--out", str(out), "--since", "soon"])
    assert bad.exit_code != 0
