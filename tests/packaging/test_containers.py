"""The container files (deploy/), checked as far as a machine without Docker can: the
images cannot be built here, so what they name must exist and agree with the project.

Compose parses and builds from files that exist; every path the Dockerfiles copy is in
the repository and sent to the build; every ``COACH_*`` variable they or the deployment
guide name is a real setting; the commands they run exist; torch is never installed
loose; versions agree with pyproject's pins.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest
import typer.main
import yaml
from packaging.requirements import Requirement
from typer.testing import CliRunner

from bench.install_size import canonical
from coach_api.cli import app as coach_api_app
from coach_api.main import create_app
from coach_api.settings import Settings
from coach_cli.main import app as coach_app

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
GUIDE = ROOT / "docs" / "deploy.md"
DOCKERFILES = sorted(DEPLOY.glob("*.Dockerfile"))
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# Commands the guide and compose may name before they exist (none now).
PENDING_COMMANDS: set[tuple[str, str]] = set()


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of each instruction, continuation lines joined."""
    found, current = [], ""
    for line in dockerfile.read_text().splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line.rstrip().removesuffix("\\") + " "
        if not line.rstrip().endswith("\\"):
            keyword, _, arguments = current.strip().partition(" ")
            found.append((keyword.upper(), arguments.strip()))
            current = ""
    return found


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_builds_from_files_that_exist():
    services = compose()["services"]
    assert set(services) == {"api", "worker", "postgres", "redis", "gcs"}
    assert services["postgres"]["image"] == "postgres:15"
    assert services["redis"]["image"] == "redis:7"
    for name, service in services.items():
        if "build" in service:
            context = (DEPLOY / service["build"]["context"]).resolve()
            assert (context / service["build"]["dockerfile"]).is_file(), name
    api = services["api"]
    assert api["build"]["dockerfile"] == "deploy/api.Dockerfile"
    assert api["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "/v1/readyz" in " ".join(api["healthcheck"]["test"])
    # The worker runs the API's image; both read the queue and the counters from Redis.
    worker = services["worker"]
    assert worker["build"] == api["build"] and worker["command"] == ["coach-api", "worker"]
    assert api["environment"]["COACH_JOB_WORKER"] == "external"
    for service in (api, worker):
        assert service["environment"]["COACH_JOB_QUEUE_URL"].startswith("redis://redis:")


def _dockerignored(path: str) -> bool:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return any(fnmatch(path, p) or fnmatch(path.split("/")[0], p) for p in patterns)


def test_every_copied_path_is_in_the_build_context():
    for dockerfile in DOCKERFILES:
        for keyword, arguments in instructions(dockerfile):
            words = [w for w in shlex.split(arguments) if not w.startswith("--")]
            if keyword != "COPY" or "--from=" in arguments:
                continue
            for source in words[:-1]:
                assert (ROOT / source).exists(), f"{dockerfile.name}: {source} is missing"
                assert not _dockerignored(source), (
                    f"{dockerfile.name}: .dockerignore drops {source}"
                )


def test_the_images_copy_every_package_they_install():
    packages = {
        p.rstrip("*") for p in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    for name in ("api.Dockerfile", "batch.Dockerfile"):
        copied = {
            shlex.split(arguments)[0]
            for keyword, arguments in instructions(DEPLOY / name)
            if keyword == "COPY" and "--from=" not in arguments
        }
        assert packages <= copied, f"{name} leaves out {packages - copied}"


def _pip_installs(dockerfile: Path) -> list[list[str]]:
    """The words of every ``pip install`` the Dockerfile runs."""
    installs = []
    for keyword, arguments in instructions(dockerfile):
        if keyword == "RUN":
            for command in re.split(r"&&|;", arguments):
                words = shlex.split(command)
                if words[:2] == ["pip", "install"]:
                    installs.append(words[2:])
    return installs


def test_no_image_installs_a_loose_torch_or_an_unlocked_extra():
    extras = set(PYPROJECT["project"]["optional-dependencies"])
    for dockerfile in DOCKERFILES:
        for words in _pip_installs(dockerfile):
            torches = [w for w in words if re.match(r"torch\b", w)]
            assert all(w == "torch==2.13.0" for w in torches), (dockerfile.name, words)
            for word in words:
                if word.startswith(".["):
                    assert word[2:-1] in extras, (dockerfile.name, word)
                    assert "-c" in words and "requirements.lock" in words, (dockerfile.name, words)


def test_the_images_pin_what_pyproject_pins():
    pins = {
        canonical(r.name): str(r.specifier).removeprefix("==")
        for texts in PYPROJECT["project"]["optional-dependencies"].values()
        for r in map(Requirement, texts)
    }
    emulator = (DEPLOY / "gcs-emulator.Dockerfile").read_text()
    assert f"gcp-storage-emulator=={pins['gcp-storage-emulator']}" in emulator
    beam_image = f"apache/beam_python3.11_sdk:{pins['apache-beam']}"
    assert beam_image in (DEPLOY / "batch.Dockerfile").read_text()
    # Every base image is the Python the project requires.
    assert PYPROJECT["project"]["requires-python"] == ">=3.11,<3.12"
    for dockerfile in DOCKERFILES:
        for keyword, arguments in instructions(dockerfile):
            if (keyword, "IMAGE=" in arguments) == ("ARG", True) or (
                keyword == "FROM" and ":" in arguments
            ):
                assert "3.11" in arguments, (dockerfile.name, arguments)


def _settings_variables() -> set[str]:
    """Every ``COACH_*`` variable something reads: the settings, and `coach-api serve`'s."""
    names = {f"COACH_{name.upper()}" for name in Settings.model_fields}
    serve = typer.main.get_command(coach_api_app).commands["serve"]
    for param in serve.params:
        names |= {v for v in (param.envvar or ()) if v.startswith("COACH_")}
    return names


def test_every_coach_variable_named_is_a_real_setting():
    known = _settings_variables()
    for path in [COMPOSE, GUIDE, *DOCKERFILES]:
        named = set(re.findall(r"\bCOACH_[A-Z0-9_]*[A-Z0-9]", path.read_text()))
        assert named <= known, f"{path.name} names unknown settings: {named - known}"


def _commands_named(text: str) -> set[tuple[str, ...]]:
    """``coach-api X [Y]`` and ``coach X [Y]`` command paths in ``text`` (JSON arrays too)."""
    text = re.sub(r'"\s*,\s*"', " ", text)  # ["coach-api", "serve"] -> coach-api serve
    return {
        (program, *words.split())
        for program, words in re.findall(r"\b(coach-api|coach)[ \t]+([a-z][a-z -]*[a-z])", text)
    }


def _command_exists(path: tuple[str, ...]) -> bool:
    command = typer.main.get_command(coach_api_app if path[0] == "coach-api" else coach_app)
    for word in path[1:]:
        if not hasattr(command, "commands") or word not in command.commands:
            return False
        command = command.commands[word]
    return True


@pytest.mark.slow  # runs each command's help
def test_every_command_named_exists():
    runner = CliRunner()
    for path in [COMPOSE, GUIDE, *DOCKERFILES]:
        text = path.read_text()
        if path.suffix == ".md":  # the guide's commands: its code, not its prose
            text = "\n".join(re.findall(r"```.*?```|`[^`\n]+`", text, re.DOTALL))
        for named in _commands_named(text):
            # The longest prefix that names a command: the rest are its arguments.
            prefixes = [named[:n] for n in range(len(named), 1, -1)]
            known = [p for p in prefixes if _command_exists(p)]
            if named[:2] in PENDING_COMMANDS:
                assert not known, f"{named[:2]} exists now: take it out of PENDING_COMMANDS"
                continue
            assert known, f"{path.name} runs {' '.join(named)}, which is no command"
    serve = CliRunner().invoke(coach_api_app, ["serve", "--help"])
    assert serve.exit_code == 0 and "--host" in serve.output and "PORT" in serve.output
    assert runner.invoke(coach_api_app, ["migrate", "--help"]).exit_code == 0
    assert runner.invoke(coach_api_app, ["worker", "--help"]).exit_code == 0
    assert {"api", "worker", "redis"} <= set(compose()["services"])
    assert PYPROJECT["project"]["scripts"]["coach-api"] == "coach_api.cli:app"


def test_the_images_run_a_command_and_probe_a_real_route(tmp_path):
    (cmd,) = [a for k, a in instructions(DEPLOY / "api.Dockerfile") if k == "CMD"]
    assert json.loads(cmd)[:2] == ["coach-api", "serve"]
    routes = create_app(Settings(data_dir=tmp_path)).openapi()["paths"]
    assert {"/v1/healthz", "/v1/readyz"} <= set(routes)
    (check,) = [a for k, a in instructions(DEPLOY / "api.Dockerfile") if k == "HEALTHCHECK"]
    assert "/v1/readyz" in check


def test_cloud_build_builds_the_dockerfiles_here():
    steps = yaml.safe_load((DEPLOY / "cloudbuild.yaml").read_text())["steps"]
    built = {step["args"][step["args"].index("-f") + 1] for step in steps}
    assert built == {"deploy/api.Dockerfile", "deploy/batch.Dockerfile"}
    assert all((ROOT / path).is_file() for path in built)
