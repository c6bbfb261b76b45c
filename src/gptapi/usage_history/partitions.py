"""Monthly partitions of usage_logs on PostgreSQL (migration 0021 made the table
partitioned): one per UTC month, named `usage_logs_YYYY_MM`, plus `usage_logs_default`,
which catches a row for a month that has no partition yet so an insert never fails.

Partitions are created ahead of time, so rows normally never reach the default partition.
When some did (the job was down across a month's start, or a clock far off), the month's
partition is made from them: the default partition is detached for the moment it takes to
move its rows for that month, then attached again.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from gptapi.kit.clock import month_start, next_month

TABLE = "usage_logs"
# Any fixed number: two workers never create or drop the same partition at once.
LOCK_KEY = 0x6770746170690002
LOCK_TIMEOUT = "5s"
# The tables usage_logs' foreign keys point at: a partition made or dropped gains or loses
# those keys, which locks each of these against writes for the moment it takes.
REFERENCED = ("users", "organizations", "api_keys", "models")
TABLE_LOCK_ATTEMPTS = 100
TABLE_LOCK_PAUSE_SECONDS = 0.1
LOCK_NOT_AVAILABLE = "55P03"
DEFAULT = "usage_logs_default"
_NAME = re.compile(r"usage_logs_(\d{4}_\d{2}|default)")
_BOUNDS = re.compile(r"FROM \('([^']+)'\) TO \('([^']+)'\)")


def is_partition(table_name: str) -> bool:
    return _NAME.fullmatch(table_name) is not None


def in_schema(name: str | None, kind: str, _parents: object) -> bool:
    """Alembic's `include_name`: usage_logs' partitions are data, not schema (the models
    describe the partitioned table, not the months it happens to hold)."""
    return not (kind == "table" and name is not None and is_partition(name))


def partition_name(month: datetime) -> str:
    return f"{TABLE}_{month:%Y_%m}"


@dataclass(frozen=True, slots=True)
class Partition:
    name: str
    start: datetime
    end: datetime


class TablesBusy(RuntimeError):
    """usage_logs or a table it references was never free long enough; try again later."""


async def lock(conn: AsyncConnection) -> None:
    """Held until the transaction ends: partition upkeep in one worker at a time, and
    usage_logs and every table it references locked for it.

    Those table locks are taken all at once or not at all (NOWAIT, retried): waiting for one
    while holding another would deadlock a request's transaction that writes them in the
    other order, such as sign-up inserting an organisation and then its key. Nor does upkeep
    queue behind a long reader (an export), which would stall every insert queued behind
    it in turn: after a few seconds it gives up, and the hourly job tries again."""
    await conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    for _ in range(TABLE_LOCK_ATTEMPTS):
        if await _lock_tables(conn):
            return
        await asyncio.sleep(TABLE_LOCK_PAUSE_SECONDS)
    raise TablesBusy(f"{TABLE} or a table it references stayed busy; upkeep postponed")


async def _lock_tables(conn: AsyncConnection) -> bool:
    savepoint = await conn.begin_nested()
    try:
        await conn.execute(text(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE NOWAIT"))
        referenced = ", ".join(REFERENCED)
        await conn.execute(text(f"LOCK TABLE {referenced} IN SHARE ROW EXCLUSIVE MODE NOWAIT"))
    except DBAPIError as error:
        # Rolling back to the savepoint releases whichever of the locks was taken.
        await savepoint.rollback()
        if getattr(error.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            return False
        raise
    await savepoint.commit()
    return True


async def monthly(conn: AsyncConnection) -> list[Partition]:
    """usage_logs' ranged partitions, oldest first (the default partition is not listed)."""
    rows = await conn.execute(
        text(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = CAST(:parent AS regclass)"
        ),
        {"parent": TABLE},
    )
    found = []
    for name, bound in rows:
        match = _BOUNDS.search(bound)
        if match is not None:
            # Printed in the session's time zone, with its offset: '2026-12-01 00:00:00+00'.
            start, end = (datetime.fromisoformat(value) for value in match.groups())
            found.append(Partition(str(name), start, end))
    return sorted(found, key=lambda p: p.start)


async def ensure_months(conn: AsyncConnection, now: datetime, months_ahead: int) -> list[str]:
    """Make sure this month and the next `months_ahead` months have partitions; the names
    of those created. Run in a transaction of its own."""
    await lock(conn)
    existing = await monthly(conn)
    created = []
    month = month_start(now)
    for _ in range(months_ahead + 1):
        covered = any(p.start <= month < p.end for p in existing)
        if not covered:
            await _create(conn, month, next_month(month))
            created.append(partition_name(month))
        month = next_month(month)
    return created


async def _create(conn: AsyncConnection, start: datetime, end: datetime) -> None:
    name = partition_name(start)
    bounds = {"start": start, "end": end}
    stray = await conn.scalar(
        text(
            f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} "
            "WHERE created_at >= :start AND created_at < :end)"
        ),
        bounds,
    )
    values = f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
    if stray:
        # Rows already in the default partition for this month: the partition cannot be
        # attached over them, so they move into it while the default partition is detached.
        await conn.execute(text(f"ALTER TABLE {TABLE} DETACH PARTITION {DEFAULT}"))
    await conn.execute(text(f"CREATE TABLE {name} PARTITION OF {TABLE} {values}"))
    # Read through usage_logs only (on Supabase, under its policy), never directly.
    await conn.execute(text(f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY"))
    if not stray:
        return
    await conn.execute(
        text(
            f"WITH moved AS (DELETE FROM {DEFAULT} WHERE created_at >= :start "
            f"AND created_at < :end RETURNING *) INSERT INTO {name} SELECT * FROM moved"
        ),
        bounds,
    )
    await conn.execute(text(f"ALTER TABLE {TABLE} ATTACH PARTITION {DEFAULT} DEFAULT"))


async def drop_before(conn: AsyncConnection, cutoff: datetime) -> list[str]:
    """Drop every monthly partition that ends at or before `cutoff`; their names."""
    await lock(conn)
    dropped = []
    for partition in await monthly(conn):
        if partition.end <= cutoff:
            await conn.execute(text(f"DROP TABLE {partition.name}"))
            dropped.append(partition.name)
    return dropped
