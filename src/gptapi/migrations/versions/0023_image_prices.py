"""image models: a price per image (optionally one per size) beside the token prices, and
the number of images each usage row (and hourly rollup) was billed for

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

PRICED = ("models", "model_prices")


def upgrade() -> None:
    for table in PRICED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("nanos_per_image", sa.BigInteger(), server_default="0", nullable=False)
            )
            batch.add_column(sa.Column("nanos_per_image_by_size", sa.JSON(), nullable=True))
            batch.create_check_constraint(
                op.f(f"ck_{table}_image_price_nonnegative"), "nanos_per_image >= 0"
            )
    with op.batch_alter_table("usage_logs") as batch:
        batch.add_column(sa.Column("images", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("usage_hourly") as batch:
        batch.add_column(sa.Column("images", sa.BigInteger(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("usage_hourly") as batch:
        batch.drop_column("images")
    with op.batch_alter_table("usage_logs") as batch:
        batch.drop_column("images")
    for table in PRICED:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"ck_{table}_image_price_nonnegative"), type_="check")
            batch.drop_column("nanos_per_image_by_size")
            batch.drop_column("nanos_per_image")
