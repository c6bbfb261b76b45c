"""gpu cloud: custom pods and their billed runs

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pods",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("image", sa.String(length=255), nullable=False),
        sa.Column("gpu_type", sa.String(length=100), nullable=False),
        sa.Column("gpu_count", sa.Integer(), nullable=False),
        sa.Column("cloud_type", sa.String(length=20), nullable=False),
        sa.Column("storage_gb", sa.Integer(), nullable=False),
        sa.Column("ports", sa.JSON(), nullable=False),
        sa.Column("env", sa.JSON(), nullable=False),
        sa.Column("gpu_nanos_per_hour", sa.BigInteger(), nullable=False),
        sa.Column("storage_nanos_per_hour", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("state_reason", sa.String(length=500), nullable=False),
        sa.Column("instance_id", sa.String(length=100), nullable=True),
        sa.Column("connection", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("start_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("terminated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_pods_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_pods_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pods")),
    )
    with op.batch_alter_table("pods", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pods_org_created", ["organization_id", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_pods_state"), ["state"], unique=False)

    op.create_table(
        "pod_runs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("pod_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("price_nanos_per_hour", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("billed_seconds", sa.Integer(), nullable=False),
        sa.Column("charged_nanos", sa.BigInteger(), nullable=False),
        sa.Column("reported_seconds", sa.Integer(), server_default="0", nullable=False),
        sa.Column("reported_nanos", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(["pod_id"], ["pods.id"], name=op.f("fk_pod_runs_pod_id_pods")),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_pod_runs_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pod_runs")),
    )
    with op.batch_alter_table("pod_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pod_runs_pod_id"), ["pod_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pod_runs_ended_at"), ["ended_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pod_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pod_runs_ended_at"))
        batch_op.drop_index(batch_op.f("ix_pod_runs_pod_id"))

    op.drop_table("pod_runs")
    with op.batch_alter_table("pods", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pods_state"))
        batch_op.drop_index("ix_pods_org_created")

    op.drop_table("pods")
