"""re-scoring: a session keeps what it was scored from (its keypoints blob) and which
re-scoring job made its current report, and when; a job keeps its result (what a
re-scoring did).

Sessions stored before hold no keypoints: a re-scoring skips them (the job's result says
so).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("keypoints_blob", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("rescored_by_job", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("rescored_at", sa.DateTime(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_sessions_rescored_by_job"), ["rescored_by_job"], unique=False
        )

    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("result_json", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("result_json")

    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sessions_rescored_by_job"))
        batch_op.drop_column("rescored_at")
        batch_op.drop_column("rescored_by_job")
        batch_op.drop_column("keypoints_blob")
