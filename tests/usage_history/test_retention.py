"""Retention of raw usage rows: months past USAGE_RAW_RETENTION_DAYS leave usage_logs (whole
partitions on PostgreSQL, batches of rows elsewhere) only once proven rolled up, and every
usage report, the billing spend and reconcile read the same totals before and after."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from gptapi.billing.reconcile import reconcile
from gptapi.console.billing import repository as billing
from gptapi.console.errors import ApiError
from gptapi.console.usage import service
from gptapi.kit.db import SessionMaker, create_engine, session_maker
from gptapi.models import UsageHourly, UsageLog
from gptapi.usage_history import partitions
from gptapi.usage_history.retention import apply_retention, cutoff, kept_from
from gptapi.usage_sums import log_sums
from gptapi.workers.usage_history import ensure_partitions, maintain_usage_history
from tests.support.databases import fresh_database
from tests.usage_history.books import Books, book, open_books

RETENTION_DAYS = 90


async def reports(
    session: AsyncSession, organization_id: uuid.UUID, start: datetime, end: datetime
) -> list[Any]:
    """Every usage report over [start, end), and the billing spend per model."""
    now = end
    return [
        (await service.summary(session, organization_id, start, end, now)).model_dump(),
        (await service.breakdown(session, organization_id, start, end, "model")).model_dump(),
        (await service.breakdown(session, organization_id, start, end, "key")).model_dump(),
        (
            await service.timeseries(session, organization_id, start, end, "day", "model")
        ).model_dump(),
        await billing.spend_by_model(session, organization_id, start, end),
    ]


async def raw_count(sessions: SessionMaker) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count(UsageLog.id))) or 0)


async def differences(sessions: SessionMaker) -> set[str]:
    async with sessions() as session:
        return {d.check for d in await reconcile(session)}


async def tamper_rollup(sessions: SessionMaker, books: Books, before: datetime, by: int) -> None:
    async with sessions() as session, session.begin():
        hour = await session.scalar(
            select(func.min(UsageHourly.hour)).where(
                UsageHourly.organization_id == books.organization_id, UsageHourly.hour < before
            )
        )
        await session.execute(
            update(UsageHourly)
            .where(UsageHourly.organization_id == books.organization_id, UsageHourly.hour == hour)
            .values(cost_nanos=UsageHourly.cost_nanos + by)
        )


async def old_partitions(engine: AsyncEngine, now: datetime) -> list[str]:
    """Partitions for the old months (made by the job from the default partition's rows)."""
    for days in (200, 150, 125):
        await ensure_partitions(engine, now - timedelta(days=days))
    async with engine.connect() as conn:
        existing = await partitions.monthly(conn)
    return [p.name for p in existing if p.end <= cutoff(now, RETENTION_DAYS)]


async def scenario(url: str, backend: str) -> None:
    engine = create_engine(url)
    sessions = session_maker(engine)
    try:
        now = datetime.now(UTC)
        books = await open_books(engine)
        old = [
            now - timedelta(days=days, hours=hours) for days in (200, 150, 125) for hours in (0, 5)
        ]
        recent = [now - timedelta(days=days, minutes=7) for days in (30, 2)]
        await book(engine, books, [*old, *recent, now - timedelta(minutes=1)])
        dropped = await old_partitions(engine, now) if backend == "postgresql" else []
        # One old row in a month with no partition of its own (the default partition's).
        await book(engine, books, [now - timedelta(days=300)])
        cut = cutoff(now, RETENTION_DAYS)
        # From an hour long past (retention keeps hours, not their parts) to a moment off the
        # hour in the kept rows.
        start = (now - timedelta(days=400)).replace(minute=0, second=0, microsecond=0)
        end = now + timedelta(minutes=1)

        async with sessions() as session:
            before = await reports(session, books.organization_id, start, end)
            # The reports (rollup for whole hours, rows for the rest) say what the rows say.
            raw = await log_sums(session, books.organization_id, start, end)
        summary = before[0]
        assert (summary["requests"], summary["cost_nanos"]) == (raw[0].requests, raw[0].cost_nanos)
        assert summary["requests"] == 10
        assert await differences(sessions) == set()

        # A rollup that disagrees with the rows: nothing is removed, and reconcile says why.
        await tamper_rollup(sessions, books, cut, 1)
        assert (await apply_retention(sessions, now, RETENTION_DAYS)).refused
        assert await raw_count(sessions) == 10
        assert await differences(sessions) == {
            "ledger usage = cost in the hourly rollup",
            "hourly rollup = usage records (cost)",
        }
        await tamper_rollup(sessions, books, cut, -1)

        # Kept forever with 0 days.
        assert (await maintain_usage_history(engine, sessions, now, 0)).kept_from is None
        assert await raw_count(sessions) == 10

        # Batches of two: the old rows outside dropped partitions go in several transactions.
        outcome = await apply_retention(sessions, now, RETENTION_DAYS, batch=2)
        assert outcome.kept_from == cut
        assert sorted(outcome.dropped) == sorted(dropped)
        if backend == "postgresql":
            assert len(dropped) >= 2 and outcome.deleted == 1  # the default partition's row
        else:
            assert outcome.deleted == 7
        async with sessions() as session:
            assert await kept_from(session) == cut
            oldest = await session.scalar(select(func.min(UsageLog.created_at)))
            assert oldest is not None and oldest >= cut
            assert await reports(session, books.organization_id, start, end) == before
        assert await raw_count(sessions) == 3
        assert await differences(sessions) == set()
        # Off the hour before the horizon there are no rows left to sum: refused, not short.
        async with sessions() as session:
            off_the_hour = (
                (start + timedelta(minutes=13), "start"),
                (cut - timedelta(minutes=30), "end"),
            )
            for moment, param in off_the_hour:
                edges = {"start": start, "end": end, param: moment}
                with pytest.raises(ApiError) as refused:
                    await service.summary(session, books.organization_id, **edges, now=end)
                assert (refused.value.status, refused.value.param) == (400, param)
                assert refused.value.code == "before_raw_retention"

        # Nothing more to do until another month passes the retention.
        again = await apply_retention(sessions, now, RETENTION_DAYS)
        assert (again.kept_from, again.dropped, again.deleted) == (cut, [], 0)

        # From the horizon on, reconcile is as strict as ever.
        async with sessions() as session, session.begin():
            newest = await session.scalar(select(func.max(UsageLog.id)))
            await session.execute(delete(UsageLog).where(UsageLog.id == newest))
        assert "usage ledger entries without a usage record" in await differences(sessions)
    finally:
        await engine.dispose()


def test_retention_removes_old_months_and_every_total_stays(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url:
        asyncio.run(scenario(url, backend))
