"""Alembic's entry point: migrations run on the connection :mod:`coach_api.migrate` hands
over (in ``config.attributes["connection"]``); there is no ``alembic.ini``."""

from __future__ import annotations

from alembic import context

from coach_api.db import Base

connection = context.config.attributes["connection"]
# Batch mode: SQLite alters a table by copying it, which Alembic does when asked to.
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
