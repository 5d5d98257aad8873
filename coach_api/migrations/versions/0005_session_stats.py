"""session statistics: per scored session, the statistics drift monitoring compares
(``scoring.session_stats``), one row per session, erased with the session and the
account.

Sessions stored before have none: a re-scoring gives them theirs.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session_stats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("stats_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("session_stats", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_session_stats_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_session_stats_session_id"), ["session_id"], unique=True
        )
        batch_op.create_index(batch_op.f("ix_session_stats_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("session_stats", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_session_stats_user_id"))
        batch_op.drop_index(batch_op.f("ix_session_stats_session_id"))
        batch_op.drop_index(batch_op.f("ix_session_stats_created_at"))

    op.drop_table("session_stats")
