"""billing: Stripe customers, checkouts and auto-refill

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_events")),
    )
    op.create_table(
        "billing_accounts",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("stripe_customer_id", sa.String(length=100), nullable=True),
        sa.Column("payment_method_id", sa.String(length=100), nullable=True),
        sa.Column("payment_method_label", sa.String(length=100), nullable=False),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consent_by", sa.Uuid(), nullable=True),
        sa.Column("auto_refill_enabled", sa.Boolean(), nullable=False),
        sa.Column("auto_refill_threshold_nanos", sa.BigInteger(), nullable=False),
        sa.Column("auto_refill_amount_nanos", sa.BigInteger(), nullable=False),
        sa.Column("auto_refill_monthly_cap_nanos", sa.BigInteger(), nullable=True),
        sa.Column("auto_refill_disabled_reason", sa.String(length=300), nullable=False),
        sa.Column("refill_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refill_seq", sa.Integer(), nullable=False),
        sa.Column("low_balance_threshold_nanos", sa.BigInteger(), nullable=True),
        sa.Column("balance_state", sa.String(length=20), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_by"], ["users.id"], name=op.f("fk_billing_accounts_consent_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_billing_accounts_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_billing_accounts")),
        sa.UniqueConstraint(
            "stripe_customer_id", name=op.f("uq_billing_accounts_stripe_customer_id")
        ),
    )
    op.create_table(
        "stripe_payments",
        sa.Column("id", BIGINT_ID, nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("checkout_session_id", sa.String(length=255), nullable=True),
        sa.Column("payment_intent_id", sa.String(length=255), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("refunded_cents", sa.BigInteger(), nullable=False),
        sa.Column("receipt_url", sa.String(length=1000), nullable=False),
        sa.Column("failure_message", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_stripe_payments_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_stripe_payments_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_payments")),
        sa.UniqueConstraint(
            "checkout_session_id", name=op.f("uq_stripe_payments_checkout_session_id")
        ),
        sa.UniqueConstraint("payment_intent_id", name=op.f("uq_stripe_payments_payment_intent_id")),
    )
    op.create_index(
        "ix_stripe_payments_org_created", "stripe_payments", ["organization_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_stripe_payments_org_created", table_name="stripe_payments")
    op.drop_table("stripe_payments")
    op.drop_table("billing_accounts")
    op.drop_table("stripe_events")
