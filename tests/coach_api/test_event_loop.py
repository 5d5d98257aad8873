"""The event loop stays free while keypoint requests are read, parsed, scored and stored:
their CPU, file and database work runs in threads (docs/benchmarks.md, "API under load")."""

from __future__ import annotations

import gc
import threading

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from coach_api import json_requests, persistence
from coach_api.main import create_app
from coach_api.routes import sessions
from coach_api.services import Engine
from tests.coach_api.conftest import auth_headers


def test_healthz_answers_while_a_keypoint_body_is_parsed(client, monkeypatch, trainer_payload):
    trainer = auth_headers(client, "coach@example.com", role="trainer")
    parsing, answered, during = threading.Event(), threading.Event(), []
    parse = json_requests.parse_keypoint_body

    def slow_parse(*args):
        parsing.set()
        # A parse on the event loop would hold it here: healthz could not answer.
        during.append(answered.wait(timeout=10))
        return parse(*args)

    monkeypatch.setattr(json_requests, "parse_keypoint_body", slow_parse)
    body = {"name": "Squats", "movement": "squat", "keypoints": trainer_payload}
    created = []
    poster = threading.Thread(
        target=lambda: created.append(client.post("/v1/routines", headers=trainer, json=body))
    )
    poster.start()
    assert parsing.wait(timeout=30)
    health = client.get("/v1/healthz")
    answered.set()
    poster.join(timeout=60)
    assert health.status_code == 200
    assert during == [True]  # healthz answered while the body was being parsed
    assert created[0].status_code == 201, created[0].text


def test_keypoint_requests_work_off_the_event_loop(
    client, monkeypatch, trainer_payload, user_payload
):
    """Parsing, validating, database queries and commits, and storing the blobs all run
    in threads; the loop (where the async route runs) only waits for them."""
    threads: dict[str, set[int]] = {}

    def recorded(name, function):
        def call(*args, **kwargs):
            threads.setdefault(name, set()).add(threading.get_ident())
            return function(*args, **kwargs)

        return call

    check_json_type = json_requests.check_json_type  # called by the async route, on the loop
    monkeypatch.setattr(json_requests, "check_json_type", recorded("loop", check_json_type))
    for owner, name in (
        (json_requests, "parse_keypoint_body"),
        (Engine, "sequence"),
        (sessions, "usable_routine"),
        (persistence, "save_poses"),
        (Session, "execute"),
        (Session, "commit"),
    ):
        monkeypatch.setattr(owner, name, recorded(name, getattr(owner, name)))
    trainer = auth_headers(client, "coach@example.com", role="trainer")
    user = auth_headers(client, "ana@example.com")
    threads.clear()  # signing up and logging in are not keypoint requests
    body = {"name": "Squats", "movement": "squat", "keypoints": trainer_payload}
    routine = client.post("/v1/routines", headers=trainer, json=body | {"published": True})
    assert routine.status_code == 201, routine.text
    body = {"routine_id": routine.json()["id"], "keypoints": user_payload}
    session = client.post("/v1/sessions", headers=user, json=body)
    assert session.status_code == 201, session.text
    (loop,) = threads.pop("loop")
    assert set(threads) == {
        "parse_keypoint_body",
        "sequence",
        "usable_routine",
        "save_poses",
        "execute",
        "commit",
    }
    on_the_loop = [name for name, idents in threads.items() if loop in idents]
    assert on_the_loop == []


def test_start_up_objects_are_frozen_while_the_app_runs(settings):
    """The collector skips what start-up made (models, modules) while the app serves, and
    may collect it again once the app has stopped."""
    with TestClient(create_app(settings)):
        assert gc.get_freeze_count() > 10_000
    assert gc.get_freeze_count() == 0
