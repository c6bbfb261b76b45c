"""On PostgreSQL every usage row lands in its month's partition; a row for a month with no
partition yet lands in the default partition, and the job that makes partitions ahead of
time moves it into the month's own partition when it makes it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from gptapi.admin import service
from gptapi.billing.reconcile import reconcile
from gptapi.kit.clock import month_start, next_month
from gptapi.kit.db import create_engine, session_maker
from gptapi.usage_history.partitions import DEFAULT, partition_name
from gptapi.workers.usage_history import ensure_partitions
from tests.support.databases import fresh_database
from tests.usage_history.books import book, open_books
from tests.usage_history.test_migration import partition_of_each_row


async def routing(url: str) -> None:
    engine = create_engine(url)
    try:
        now = datetime.now(UTC)
        this_month = month_start(now)
        books = await open_books(engine)
        # The migration made this month's and next month's; the job adds the one after.
        after_next = next_month(next_month(this_month))
        assert await ensure_partitions(engine, now) == [partition_name(after_next)]
        assert await ensure_partitions(engine, now) == []

        far = after_next + timedelta(days=200)
        await book(engine, books, [now, far, far + timedelta(hours=1)])
        placed = await partition_of_each_row(engine)
        assert sorted(placed.values()) == sorted([partition_name(this_month), DEFAULT, DEFAULT])

        far_month = partition_name(month_start(far))
        assert (await ensure_partitions(engine, far))[0] == far_month
        placed_now = await partition_of_each_row(engine)
        assert placed_now.keys() == placed.keys()
        # Nothing left behind in the default partition, nothing lost: the books still agree.
        assert sorted(placed_now.values()) == sorted(
            [partition_name(this_month), far_month, far_month]
        )
        async with session_maker(engine)() as session:
            assert await reconcile(session) == []
        # Every partition is read through usage_logs only (row level security, no policy).
        async with engine.connect() as conn:
            open_partitions = await conn.execute(
                text(
                    "SELECT relname FROM pg_class WHERE relname LIKE 'usage_logs%' "
                    "AND relkind = 'r' AND NOT relrowsecurity"
                )
            )
            assert open_partitions.all() == []
    finally:
        await engine.dispose()


def test_rows_land_in_their_months_partition_or_the_default_until_it_is_made(
    tmp_path: Path,
) -> None:
    with fresh_database("postgresql", tmp_path) as url:
        asyncio.run(routing(url))


async def sign_up_while_a_partition_is_made(url: str) -> None:
    engine = create_engine(url)
    sessions = session_maker(engine)
    try:
        async with sessions() as session, session.begin():
            # Sign-up writes the organisation, then its key; the job needs both tables.
            user, organization = await service.create_user(session, "racer@example.com")
            job = asyncio.create_task(ensure_partitions(engine, datetime.now(UTC)))
            await asyncio.sleep(1.5)  # past deadlock_timeout: a deadlock would be found now
            await service.create_key(session, organization, user, name="raced")
        assert len(await job) == 1
    finally:
        await engine.dispose()


def test_making_a_partition_never_deadlocks_a_sign_up(tmp_path: Path) -> None:
    with fresh_database("postgresql", tmp_path) as url:
        asyncio.run(sign_up_while_a_partition_is_made(url))
