"""Alembic migrations of the service's database (``versions/``, one file a revision)."""
