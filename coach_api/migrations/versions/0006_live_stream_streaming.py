"""live streams held by a socket: ``streaming`` is true while a socket on some replica
holds the stream (set on start and resume, cleared when that socket ends), so that the
account's open streams can be counted on every replica (``coach_api.live_admission``).

Streams stored before count as not streaming: their sockets belong to replicas that an
upgrade replaced.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("live_streams", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("streaming", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("live_streams", schema=None) as batch_op:
        batch_op.drop_column("streaming")
