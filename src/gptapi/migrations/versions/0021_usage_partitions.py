"""usage_logs partitioned by month on PostgreSQL; the retention horizon of raw usage rows

On PostgreSQL the existing table is copied into a table partitioned by range of `created_at`
(one partition per UTC month from its oldest row to next month, and a default partition so
an insert never fails), then takes its name. A partitioned table's unique keys must hold the
partition key, so the primary key becomes (id, created_at) and the request id is unique with
its time; nothing references usage_logs rows by id. Each partition has row level security on
and no policies: read through usage_logs (and, on Supabase, its policy), never directly. On
SQLite the table stays as it is but for the same unique key. The copy runs in the
migration's transaction: it needs as long as rewriting the table does, and writes to
usage_logs wait for it.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_FOREIGN_KEYS = (
    ("api_key_id", "api_keys"),
    ("model_id", "models"),
    ("organization_id", "organizations"),
    ("user_id", "users"),
)

# One partition per UTC month from the oldest row's month (or this month) to next month.
# Plain SQL, so the Supabase script rendered offline partitions the same way.
_MONTHLY_PARTITIONS = """
DO $$
DECLARE
    this_month timestamp := date_trunc('month', now() AT TIME ZONE 'UTC');
    oldest timestamp := (SELECT min(created_at) FROM usage_logs) AT TIME ZONE 'UTC';
    newest timestamp := (SELECT max(created_at) FROM usage_logs) AT TIME ZONE 'UTC';
    month date := least(this_month, date_trunc('month', coalesce(oldest, this_month)));
    stop date := greatest(this_month + interval '1 month', date_trunc('month', newest))
        + interval '1 month';
BEGIN
    WHILE month < stop LOOP
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF usage_logs_partitioned FOR VALUES FROM (%L) TO (%L)',
            'usage_logs_' || to_char(month, 'YYYY_MM'),
            month::text || ' 00:00:00+00',
            (month + interval '1 month')::date::text || ' 00:00:00+00'
        );
        EXECUTE format(
            'ALTER TABLE %I ENABLE ROW LEVEL SECURITY', 'usage_logs_' || to_char(month, 'YYYY_MM')
        );
        month := month + interval '1 month';
    END LOOP;
END $$
"""


def _rebuild_postgres(new_table: str, partitioned: bool) -> None:
    """Copy usage_logs into `new_table` (partitioned by month or plain), which then takes
    its name, its sequence and (rebuilt) its keys, indexes and foreign keys."""
    tail = " PARTITION BY RANGE (created_at)" if partitioned else ""
    op.execute(f"CREATE TABLE {new_table} (LIKE usage_logs INCLUDING DEFAULTS){tail}")
    if partitioned:
        op.execute(_MONTHLY_PARTITIONS)
        op.execute(f"CREATE TABLE usage_logs_default PARTITION OF {new_table} DEFAULT")
        op.execute("ALTER TABLE usage_logs_default ENABLE ROW LEVEL SECURITY")
    op.execute(f"INSERT INTO {new_table} SELECT * FROM usage_logs")
    op.execute(f"ALTER SEQUENCE usage_logs_id_seq OWNED BY {new_table}.id")
    op.execute("DROP TABLE usage_logs")
    op.execute(f"ALTER TABLE {new_table} RENAME TO usage_logs")
    primary = "id, created_at" if partitioned else "id"
    unique = ("request_id", "created_at") if partitioned else ("request_id",)
    op.execute(f"ALTER TABLE usage_logs ADD CONSTRAINT pk_usage_logs PRIMARY KEY ({primary})")
    op.create_unique_constraint(f"uq_usage_logs_{'_'.join(unique)}", "usage_logs", list(unique))
    op.create_index("ix_usage_logs_org_created", "usage_logs", ["organization_id", "created_at"])
    op.create_index("ix_usage_logs_key_created", "usage_logs", ["api_key_id", "created_at"])
    for column, table in _FOREIGN_KEYS:
        op.create_foreign_key(
            f"fk_usage_logs_{column}_{table}", "usage_logs", table, [column], ["id"]
        )


def upgrade() -> None:
    op.create_table(
        "usage_retention",
        sa.Column("table_name", sa.String(length=40), nullable=False),
        sa.Column("kept_from", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("table_name", name=op.f("pk_usage_retention")),
    )
    if op.get_context().dialect.name == "postgresql":
        _rebuild_postgres("usage_logs_partitioned", partitioned=True)
        return
    with op.batch_alter_table("usage_logs") as batch:
        batch.drop_constraint("uq_usage_logs_request_id", type_="unique")
        batch.create_unique_constraint(
            "uq_usage_logs_request_id_created_at", ["request_id", "created_at"]
        )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        _rebuild_postgres("usage_logs_plain", partitioned=False)
    else:
        with op.batch_alter_table("usage_logs") as batch:
            batch.drop_constraint("uq_usage_logs_request_id_created_at", type_="unique")
            batch.create_unique_constraint("uq_usage_logs_request_id", ["request_id"])
    op.drop_table("usage_retention")
