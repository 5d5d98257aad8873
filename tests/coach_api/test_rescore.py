"""Re-scoring: sessions keep what they were scored from; ``POST /v1/sessions/rescore`` and
``POST /v1/admin/rescore`` queue ``rescore`` jobs that score them again with today's
lifter, checks and references; a retried or cancelled job stores each session at most
once (coach_api/rescoring.py, job_kinds.py, persistence.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from coach_api import rescoring
from coach_api.db import Job, Routine, SessionStats, WorkoutSession
from coach_api.job_kinds import KINDS
from coach_api.job_worker import run_job
from coach_api.jobs import JobStopped, WorkerContext, cancel_job, claim, utcnow
from coach_api.main import create_app
from coach_api.persistence import SessionInput, load_keypoints, save_keypoints
from coach_api.recovery import recover_expired_jobs
from coach_api.services import load_motion, save_poses
from tests.coach_api.conftest import auth_headers, new_email, published_routine, wait_job
from tests.coach_api.test_jobs import RecordingQueue


def _session(client: TestClient, headers: dict, routine_id: int, payload: dict, **extra) -> dict:
    body = {"routine_id": routine_id, "keypoints": payload, **extra}
    response = client.post("/v1/sessions", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _rescore(client: TestClient, headers: dict, ids: list[int], **extra) -> dict:
    """Queue a re-scoring of ``ids`` and wait for its end; the job."""
    body = {"session_ids": ids, **extra}
    response = client.post("/v1/sessions/rescore", headers=headers, json=body)
    assert response.status_code == 202, response.text
    return wait_job(client, headers, response.json()["id"])


def _rows(client: TestClient, ids: list[int]) -> list[WorkoutSession]:
    with client.app.state.sessionmaker() as db:
        return [db.get(WorkoutSession, i) for i in ids]


def _stats(client: TestClient, session_id: int) -> list[dict]:
    with client.app.state.sessionmaker() as db:
        query = select(SessionStats).where(SessionStats.session_id == session_id)
        return [row.stats for row in db.scalars(query)]


def _jobs(client: TestClient) -> int:
    with client.app.state.sessionmaker() as db:
        return len(db.scalars(select(Job)).all())


def test_sessions_keep_what_they_were_scored_from_and_erasure_takes_it(
    client, trainer_payload, user_payload
):
    routine = published_routine(client, trainer_payload)
    user = auth_headers(client)
    recorded = _session(client, user, routine, user_payload)
    body = {"routine_id": routine, "keypoints": user_payload, "beat_times": [0.5, 1.0, 1.5]}
    job = client.post("/v1/session-jobs", headers=user, json=body).json()
    in_background = wait_job(client, user, job["id"])["session_id"]
    blobs = client.app.state.settings.blobs
    for row in _rows(client, [recorded["id"], in_background]):
        source = load_keypoints(blobs, row.keypoints_blob)
        assert source.sequence.num_frames == len(user_payload["frames"])
        assert source.sequence.fps == user_payload["fps"]
        assert row.rescored_by_job is None and row.rescored_at is None
    assert load_keypoints(blobs, _rows(client, [in_background])[0].keypoints_blob).beat_times == [
        0.5,
        1.0,
        1.5,
    ]
    assert client.delete("/v1/me", headers=user).status_code == 204
    assert [n for n in blobs.names() if n.startswith("session")] == []


@pytest.mark.slow  # scores several sessions
def test_a_rescoring_request_names_what_is_wrong_and_queues_nothing(
    client, trainer_payload, user_payload
):
    routine = published_routine(client, trainer_payload)
    user = auth_headers(client)
    mine = _session(client, user, routine, user_payload)["id"]
    other = auth_headers(client, new_email("bob"))
    theirs = _session(client, other, routine, user_payload)["id"]
    cases = [
        ({"session_ids": [mine, theirs]}, 404, "session_ids.1"),
        ({"session_ids": [mine, 999]}, 404, "session_ids.1"),
        ({"session_ids": []}, 422, "session_ids"),
        ({"session_ids": [mine] * 501}, 422, "session_ids"),
        ({"session_ids": [0]}, 422, "session_ids.0"),
        ({"session_ids": [str(mine)]}, 422, "session_ids.0"),
        ({"session_ids": [mine], "strictness": "hard"}, 422, "strictness"),
        ({"session_ids": [mine], "routine_id": routine}, 422, "routine_id"),
        ({}, 422, "session_ids"),
    ]
    for body, status, field in cases:
        response = client.post("/v1/sessions/rescore", headers=user, json=body)
        assert response.status_code == status, (body, response.text)
        assert response.json()["error"]["field"] == field, (body, response.text)
        if status == 404:
            assert str(body["session_ids"][1]) in response.json()["error"]["message"]
    assert _jobs(client) == 0
    unauthenticated = client.post("/v1/sessions/rescore", json={"session_ids": [mine]})
    assert unauthenticated.status_code == 401
    # /sessions/rescore is no session id: other methods answer 405 with what it takes, and
    # a text id is still one (422).
    for method in ("GET", "OPTIONS", "DELETE"):
        answer = client.request(method, "/v1/sessions/rescore", headers=user)
        assert (answer.status_code, answer.headers["allow"]) == (405, "POST"), method
    text = client.get("/v1/sessions/rescored", headers=user)
    assert (text.status_code, text.json()["error"]["field"]) == (422, "path.session_id")
    paths = client.get("/v1/openapi.json").json()["paths"]
    assert set(paths["/v1/sessions/{session_id}"]) == {"get"}
    # Another user's job is not theirs to see; admins see every job.
    job = _rescore(client, user, [mine])
    assert client.get(f"/v1/jobs/{job['id']}", headers=other).status_code == 404
    admin = auth_headers(client, new_email("admin"), role="admin")
    assert client.get(f"/v1/jobs/{job['id']}", headers=admin).json()["status"] == "done"


def test_one_rescoring_at_a_time_per_user(settings, trainer_payload, user_payload):
    settings.job_step_delay_s = 0.5  # the first job is still running when the second comes
    with TestClient(create_app(settings)) as client:
        routine = published_routine(client, trainer_payload)
        user = auth_headers(client)
        session = _session(client, user, routine, user_payload)["id"]
        first = client.post("/v1/sessions/rescore", headers=user, json={"session_ids": [session]})
        again = client.post("/v1/sessions/rescore", headers=user, json={"session_ids": [session]})
        assert again.status_code == 409, again.text
        assert again.json()["error"]["code"] == "rescore_running"
        assert str(first.json()["id"]) in again.json()["error"]["message"]
        assert client.post(f"/v1/jobs/{first.json()['id']}/cancel", headers=user).status_code == 200
        third = client.post("/v1/sessions/rescore", headers=user, json={"session_ids": [session]})
        assert third.status_code == 202


def test_a_new_strictness_changes_the_report_and_the_old_motion_goes(
    client, trainer_payload, user_payload
):
    routine = published_routine(client, trainer_payload)
    user = auth_headers(client)
    before = _session(client, user, routine, user_payload)
    old_blob = _rows(client, [before["id"]])[0].blob
    assert [s["score"] for s in _stats(client, before["id"])] == [before["report"]["score"]]
    blobs = client.app.state.settings.blobs
    names = len(blobs.names())
    job = _rescore(client, user, [before["id"]], strictness="expert")
    assert job["status"] == "done" and job["progress"] == 1.0
    assert job["rescore"] == {"rescored": 1, "skipped": 0, "skipped_sessions": []}
    after = client.get(f"/v1/sessions/{before['id']}", headers=user).json()
    assert (before["report"]["strictness"], after["report"]["strictness"]) == (
        "intermediate",
        "expert",
    )
    assert after["rescored_at"] is not None and before["rescored_at"] is None
    row = _rows(client, [before["id"]])[0]
    assert row.rescored_by_job == job["id"] and row.blob != old_blob
    assert old_blob not in blobs.names() and len(blobs.names()) == names
    # Its drift statistics are the new report's, in place of the old ones.
    assert [s["score"] for s in _stats(client, before["id"])] == [after["report"]["score"]]
    # The same again, each session keeping its own strictness: the report is the expert one.
    again = _rescore(client, user, [before["id"]])
    assert again["rescore"]["rescored"] == 1
    kept = client.get(f"/v1/sessions/{before['id']}", headers=user).json()["report"]
    assert kept == after["report"]
    # Judged anew: as a session sent at that strictness is (the same cues may give the
    # same scores: a cue lowers its segment by its severity, whoever's strictness found it).
    fresh = _session(client, user, routine, user_payload, strictness="expert")
    assert after["report"] == fresh["report"]


def test_a_routine_keeps_the_repetitions_it_was_stored_with(client, trainer_payload):
    routine = published_routine(client, trainer_payload)
    blobs = client.app.state.settings.blobs
    with client.app.state.sessionmaker() as db:
        row = db.get(Routine, routine)
        motion = load_motion(blobs, row.blob)
        reference = client.app.state.engine.reference(blobs, row)
    assert motion.reps is not None and len(motion.reps) == row.reps >= 1
    assert reference.template in motion.reps  # judged against a stored repetition


def test_a_changed_reference_changes_the_report(client, trainer_payload, user_payload):
    routine = published_routine(client, trainer_payload)
    user = auth_headers(client)
    before = _session(client, user, routine, user_payload)
    # The trainer's reference changes (here: performed at half the speed).
    blobs = client.app.state.settings.blobs
    with client.app.state.sessionmaker() as db:
        row = db.get(Routine, routine)
        motion = load_motion(blobs, row.blob)
        slower = np.repeat(motion.poses, 2, axis=0)
        row.blob = save_poses(blobs, "routine-slower.npz", slower, motion.fps)
        db.commit()
    job = _rescore(client, user, [before["id"]])
    assert job["rescore"]["rescored"] == 1
    after = client.get(f"/v1/sessions/{before['id']}", headers=user).json()["report"]
    assert after["strictness"] == before["report"]["strictness"]  # the session's own kept
    # Against a slower trainer the same user is twice as fast.
    assert after["tempo"]["mean"] == pytest.approx(2 * before["report"]["tempo"]["mean"], rel=0.2)


@pytest.mark.slow  # scores several sessions
def test_what_cannot_be_rescored_is_skipped_and_said(client, trainer_payload, user_payload):
    routine = published_routine(client, trainer_payload)
    trainer = auth_headers(client, new_email("coach"), role="trainer")
    body = {"name": "Gone", "movement": "squat", "keypoints": trainer_payload, "published": True}
    gone = client.post("/v1/routines", headers=trainer, json=body).json()["id"]
    user = auth_headers(client)
    fine, old, orphan, blank = (
        _session(client, user, r, user_payload)["id"] for r in (routine, routine, gone, routine)
    )
    assert client.delete(f"/v1/routines/{gone}", headers=trainer).status_code == 204
    blobs = client.app.state.settings.blobs
    with client.app.state.sessionmaker() as db:
        # As stored before sessions kept their keypoints.
        blobs.delete(db.get(WorkoutSession, old).keypoints_blob)
        db.execute(
            update(WorkoutSession).where(WorkoutSession.id == old).values(keypoints_blob=None)
        )
        db.commit()
        # Keypoints today's checks refuse: nobody seen.
        name = db.get(WorkoutSession, blank).keypoints_blob
        sequence = load_keypoints(blobs, name).sequence
        nobody = replace(sequence, scores=np.zeros_like(sequence.scores))
        save_keypoints(blobs, name, SessionInput(nobody))
    reports = {r.id: r.report_json for r in _rows(client, [old, orphan, blank])}
    job = _rescore(client, user, [fine, old, fine, orphan, blank])  # a repeat is done once
    skipped = {s["session_id"]: s["reason"] for s in job["rescore"]["skipped_sessions"]}
    assert skipped == {old: "no_keypoints", orphan: "routine_deleted", blank: "unscorable"}
    assert (job["rescore"]["rescored"], job["rescore"]["skipped"]) == (1, 3)
    assert {r.id: r.report_json for r in _rows(client, [old, orphan, blank])} == reports
    assert all(r.rescored_by_job is None for r in _rows(client, [old, orphan, blank]))


def test_a_rescored_video_session_says_again_who_was_followed(
    client, trainer_payload, user_payload
):
    """A video's extraction note (pose2d.people) is stored with its keypoints, so the
    re-scored report says it again, first among the keypoints notes."""
    routine = published_routine(client, trainer_payload)
    user = auth_headers(client)
    session = _session(client, user, routine, user_payload)["id"]
    note = "Other people were in view; the coach followed you (the person in view longest)."
    blobs = client.app.state.settings.blobs
    with client.app.state.sessionmaker() as db:
        name = db.get(WorkoutSession, session).keypoints_blob
    stored = load_keypoints(blobs, name).sequence
    assert stored.notes == ()  # a phone's keypoints: nothing to say
    save_keypoints(blobs, name, SessionInput(replace(stored, notes=(note,))))  # as a video's
    assert load_keypoints(blobs, name).sequence.notes == (note,)
    assert _rescore(client, user, [session])["rescore"]["rescored"] == 1
    notes = client.get(f"/v1/sessions/{session}", headers=user).json()["report"]["notes"]
    assert next(n["message"] for n in notes if n["kind"] == "keypoints") == note


def test_a_live_session_can_be_rescored(client, trainer_payload, user_payload):
    routine = published_routine(client, trainer_payload)
    user = auth_headers(client)
    header = {k: user_payload[k] for k in ("layout", "fps", "image_width", "image_height")}
    token = user["Authorization"].split()[1]
    with client.websocket_connect("/v1/live") as socket:
        socket.send_json({"type": "start", "token": token, "routine_id": routine, **header})
        assert socket.receive_json()["type"] == "ready"
        frames = user_payload["frames"]
        for first in range(0, len(frames), 30):
            socket.send_json({"type": "frames", "frames": frames[first : first + 30]})
        socket.send_json({"type": "stop"})
        message = socket.receive_json()
        while message["type"] != "summary":
            message = socket.receive_json()
    live = message["session_id"]
    assert _rows(client, [live])[0].keypoints_blob is not None
    job = _rescore(client, user, [live])
    assert job["rescore"] == {"rescored": 1, "skipped": 0, "skipped_sessions": []}


class Killed(Exception):
    """The worker process dies here (kill -9): nothing after it runs."""


@pytest.fixture
def stopped_worker(settings):
    """An app whose jobs nobody runs (an external worker, not started) and a worker
    context on its loop, engine and database, for driving jobs step by step."""
    settings.job_worker = "external"
    with TestClient(create_app(settings)) as client:
        app = client.app
        yield (
            client,
            WorkerContext(settings, app.state.sessionmaker, app.state.engine, RecordingQueue()),
        )


def _three_sessions(client: TestClient, trainer_payload, user_payload) -> tuple[dict, list[int]]:
    routine = published_routine(client, trainer_payload)
    user = auth_headers(client)
    return user, [_session(client, user, routine, user_payload)["id"] for _ in range(3)]


def _dying_at(run, fraction: float, before=lambda: None):
    """Make ``run``'s step at ``fraction`` call ``before`` then do what a step does."""
    real = run.step

    def step(stage: str, at: float) -> None:
        if at == fraction:
            before()
        real(stage, at)

    run.step = step


def test_a_job_killed_mid_way_and_run_again_stores_each_session_once(
    stopped_worker, trainer_payload, user_payload
):
    client, ctx = stopped_worker
    user, ids = _three_sessions(client, trainer_payload, user_payload)
    queued = client.post("/v1/sessions/rescore", headers=user, json={"session_ids": ids})
    job_id = queued.json()["id"]
    first = claim(ctx, job_id)

    def die() -> None:
        raise Killed

    _dying_at(first, 1 / 3, die)  # after the first session was stored
    with pytest.raises(Killed):
        client.portal.call(KINDS["rescore"], first)
    done_first = _rows(client, ids)
    assert [r.rescored_by_job for r in done_first] == [job_id, None, None]
    # Its lease runs out; the sweep queues it again and the next attempt finishes it.
    with ctx.sessionmaker() as db:
        db.execute(update(Job).where(Job.id == job_id).values(lease_until=utcnow()))
        db.commit()
    assert recover_expired_jobs(ctx) == 1
    client.portal.call(run_job, ctx, job_id)
    job = client.get(f"/v1/jobs/{job_id}", headers=user).json()
    assert (job["status"], job["attempts"]) == ("done", 2)
    assert job["rescore"] == {"rescored": 3, "skipped": 0, "skipped_sessions": []}
    done = _rows(client, ids)
    assert [r.rescored_by_job for r in done] == [job_id] * 3
    assert done[0].rescored_at == done_first[0].rescored_at  # not re-scored again
    assert done[0].blob == done_first[0].blob
    # The dead attempt can store nothing, and the job is not run again.
    with ctx.sessionmaker() as db, pytest.raises(JobStopped):
        first.hold(db)
    client.portal.call(run_job, ctx, job_id)
    assert [(r.blob, r.rescored_at) for r in _rows(client, ids)] == [
        (r.blob, r.rescored_at) for r in done
    ]
    # Every session has its motion and keypoints and the routine its motion: nothing else.
    blobs = ctx.settings.blobs.names()
    kept = {r.blob for r in done} | {r.keypoints_blob for r in done}
    assert set(blobs) - kept == {n for n in blobs if n.startswith("routine-")}
    assert len(blobs) == 7


def test_a_cancelled_job_keeps_what_it_rescored_and_stops(
    stopped_worker, trainer_payload, user_payload
):
    client, ctx = stopped_worker
    user, ids = _three_sessions(client, trainer_payload, user_payload)
    queued = client.post("/v1/sessions/rescore", headers=user, json={"session_ids": ids})
    run = claim(ctx, queued.json()["id"])

    def cancel() -> None:
        with ctx.sessionmaker() as db:
            assert cancel_job(db, ctx.settings, db.get(Job, run.job.id))

    _dying_at(run, 1 / 3, cancel)
    with pytest.raises(JobStopped):
        client.portal.call(KINDS["rescore"], run)
    assert [r.rescored_by_job for r in _rows(client, ids)] == [run.job.id, None, None]
    job = client.get(f"/v1/jobs/{run.job.id}", headers=user).json()
    assert (job["status"], job["rescore"]) == ("cancelled", None)


@pytest.mark.slow  # scores a dozen sessions
def test_admins_rescore_every_session_in_batches_of_jobs_per_owner(
    client, trainer_payload, user_payload, monkeypatch
):
    routine = published_routine(client, trainer_payload)
    ana, bob = auth_headers(client, new_email()), auth_headers(client, new_email("bob"))
    anas = [_session(client, ana, routine, user_payload)["id"] for _ in range(2)]
    bobs = [_session(client, bob, routine, user_payload)["id"]]
    admin = auth_headers(client, new_email("admin"), role="admin")
    forbidden = client.post("/v1/admin/rescore", headers=ana, json={})
    assert forbidden.status_code == 403
    missing = client.post("/v1/admin/rescore", headers=admin, json={"routine_id": 999})
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "routine_id"
    wrong = client.post("/v1/admin/rescore", headers=admin, json={"after_session_id": -1})
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "after_session_id"
    monkeypatch.setattr(rescoring, "ADMIN_BATCH_SESSIONS", 2)
    batch = client.post("/v1/admin/rescore", headers=admin, json={"routine_id": routine})
    assert batch.status_code == 202, batch.text
    first = batch.json()
    assert (first["sessions"], first["next_after_session_id"]) == (2, anas[1])
    assert len(first["jobs"]) == 1  # both Ana's
    body = {"routine_id": routine, "after_session_id": anas[1]}
    second = client.post("/v1/admin/rescore", headers=admin, json=body).json()
    assert (second["sessions"], second["next_after_session_id"]) == (1, None)
    jobs = [(first["jobs"][0]["id"], ana), (second["jobs"][0]["id"], bob)]
    for job_id, owner in jobs:  # each owner's job, the admin's to watch
        assert wait_job(client, owner, job_id)["status"] == "done"
        assert client.get(f"/v1/jobs/{job_id}", headers=admin).status_code == 200
    assert [r.rescored_by_job for r in _rows(client, anas + bobs)] == [jobs[0][0]] * 2 + [
        jobs[1][0]
    ]
    assert client.get(f"/v1/jobs/{jobs[0][0]}", headers=bob).status_code == 404
