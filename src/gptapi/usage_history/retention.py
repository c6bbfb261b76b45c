"""Retention of raw usage rows (USAGE_RAW_RETENTION_DAYS): whole UTC months older than the
retention leave usage_logs; their hours stay in `usage_hourly` and their money in the ledger,
so usage reports, spend caps and reconcile read the same totals before and after.

A month goes only once its rows are proven rolled up (their count and cost equal the
rollup's over the same hours), and the horizon (`usage_retention.kept_from`) moves first, so
reconcile never looks for a raw row that retention may already have removed. On PostgreSQL
a month's partition is dropped whole (no row-by-row delete, no table bloat); rows in the
default partition and, on SQLite, all old rows are deleted in small batches, each its own
transaction, walking the organisation's time index.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.kit.clock import month_start
from gptapi.kit.db import SessionMaker
from gptapi.models import UsageHourly, UsageLog, UsageRetention
from gptapi.usage_history import partitions

log = logging.getLogger(__name__)

BATCH = 5000


@dataclass
class Outcome:
    kept_from: datetime | None = None
    dropped: list[str] = field(default_factory=list)  # PostgreSQL partitions dropped
    deleted: int = 0  # rows deleted one batch at a time
    refused: bool = False  # the rollup did not match the rows: nothing was removed


def cutoff(now: datetime, retention_days: int) -> datetime:
    """The start of the oldest month kept: every month ending before `now - retention` goes."""
    return month_start(now - timedelta(days=retention_days))


async def kept_from(session: AsyncSession) -> datetime | None:
    """From when every raw usage row is still there (None: nothing was ever removed)."""
    return await session.scalar(
        select(UsageRetention.kept_from).where(UsageRetention.table_name == partitions.TABLE)
    )


async def rolled_up(session: AsyncSession, start: datetime | None, end: datetime) -> bool:
    """Whether the raw rows of [start, end) add up to the rollup of the same hours."""
    raw = select(func.count(UsageLog.id), func.coalesce(func.sum(UsageLog.cost_nanos), 0)).where(
        UsageLog.created_at < end
    )
    rollup = select(
        func.coalesce(func.sum(UsageHourly.requests), 0),
        func.coalesce(func.sum(UsageHourly.cost_nanos), 0),
    ).where(UsageHourly.hour < end)
    if start is not None:
        raw = raw.where(UsageLog.created_at >= start)
        rollup = rollup.where(UsageHourly.hour >= start)
    rows = (await session.execute(raw)).one()
    hours = (await session.execute(rollup)).one()
    return tuple(map(int, rows)) == tuple(map(int, hours))


async def _advance(sessions: SessionMaker, cut: datetime) -> datetime | None:
    """Move the horizon to `cut` if the rows before it are rolled up; the horizon now."""
    async with sessions() as session, session.begin():
        connection = await session.connection()
        if connection.dialect.name == "postgresql":
            await partitions.lock(connection)
        previous = await kept_from(session)
        if previous is not None and previous >= cut:
            return previous
        if not await rolled_up(session, previous, cut):
            return None
        row = await session.get(UsageRetention, partitions.TABLE)
        if row is None:
            session.add(UsageRetention(table_name=partitions.TABLE, kept_from=cut))
        else:
            row.kept_from = cut
        return cut


async def _delete_before(sessions: SessionMaker, horizon: datetime, batch: int) -> int:
    async with sessions() as session:
        # One pass (on PostgreSQL only over the default partition, the dropped months gone)
        # finds who has rows left to delete; each then goes by its own time index.
        organizations = list(
            await session.scalars(
                select(UsageLog.organization_id).where(UsageLog.created_at < horizon).distinct()
            )
        )
    total = 0
    for organization_id in organizations:
        while True:
            async with sessions() as session, session.begin():
                ids = select(UsageLog.id).where(
                    UsageLog.organization_id == organization_id, UsageLog.created_at < horizon
                )
                result = await session.execute(
                    delete(UsageLog)
                    .where(UsageLog.id.in_(ids.limit(batch).scalar_subquery()))
                    .where(UsageLog.created_at < horizon)
                    .execution_options(synchronize_session=False)
                )
            removed = int(result.rowcount or 0)  # type: ignore[attr-defined]
            total += removed
            if removed < batch:
                break
    return total


async def apply_retention(
    sessions: SessionMaker, now: datetime, retention_days: int, *, batch: int = BATCH
) -> Outcome:
    """Remove raw usage rows of the months past the retention (0 days: keep everything)."""
    if retention_days <= 0:
        return Outcome()
    horizon = await _advance(sessions, cutoff(now, retention_days))
    if horizon is None:
        log.error(
            "usage retention refused: the hourly rollup does not match the raw usage rows "
            "before %s; nothing was removed (run `gptapi admin reconcile`)",
            cutoff(now, retention_days).isoformat(),
        )
        return Outcome(refused=True)
    outcome = Outcome(kept_from=horizon)
    async with sessions() as session, session.begin():
        connection = await session.connection()
        if connection.dialect.name == "postgresql":
            outcome.dropped = await partitions.drop_before(connection, horizon)
    outcome.deleted = await _delete_before(sessions, horizon, batch)
    return outcome
