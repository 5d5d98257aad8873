"""The contract as the app team meets it: clients generated from the live OpenAPI schema.

openapi-generator-cli (its PyPI package bundles the generator; Java runs it) makes the
``dart-dio`` client the Flutter app uses and a ``python`` one; the whole app flow then runs
through the generated Python client against a real server: typed answers, typed errors,
binary downloads with ETags.
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from coach_client.local_server import free_port, grant_role, server_env, start_server
from mobile_export.export import export_all
from tests.conftest import tiny_lifter_checkpoint

pytestmark = [
    pytest.mark.slow,  # three generator runs and a server: about a minute
    pytest.mark.skipif(shutil.which("java") is None, reason="openapi-generator needs Java"),
]

GENERATOR = Path(sys.executable).with_name("openapi-generator-cli")
BETA_NOTE = "OpenAPI 3.1 support is still in beta"
# A schema with one request model that refuses unknown keys, as ours do: whatever the
# generator warns about it is the generator's own noise, not something of our schema.
MINIMAL = {
    "openapi": "3.1.0",
    "info": {"title": "minimal", "version": "1"},
    "paths": {},
    "components": {
        "schemas": {
            "Thing": {
                "type": "object",
                "properties": {"name": {"type": "string"}},
                "additionalProperties": False,
            }
        }
    },
}


def generate(schema: dict, generator: str, out: Path, *options: str) -> set[str]:
    """Run the generator on ``schema``; the set of its warning lines (without the logger's
    prefix). Fails the test if it fails."""
    out.mkdir(parents=True, exist_ok=True)
    spec = out / "openapi.json"
    spec.write_text(json.dumps(schema))
    command = [str(GENERATOR), "generate", "-i", str(spec), "-g", generator, "-o", str(out)]
    done = subprocess.run([*command, *options], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = (done.stdout + done.stderr).splitlines()
    return {line.split(" - ", 1)[-1] for line in lines if "WARN" in line}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real server on loopback with a tiny lifter, its phone models exported, and
    sessions over 60 frames scored in the background."""
    folder = tmp_path_factory.mktemp("generated-clients")
    checkpoint = tiny_lifter_checkpoint(folder, "contract-test")
    export_all(folder / "data" / "models", ["onnx"], "fp16", checkpoint)
    port = free_port()
    settings = {"lifter_checkpoint": checkpoint, "background_frames": 60, "live_burst_s": 60}
    process = start_server(folder / "data", port, **settings)
    try:
        yield f"http://127.0.0.1:{port}", server_env(folder / "data", **settings)
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def schema(server):
    url, _ = server
    return httpx.get(f"{url}/v1/openapi.json").json()


@pytest.mark.parametrize("generator", ["dart-dio", "python"])
def test_clients_generate_without_warnings_of_our_own(schema, generator, tmp_path):
    noise = generate(MINIMAL, generator, tmp_path / "minimal")
    warnings = generate(schema, generator, tmp_path / "client")
    assert any(BETA_NOTE in w for w in warnings)
    assert warnings <= noise, warnings - noise
    if generator == "dart-dio":  # the report is a class, not a BuiltMap of JSON objects
        models = tmp_path / "client" / "lib" / "src" / "model"
        assert (models / "session_report_out.dart").is_file()
        session = (models / "session_public.dart").read_text()
        assert "SessionReportOut get report" in session
        assert "JsonObject" not in session


@pytest.fixture(scope="module")
def client_package(schema, tmp_path_factory):
    """The generated Python client, imported."""
    out = tmp_path_factory.mktemp("python-client")
    generate(schema, "python", out, "--package-name", "coach_openapi")
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module("coach_openapi")
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m.startswith("coach_openapi")]:
            del sys.modules[name]


def _api(package, url: str, token: str | None = None):
    configuration = package.Configuration(host=url, access_token=token)
    return package.ApiClient(configuration)


def _header(response, name: str) -> str:
    """A header of a generated client's response (HTTP names are case-insensitive)."""
    return {key.lower(): value for key, value in response.headers.items()}[name.lower()]


def test_the_app_flow_through_the_generated_client(
    server, client_package, trainer_payload, user_payload
):
    url, env = server
    api = client_package
    anonymous = _api(api, url)
    auth = api.AuthApi(anonymous)

    # Register a trainer and a user; the operator makes the trainer one.
    auth.register(api.UserCreate(email="coach@example.com", password="coach password"))
    grant_role("coach@example.com", "trainer", env)
    user = auth.register(api.UserCreate(email="ana@example.com", password="ana password"))
    assert user.role == "user"
    with pytest.raises(api.ApiException) as taken:
        auth.register(api.UserCreate(email="ana@example.com", password="ana password"))
    assert taken.value.status == 409
    assert json.loads(taken.value.body)["error"]["code"] == "email_taken"

    def login(email: str, password: str):
        token = auth.login(username=email, password=password).access_token
        return _api(api, url, token)

    trainer, ana = (
        login("coach@example.com", "coach password"),
        login("ana@example.com", "ana password"),
    )

    # The trainer publishes a routine; the user finds it in the catalogue.
    keypoints = api.KeypointSequenceIn.from_dict(trainer_payload)
    routine = api.RoutinesApi(trainer).create_routine(
        api.RoutineCreate(name="Squats", movement="squat", keypoints=keypoints, published=True)
    )
    assert routine.created_at.tzinfo is not None  # UTC, never read as local time
    catalogue = api.RoutinesApi(ana).list_routines()
    assert [r.id for r in catalogue] == [routine.id] and catalogue[0].movement == "squat"

    # A short session is scored while the app waits: a typed report.
    sessions = api.SessionsApi(ana)
    short = copy.deepcopy(user_payload)
    short["frames"] = short["frames"][:60]
    scored = sessions.create_session(
        api.SessionCreate(routine_id=routine.id, keypoints=api.KeypointSequenceIn.from_dict(short))
    )
    report = scored.report
    assert isinstance(report, api.SessionReportOut) and 0 <= report.score <= 100
    assert isinstance(report.tempo, api.TempoOut)
    assert all(isinstance(e, api.ErrorEventOut) for e in report.errors)
    assert report.strictness in ("beginner", "intermediate", "expert")

    # A long one answers 422 too_long_to_wait there, and goes to a background job.
    long = api.SessionCreate(
        routine_id=routine.id, keypoints=api.KeypointSequenceIn.from_dict(user_payload)
    )
    with pytest.raises(api.ApiException) as too_long:
        sessions.create_session(long)
    assert too_long.value.status == 422
    assert json.loads(too_long.value.body)["error"]["code"] == "too_long_to_wait"
    job = sessions.create_session_job(long)
    assert isinstance(job, api.JobPublic) and job.status in ("queued", "running", "done")
    for _ in range(600):
        job = sessions.get_job(job.id)
        if job.status in ("done", "failed"):
            break
        time.sleep(0.1)
    assert job.status == "done", job.error
    long_session = sessions.get_session(job.session_id)
    assert long_session.report.reps >= 1 and long_session.report.tempo.per_rep
    history = sessions.list_sessions()
    assert history.total == 2 and {s.id for s in history.items} == {scored.id, job.session_id}

    # The phone model: the sidecar, a download matching its checksum, then 304.
    ops = api.OpsApi(anonymous)
    sidecar = ops.get_phone_models("android")
    assert isinstance(sidecar, api.PhoneModelSidecar)
    name = "lifter_stream.onnx"
    artifact = sidecar.artifacts[name]
    first = ops.download_phone_model_with_http_info("android", name)
    assert first.status_code == 200
    assert hashlib.sha256(first.data).hexdigest() == artifact.sha256
    # The generated clients raise on any status outside 2xx: a 304 comes as that status.
    with pytest.raises(api.ApiException) as unchanged:
        ops.download_phone_model(
            "android", name, _headers={"If-None-Match": _header(first, "ETag")}
        )
    assert unchanged.value.status == 304 and not unchanged.value.body
    sidecar_first = ops.get_phone_models_with_http_info("android")
    with pytest.raises(api.ApiException) as sidecar_unchanged:
        ops.get_phone_models("android", _headers={"If-None-Match": _header(sidecar_first, "ETag")})
    assert sidecar_unchanged.value.status == 304
    # The champion (here the bundled export) for an app new enough; an older one is refused.
    pinned = ops.get_phone_models("android", version="bundled", x_app_version="1.0.0")
    assert pinned.version == "bundled" and pinned.min_app_version == "1.0.0"
    with pytest.raises(api.ApiException) as too_old:
        ops.get_phone_models("android", x_app_version="0.9.0")
    assert too_old.value.status == 409
    assert json.loads(too_old.value.body)["error"]["code"] == "app_too_old"

    # Feedback on a cue (or 422 naming the field when the session had none).
    if report.errors:
        feedback = sessions.create_feedback(
            scored.id, api.FeedbackCreate(error_index=0, verdict="wrong")
        )
        assert feedback.verdict == "wrong" and feedback.kind == report.errors[0].kind
    else:
        with pytest.raises(api.ApiException) as no_cue:
            sessions.create_feedback(scored.id, api.FeedbackCreate(error_index=0, verdict="wrong"))
        assert json.loads(no_cue.value.body)["error"]["field"] == "error_index"

    # Another account cannot see the session; deleting the account ends its tokens.
    auth.register(api.UserCreate(email="bob@example.com", password="bob password"))
    bob = login("bob@example.com", "bob password")
    with pytest.raises(api.ApiException) as hidden:
        api.SessionsApi(bob).get_session(scored.id)
    assert hidden.value.status == 404
    api.AuthApi(ana).delete_me()
    with pytest.raises(api.ApiException) as gone:
        api.AuthApi(ana).get_me()
    assert gone.value.status == 401
