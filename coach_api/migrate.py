"""Bring a database to the schema this code expects, with Alembic (``coach_api/migrations``).

Run by the API at start-up (the embedded SQLite default migrates itself) and by
``coach-api migrate`` (a production deploy's step before new replicas start). A database
made before migrations existed (tables, no ``alembic_version``) holds the baseline
revision's schema: it is stamped with it, then upgraded like any other. On PostgreSQL an
advisory lock makes replicas starting at once migrate one after the other.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection, Engine

MIGRATIONS = Path(__file__).with_name("migrations")
BASELINE = "0001"  # the schema ``create_all`` made before migrations
# Any constant: the key of the PostgreSQL advisory lock replicas take while migrating.
MIGRATION_LOCK = 0x636F616368  # "coach"
# The baseline's tables, and the columns every one of them had.
BASELINE_TABLES = {
    "users": {"id", "email", "password_hash", "role", "token_key", "created_at"},
    "routines": {
        "id", "owner_id", "name", "movement", "fps", "frames", "reps", "blob", "published",
        "created_at",
    },
    "sessions": {
        "id", "user_id", "routine_id", "routine_name", "score", "report_json", "blob",
        "created_at",
    },
    "jobs": {
        "id", "user_id", "status", "session_id", "routine_id", "error", "video_blob",
        "keep_video", "created_at",
    },
    "feedback": {
        "id", "session_id", "user_id", "error_index", "kind", "verdict", "comment", "created_at",
    },
    "invitations": {
        "id", "code_sha256", "role", "created_by", "expires_at", "used_by", "created_at",
    },
}  # fmt: skip


class OutdatedDatabaseError(RuntimeError):
    """The database was made by a version older than the first migration."""


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for our migrations, on ``connection`` if given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision: the schema this code expects."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The database's revision (None: never migrated)."""
    return MigrationContext.configure(connection).get_current_revision()


def _stamp_if_made_before_migrations(connection: Connection, config: Config) -> None:
    """Stamp a pre-migration database with the baseline; refuse one older than that."""
    tables = set(inspect(connection).get_table_names())
    ours = tables & set(BASELINE_TABLES)
    if not ours or current_revision(connection) is not None:
        return
    for table in sorted(ours):
        present = {column["name"] for column in inspect(connection).get_columns(table)}
        missing = sorted(BASELINE_TABLES[table] - present)
        if missing:
            raise OutdatedDatabaseError(
                f"the database is from a version older than migrations (table {table} lacks "
                f"{', '.join(missing)}); move it away to start afresh"
            )
    command.stamp(config, BASELINE)


def upgrade_database(engine: Engine) -> str:
    """Upgrade the database of ``engine`` to :func:`head_revision`; returns it."""
    with engine.connect() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
            connection.commit()
        try:
            config = alembic_config(connection)
            _stamp_if_made_before_migrations(connection, config)
            command.upgrade(config, "head")
            connection.commit()
            return current_revision(connection)
        finally:
            if postgres:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
                connection.commit()


def new_revision(message: str) -> Path:
    """Write the next revision's file: what the models hold beyond the newest revision
    (Alembic's autogenerate, compared on a scratch SQLite database at head). Review it
    before committing: autogenerate misses renames and data moves."""
    # After the newest's number, not the count of revisions: numbers may skip (a branch's
    # revision is numbered for its place after another branch's, merged later).
    number = f"{int(head_revision()) + 1:04d}"
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite:///{scratch}/scratch.db")
        with engine.connect() as connection:
            config = alembic_config(connection)
            command.upgrade(config, "head")
            written = command.revision(config, message, autogenerate=True, rev_id=number)
        engine.dispose()
    return Path(written.path)
