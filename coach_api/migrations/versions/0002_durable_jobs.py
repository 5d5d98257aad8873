"""durable jobs: a job's kind, parameters, input, attempts, progress and lease; the
job that made a session or routine (unique: a retried job cannot store twice).

Rows made before hold no kind: the worker fails them (their input was never kept).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=20), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("params_json", sa.Text(), nullable=False, server_default="{}")
        )
        batch_op.add_column(
            sa.Column("input_blob", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("stage", sa.String(length=40), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("progress", sa.Double(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_jobs_lease_until"), ["lease_until"], unique=False)

    with op.batch_alter_table("routines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("job_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_routines_job_id"), ["job_id"], unique=True)

    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("job_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_sessions_job_id"), ["job_id"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sessions_job_id"))
        batch_op.drop_column("job_id")

    with op.batch_alter_table("routines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routines_job_id"))
        batch_op.drop_column("job_id")

    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_lease_until"))
        batch_op.drop_column("lease_until")
        batch_op.drop_column("progress")
        batch_op.drop_column("stage")
        batch_op.drop_column("attempts")
        batch_op.drop_column("input_blob")
        batch_op.drop_column("params_json")
        batch_op.drop_column("kind")
