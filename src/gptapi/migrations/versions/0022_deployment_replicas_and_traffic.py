"""serverless deployments: replicas beyond the first, the gateway's traffic per deployment,
and which instance a run bills

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_request_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("busy_since", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("deployment_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("instance_id", sa.String(length=100), nullable=True))
    op.create_table(
        "deployment_replicas",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("deployment_id", sa.String(length=40), nullable=False),
        sa.Column("instance_id", sa.String(length=100), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_deployment_replicas_deployment_id_deployments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployment_replicas")),
    )
    with op.batch_alter_table("deployment_replicas", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deployment_replicas_deployment_id"), ["deployment_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("deployment_replicas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deployment_replicas_deployment_id"))
    op.drop_table("deployment_replicas")
    with op.batch_alter_table("deployment_runs", schema=None) as batch_op:
        batch_op.drop_column("instance_id")
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.drop_column("busy_since")
        batch_op.drop_column("last_request_at")
