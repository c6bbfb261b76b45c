"""integrations: subscriptions, crypto top-ups, test-mode keys, notification preferences

Revision ID: 0014
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0010"
branch_labels = None
depends_on = None

BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("stripe_subscription_id", sa.String(length=255), nullable=True),
        sa.Column("plan", sa.String(length=50), nullable=False),
        sa.Column("stripe_price_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("current_period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("current_period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancel_at_period_end", sa.Boolean(), nullable=False),
        sa.Column("past_due_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('active', 'trialing', 'past_due', 'canceled', 'unpaid')",
            name=op.f("ck_subscriptions_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_subscriptions_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_subscriptions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
        sa.UniqueConstraint(
            "stripe_subscription_id", name=op.f("uq_subscriptions_stripe_subscription_id")
        ),
    )
    op.create_index(
        "ix_subscriptions_org_created", "subscriptions", ["organization_id", "created_at"]
    )
    op.create_table(
        "subscription_invoices",
        sa.Column("id", BIGINT_ID, nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("stripe_invoice_id", sa.String(length=255), nullable=False),
        sa.Column("plan", sa.String(length=50), nullable=False),
        sa.Column("amount_paid_cents", sa.BigInteger(), nullable=False),
        sa.Column("credit_nanos", sa.BigInteger(), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hosted_invoice_url", sa.String(length=1000), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_subscription_invoices_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_subscription_invoices_subscription_id_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_invoices")),
        sa.UniqueConstraint(
            "stripe_invoice_id", name=op.f("uq_subscription_invoices_stripe_invoice_id")
        ),
    )
    op.create_index(
        "ix_subscription_invoices_org_paid",
        "subscription_invoices",
        ["organization_id", "paid_at"],
    )
    op.create_table(
        "crypto_charges",
        sa.Column("id", BIGINT_ID, nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("charge_id", sa.String(length=100), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("received_cents", sa.BigInteger(), nullable=False),
        sa.Column("credited_cents", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("hosted_url", sa.String(length=1000), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_crypto_charges_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_crypto_charges_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crypto_charges")),
        sa.UniqueConstraint("charge_id", name=op.f("uq_crypto_charges_charge_id")),
    )
    op.create_index(
        "ix_crypto_charges_org_created", "crypto_charges", ["organization_id", "created_at"]
    )
    op.create_table(
        "crypto_events",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=50), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crypto_events")),
    )
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_preferences_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "category", name=op.f("pk_notification_preferences")),
    )
    op.add_column(
        "api_keys",
        sa.Column("test_mode", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "usage_logs",
        sa.Column("test_mode", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("usage_logs") as batch:
        batch.drop_column("test_mode")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("test_mode")
    op.drop_table("notification_preferences")
    op.drop_table("crypto_events")
    op.drop_index("ix_crypto_charges_org_created", table_name="crypto_charges")
    op.drop_table("crypto_charges")
    op.drop_index("ix_subscription_invoices_org_paid", table_name="subscription_invoices")
    op.drop_table("subscription_invoices")
    op.drop_index("ix_subscriptions_org_created", table_name="subscriptions")
    op.drop_table("subscriptions")
