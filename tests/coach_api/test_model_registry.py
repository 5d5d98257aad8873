"""The API serving from the model registry, naming its models, and shadow scoring.

A throwaway MLflow store per module (tests/lifecycle/conftest.py's way): the bundled
models registered as version 1 of each kind, a tiny lifter labelled ``registry-v2`` as
version 2 of both lifters (the champion), and another tiny lifter as version 3 of the
recordings lifter (the challenger).
"""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from coach_api.db import WorkoutSession
from coach_api.main import create_app
from coach_api.served_models import ModelSourceError
from coach_api.shadow import SHADOW_KEY, compare
from lifecycle import registry
from lifecycle.bundled import bundled_card, bundled_folder
from pose3d.checkpoint import LifterMetadata, save_checkpoint
from tests.coach_api.conftest import (
    app_settings,
    auth_headers,
    new_email,
    published_routine,
    wait_job,
)
from tests.conftest import make_model, tiny_lifter_checkpoint


def _store_env(patch: pytest.MonkeyPatch, folder) -> None:
    patch.delenv("COACH_MLFLOW_TRACKING_URI", raising=False)
    patch.delenv("MLFLOW_TRACKING_URI", raising=False)
    patch.setenv("COACH_MLFLOW_DIR", str(folder / "mlruns"))


@pytest.fixture(scope="module")
def seeded_registry(tmp_path_factory):
    """The module's registry (see the module's docstring); yields its folder."""
    folder = tmp_path_factory.mktemp("registry")
    with pytest.MonkeyPatch.context() as patch:
        _store_env(patch, folder)
        for kind in registry.KINDS:
            card = bundled_card(kind)
            version = registry.register(kind, bundled_folder(kind, folder / kind), card)
            registry.set_alias(kind, "champion", version)
        tiny_lifter_checkpoint(folder / "v2", "registry-v2")
        for kind in ("lifter-causal", "lifter-recordings"):
            card = registry.ModelCard(kind, "registry-v2", {"synthetic.mpjpe_mm": 99.0})
            registry.set_alias(kind, "champion", registry.register(kind, folder / "v2", card))
        model = make_model((3, 3), causal=True, channels=16, seed=1)
        metadata = LifterMetadata(model.hyperparameters, fps=30, version="registry-v3")
        save_checkpoint(folder / "v3" / "lifter.pt", model, metadata)
        card = registry.ModelCard("lifter-recordings", "registry-v3")
        version = registry.register("lifter-recordings", folder / "v3", card)
        registry.set_alias("lifter-recordings", "challenger", version)
        yield folder


@pytest.fixture(scope="module")
def registry_client(seeded_registry, tmp_path_factory):
    """An app serving the registry's champions, shadow-scoring with the challenger."""
    settings = app_settings(tmp_path_factory.mktemp("registry-app")).model_copy(
        update={"model_source": "registry", "shadow_alias": "challenger", "lifter_checkpoint": None}
    )
    with pytest.MonkeyPatch.context() as patch:
        _store_env(patch, seeded_registry)
        with TestClient(create_app(settings)) as client:
            yield client


@pytest.mark.slow  # registers the bundled models and loads the registered detector
def test_the_registry_champions_are_served_and_named_in_each_report(
    registry_client, trainer_payload, user_payload
):
    client = registry_client
    models = {m["kind"]: m for m in client.get("/v1/models").json()}
    assert {kind: m["registered_version"] for kind, m in models.items()} == {
        "lifter-causal": "2",
        "lifter-recordings": "2",
        "detector": "1",
        "knee-net": "1",
    }
    recordings = models["lifter-recordings"]
    assert recordings["version"] == recordings["label"] == "registry-v2"
    assert (recordings["source"], recordings["alias"]) == ("registry", "champion")
    assert recordings["metrics"] == {"synthetic.mpjpe_mm": 99.0}
    assert models["lifter-causal"]["causal"] is True and models["detector"]["fps"] is None

    routine = published_routine(client, trainer_payload)
    user = auth_headers(client, new_email())
    body = {"routine_id": routine, "keypoints": user_payload}
    answered = client.post("/v1/sessions", headers=user, json=body)
    assert answered.status_code == 201, answered.text
    report = answered.json()["report"]
    assert report["model_version"] == "registry-v2"
    assert report["models"] == {"lifter-recordings": "2", "detector": "1", "knee-net": "1"}


def _stored_report_with_shadow(client, session_id: int, wait_s: float = 60.0) -> dict:
    """Session ``session_id``'s stored report once the shadow scoring has added its
    comparison: the job is done when its session is stored, the challenger comes after."""
    deadline = time.monotonic() + wait_s
    while True:
        with client.app.state.sessionmaker() as db:
            stored = db.get(WorkoutSession, session_id).report
        if SHADOW_KEY in stored or time.monotonic() > deadline:
            return stored
        time.sleep(0.1)


@pytest.mark.slow  # scores each session twice, inline and as a job
def test_the_challenger_shadow_scores_sessions_out_of_the_users_sight(
    registry_client, trainer_payload, user_payload
):
    client = registry_client
    admin = auth_headers(client, new_email("admin"), role="admin")
    before = client.get("/v1/admin/shadow", headers=admin).json()["compared"]
    routine = published_routine(client, trainer_payload)
    user = auth_headers(client, new_email())
    body = {"routine_id": routine, "keypoints": user_payload}
    answered = client.post("/v1/sessions", headers=user, json=body).json()
    job = client.post("/v1/session-jobs", headers=user, json=body).json()
    done = wait_job(client, user, job["id"])
    assert done["status"] == "done", done

    for session_id in (answered["id"], done["session_id"]):
        stored = _stored_report_with_shadow(client, session_id)
        shadow = stored.pop(SHADOW_KEY)  # kept with the stored report...
        assert shadow["challenger"]["lifter-recordings"] == "3"
        assert shadow["champion"]["lifter-recordings"] == "2"
        shown = client.get(f"/v1/sessions/{session_id}", headers=user).json()["report"]
        assert SHADOW_KEY not in shown  # ...never shown
        assert shown["models"] == stored["models"] and shown["score"] == stored["score"]
    # The user's answer is the report as the champion scored it.
    inline = client.get(f"/v1/sessions/{answered['id']}", headers=user).json()["report"]
    assert inline == answered["report"]

    summary = client.get("/v1/admin/shadow", headers=admin).json()
    assert summary["compared"] == before + 2
    group = next(g for g in summary["groups"] if g["challenger"]["lifter-recordings"] == "3")
    assert group["sessions"] >= 2 and group["champion"]["detector"] == "1"
    for agreement in group["kinds"].values():
        assert 0 <= agreement["agreement"] <= 1
        cues = agreement["champion_cues"] + agreement["challenger_cues"]
        assert agreement["disagreements"] <= cues
    metrics = client.get("/v1/metrics").text
    assert "coach_shadow_sessions_total" in metrics and "coach_shadow_failures_total 0.0" in metrics

    assert client.get("/v1/admin/shadow", headers=user).status_code == 403
    too_many = client.get("/v1/admin/shadow?limit=100000", headers=admin)
    assert too_many.status_code == 422 and too_many.json()["error"]["field"] == "query.limit"


@pytest.mark.slow  # creates an MLflow store (its database's migrations take seconds)
def test_a_registry_without_a_champion_stops_the_start_naming_the_kind(tmp_path, monkeypatch):
    _store_env(monkeypatch, tmp_path)
    settings = app_settings(tmp_path).model_copy(update={"model_source": "registry"})
    app = create_app(settings)
    with pytest.raises(ModelSourceError, match=r"lifter-causal model 'champion'.*sqlite:///"):
        TestClient(app).__enter__()  # the lifespan's start-up: the models are loaded there


def test_bundled_reports_name_their_models_and_only_admins_see_the_shadow(
    client, trainer_payload, user_payload
):
    routine = published_routine(client, trainer_payload)
    user = auth_headers(client, new_email())
    body = {"routine_id": routine, "keypoints": user_payload}
    report = client.post("/v1/sessions", headers=user, json=body).json()["report"]
    assert report["models"] == {
        "lifter-recordings": "api-test",
        "detector": "bundled-detector",
        "knee-net": "bundled-knee-net",
    }
    assert client.get("/v1/admin/shadow", headers=user).status_code == 403
    admin = auth_headers(client, new_email("admin"), role="admin")
    summary = client.get("/v1/admin/shadow", headers=admin).json()
    assert summary == {"limit": 500, "scanned": 1, "compared": 0, "groups": []}


class _BrokenLifter:
    """A recordings lifter that fails on every sequence, as a broken challenger may."""

    def lift_sequence(self, sequence):
        raise RuntimeError("the challenger broke")


def test_a_failing_shadow_is_counted_and_leaves_the_session_alone(
    client, trainer_payload, user_payload
):
    engine = client.app.state.engine
    engine.shadow = replace(engine.models, recordings=_BrokenLifter())
    routine = published_routine(client, trainer_payload)
    user = auth_headers(client, new_email())
    body = {"routine_id": routine, "keypoints": user_payload}
    answered = client.post("/v1/sessions", headers=user, json=body)
    assert answered.status_code == 201, answered.text
    with client.app.state.sessionmaker() as db:
        assert SHADOW_KEY not in db.get(WorkoutSession, answered.json()["id"]).report
    metrics = client.get("/v1/metrics").text
    assert "coach_shadow_failures_total 1.0" in metrics
    assert "coach_shadow_sessions_total 0.0" in metrics


def _event(kind: str, segment: str, start: float, end: float) -> dict:
    return {"kind": kind, "segment": segment, "start_s": start, "end_s": end}


def test_cues_agree_on_the_same_kind_segment_and_overlapping_time():
    champion = {
        "score": 80.0,
        "models": {"detector": "1"},
        "errors": [
            _event("rounded_back", "spine", 1.0, 2.0),
            _event("rounded_back", "spine", 5.0, 6.0),
            _event("knees_caving_in", "left_leg", 1.0, 2.0),
        ],
    }
    challenger = {
        "score": 72.5,
        "models": {"detector": "2"},
        "errors": [
            _event("rounded_back", "spine", 1.5, 2.5),  # the same cue as the first
            _event("knees_caving_in", "right_leg", 1.0, 2.0),  # the other knee
            _event("off_beat", "timing", 0.0, 1.0),
        ],
    }
    assert compare(champion, challenger) == {
        "champion": {"detector": "1"},
        "challenger": {"detector": "2"},
        "score": 72.5,
        "score_difference": -7.5,
        "kinds": {
            "knees_caving_in": {"champion": 1, "challenger": 1, "disagreements": 2},
            "off_beat": {"champion": 0, "challenger": 1, "disagreements": 1},
            "rounded_back": {"champion": 2, "challenger": 1, "disagreements": 1},
        },
    }
