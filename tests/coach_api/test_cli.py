"""``coach-api``: the service's operator commands, and roles granted from outside the
service (``coach_client.local_server.grant_role`` runs ``python -m coach_api users grant``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer.main
from sqlalchemy import select
from typer.testing import CliRunner

from coach_api.cli import app
from coach_api.db import User
from coach_client.local_server import grant_role, server_env

runner = CliRunner()


def test_every_command_has_help():
    root = typer.main.get_command(app)
    paths = [(name,) for name in root.commands] + [("users", "grant")]
    assert {("serve",), ("worker",), ("pose-task",), ("users",), ("live-schema",)} <= set(paths)
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)


def test_serve_refuses_an_unknown_log_level():
    result = runner.invoke(app, ["serve", "--log-level", "loud"])
    assert result.exit_code != 0 and "log-level" in result.output


@pytest.mark.parametrize(
    ("env", "args", "port"),
    [
        ({}, [], 8000),
        ({"PORT": "8080"}, [], 8080),  # Cloud Run's
        ({"PORT": "8080", "COACH_PORT": "9000"}, [], 9000),
        ({"PORT": "8080"}, ["--port", "7000"], 7000),
    ],
)
def test_serve_listens_on_the_port_the_platform_names(monkeypatch, tmp_path, env, args, port):
    served = {}
    monkeypatch.setattr("uvicorn.run", lambda app, **options: served.update(options))
    monkeypatch.delenv("PORT", raising=False)
    monkeypatch.delenv("COACH_PORT", raising=False)
    env = {**env, "COACH_DATA_DIR": str(tmp_path)}
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0", *args], env=env)
    assert result.exit_code == 0, result.output
    assert served["port"] == port and served["host"] == "0.0.0.0"


def test_live_schema_writes_the_published_schema(tmp_path):
    out = tmp_path / "live.schema.json"
    result = runner.invoke(app, ["live-schema", "--out", str(out)])
    assert result.exit_code == 0, result.output
    published = Path(__file__).parents[2] / "docs" / "live-messages.schema.json"
    assert out.read_text(encoding="utf-8") == published.read_text(encoding="utf-8")


@pytest.mark.slow  # the operator's command on two databases
def test_roles_are_granted_on_the_database_the_settings_name(client, settings):
    for email in ("coach@example.com", "ana@example.com"):
        body = {"email": email, "password": "correct horse"}
        assert client.post("/v1/auth/register", json=body).status_code == 201
    # The database the settings name: the data folder's SQLite file, or a PostgreSQL URL.
    env = {"COACH_DATA_DIR": str(settings.data_dir), "COACH_DATABASE_URL": settings.database_url}
    result = runner.invoke(
        app, ["users", "grant", "coach@example.com", "--role", "trainer"], env=env
    )
    assert result.exit_code == 0 and "is now trainer" in result.output
    subprocess_env = server_env(settings.data_dir, database_url=settings.database_url)
    grant_role("ana@example.com", "admin", subprocess_env)  # a subprocess
    with pytest.raises(RuntimeError, match="no account"):
        grant_role("nobody@example.com", "admin", subprocess_env)
    with client.app.state.sessionmaker() as db:
        roles = {user.email: user.role for user in db.scalars(select(User))}
    assert roles == {"coach@example.com": "trainer", "ana@example.com": "admin"}
