"""Property-based requests generated from the OpenAPI schema: the API never answers 5xx.

Every operation gets up to 40 generated cases (over 500 in all), sent with a valid
bearer token so the authenticated paths are exercised too.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from coach_api.accounts import grant_role
from coach_api.main import create_app
from coach_api.settings import Settings
from pose3d.checkpoint import LifterMetadata, save_checkpoint
from tests.conftest import make_model

pytestmark = pytest.mark.slow  # some 1,100 generated requests: minutes on two cores

CALLS: list[int] = []


def _app(folder):
    model = make_model((3, 3), causal=True, channels=16)
    checkpoint = save_checkpoint(
        folder / "lifter.pt",
        model,
        LifterMetadata(architecture=model.hyperparameters, fps=30, version="fuzz"),
    )
    app = create_app(
        Settings(
            data_dir=folder / "data",
            lifter_checkpoint=checkpoint,
            rate_per_minute=1e9,
            rate_burst=10**9,
        )
    )
    return app


APP = _app(Path(tempfile.mkdtemp(prefix="coach-fuzz-")))
schema = schemathesis.openapi.from_asgi("/v1/openapi.json", APP)


@pytest.fixture(scope="module")
def running_app():
    with TestClient(APP) as client:  # runs the lifespan: the lifter is loaded
        client.post(
            "/v1/auth/register", json={"email": "fuzz@example.com", "password": "fuzz password"}
        )
        with APP.state.sessionmaker() as db:
            grant_role(db, "fuzz@example.com", "trainer")
        token = client.post(
            "/v1/auth/login", data={"username": "fuzz@example.com", "password": "fuzz password"}
        ).json()["access_token"]
        yield APP, {"Authorization": f"Bearer {token}"}


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case, running_app):
    _, headers = running_app
    response = case.call(headers=headers)
    CALLS.append(response.status_code)
    assert response.status_code < 500, (case.method, case.path, response.text[:300])


def test_enough_generated_cases_ran():
    assert len(CALLS) >= 500, len(CALLS)
