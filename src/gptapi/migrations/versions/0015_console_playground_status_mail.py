"""console: playground keys and status subscribers

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(
            sa.Column("purpose", sa.String(length=20), server_default="api", nullable=False)
        )
    op.create_table(
        "status_subscribers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "last_update_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_subscribers")),
        sa.UniqueConstraint("email", name=op.f("uq_status_subscribers_email")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_status_subscribers_token_hash")),
    )


def downgrade() -> None:
    op.drop_table("status_subscribers")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("purpose")
