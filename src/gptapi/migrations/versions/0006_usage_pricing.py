"""price history and usage rollups

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

_HOUR = {
    # Both must produce exactly what the application writes for a whole UTC hour.
    "postgresql": "date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
    "sqlite": "strftime('%Y-%m-%d %H:00:00.000000', created_at)",
}


def upgrade() -> None:
    bigint = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "model_prices",
        sa.Column("id", bigint, nullable=False),
        sa.Column("model_id", bigint, nullable=False),
        sa.Column("input_price_per_million_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_price_per_million_tokens", sa.BigInteger(), nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "input_price_per_million_tokens >= 0",
            name=op.f("ck_model_prices_input_price_nonnegative"),
        ),
        sa.CheckConstraint(
            "output_price_per_million_tokens >= 0",
            name=op.f("ck_model_prices_output_price_nonnegative"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_model_prices_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["models.id"],
            name=op.f("fk_model_prices_model_id_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_prices")),
        sa.UniqueConstraint(
            "model_id", "effective_from", name=op.f("uq_model_prices_model_id_effective_from")
        ),
    )
    op.create_table(
        "usage_hourly",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("api_key_id", sa.Uuid(), nullable=False),
        sa.Column("model_id", bigint, nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger(), nullable=False),
        sa.Column("completion_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_nanos", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_usage_hourly_api_key_id_api_keys")
        ),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"], name=op.f("fk_usage_hourly_model_id_models")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_usage_hourly_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint(
            "organization_id", "hour", "api_key_id", "model_id", name=op.f("pk_usage_hourly")
        ),
    )
    # Usage recorded before this revision gets its rollup too.
    hour = _HOUR[op.get_bind().dialect.name]
    op.execute(
        "INSERT INTO usage_hourly (organization_id, hour, api_key_id, model_id, requests, "
        "prompt_tokens, completion_tokens, cost_nanos) "
        f"SELECT organization_id, {hour}, api_key_id, model_id, count(*), sum(prompt_tokens), "
        "sum(completion_tokens), sum(cost_nanos) FROM usage_logs "
        f"GROUP BY organization_id, {hour}, api_key_id, model_id"
    )


def downgrade() -> None:
    op.drop_table("usage_hourly")
    op.drop_table("model_prices")
