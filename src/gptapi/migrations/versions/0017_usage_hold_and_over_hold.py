"""usage: the hold each request reserved, and any reported cost above it left uncharged

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("usage_logs") as batch:
        batch.add_column(
            sa.Column("hold_nanos", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch.add_column(
            sa.Column("over_hold_nanos", sa.BigInteger(), server_default="0", nullable=False)
        )
    # Earlier holds were not kept: the charge stands in for each (so a check of cost against
    # hold reads the history as it was settled, rather than flagging every earlier row).
    op.execute("UPDATE usage_logs SET hold_nanos = cost_nanos")


def downgrade() -> None:
    with op.batch_alter_table("usage_logs") as batch:
        batch.drop_column("over_hold_nanos")
        batch.drop_column("hold_nanos")
