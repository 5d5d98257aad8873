"""Migrations: the models and the migrations describe one schema, and a database made
before migrations (today's installations) is upgraded in place, its rows kept. Run on
PostgreSQL too in a ``COACH_TEST_POSTGRES=1`` pass (``make test``)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from coach_api.db import Base, User, make_engine, make_sessionmaker
from coach_api.migrate import OutdatedDatabaseError, current_revision, head_revision
from tests.coach_api.conftest import ON_POSTGRES, auth_headers, fresh_database_url

BEFORE_MIGRATIONS = Path(__file__).parent / "data" / "schema_before_migrations.sql"


def test_the_migrations_make_the_schema_the_models_describe(tmp_path):
    engine = make_engine(fresh_database_url() or f"sqlite:///{tmp_path / 'fresh.db'}")
    with engine.connect() as connection:
        assert current_revision(connection) == head_revision()
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


def _database_from_before_migrations(path: Path, *, drop_column: str = "") -> str:
    """A SQLite file with the schema main made before migrations, and one account."""
    schema = BEFORE_MIGRATIONS.read_text()
    if drop_column:
        schema = schema.replace(f"\t{drop_column} ", f"\tgone_{drop_column} ")
    with sqlite3.connect(path) as connection:
        connection.executescript(schema)
        connection.execute(
            "INSERT INTO users (email, password_hash, role, token_key, created_at) "
            "VALUES ('old@example.com', 'x', 'trainer', 'key', '2026-11-01 10:00:00')"
        )
    return f"sqlite:///{path}"


@pytest.mark.skipif(ON_POSTGRES, reason="the old installations are SQLite files")
def test_a_database_from_before_migrations_is_upgraded_in_place(tmp_path, settings):
    url = _database_from_before_migrations(tmp_path / "coach.db")
    engine = make_engine(url)
    with engine.connect() as connection:
        assert current_revision(connection) == head_revision()
    with make_sessionmaker(engine)() as db:
        old = db.scalars(select(User)).one()
        assert (old.email, old.role) == ("old@example.com", "trainer")
    engine.dispose()
    # The service starts on it and goes on from its rows: new ids follow the old ones.
    from fastapi.testclient import TestClient

    from coach_api.main import create_app

    settings.database_url = url
    with TestClient(create_app(settings)) as client:
        auth_headers(client, "new@example.com")
        assert client.get("/v1/me", headers=auth_headers(client, "b@example.com")).json()["id"] == 3


@pytest.mark.skipif(ON_POSTGRES, reason="the old installations are SQLite files")
def test_a_database_older_than_migrations_is_refused_not_damaged(tmp_path):
    url = _database_from_before_migrations(tmp_path / "coach.db", drop_column="keep_video")
    with pytest.raises(OutdatedDatabaseError, match="jobs lacks keep_video"):
        make_engine(url)
    with sqlite3.connect(tmp_path / "coach.db") as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert "alembic_version" not in tables


def test_a_new_revision_follows_the_newest_and_holds_what_the_models_changed(tmp_path, monkeypatch):
    import shutil

    import coach_api.migrate as migrate

    copy = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, copy)
    monkeypatch.setattr(migrate, "MIGRATIONS", copy)
    head = migrate.head_revision()
    written = migrate.new_revision("nothing new")
    text = written.read_text()
    assert written.parent == copy / "versions"
    assert written.name.startswith(f"{int(head) + 1:04d}_")
    assert f"down_revision = '{head}'" in text
    # The models and the migrations agree, so there is nothing to do either way.
    assert "op." not in text
