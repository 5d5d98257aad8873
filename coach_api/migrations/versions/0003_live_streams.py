"""live streams: a live socket's stream (header, checkpointed frames, repetitions sent)
kept so that a reconnect to any replica resumes it.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "live_streams",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("routine_id", sa.Integer(), nullable=False),
        sa.Column("header_json", sa.Text(), nullable=False),
        sa.Column("chunks_json", sa.Text(), nullable=False),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("reported", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("live_streams", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_live_streams_updated_at"), ["updated_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_live_streams_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("live_streams", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_live_streams_user_id"))
        batch_op.drop_index(batch_op.f("ix_live_streams_updated_at"))

    op.drop_table("live_streams")
