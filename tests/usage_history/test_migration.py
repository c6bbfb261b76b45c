"""Migration 0021 on a database that already holds usage: every row survives the upgrade
(on PostgreSQL, each in its month's partition) and the downgrade, ids and sequence intact.

The usage is booked by today's usage writer, on today's schema, which is then taken back to
0018: the writer fills columns later migrations added, so it cannot write an 0018 schema."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import column, inspect, select, table, text
from sqlalchemy.ext.asyncio import AsyncEngine

from gptapi.billing.reconcile import reconcile
from gptapi.kit.db import create_engine, session_maker
from gptapi.kit.migrate import alembic_config, upgrade, upgrade_async
from gptapi.models import UsageLog
from tests.support.databases import BACKENDS, empty_database
from tests.usage_history.books import book, open_books


async def usage_columns(url: str) -> list[str]:
    """usage_logs' columns in the database now, in the model's order."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            present = await conn.run_sync(
                lambda sync: {c["name"] for c in inspect(sync).get_columns("usage_logs")}
            )
    finally:
        await engine.dispose()
    return [c.name for c in UsageLog.__table__.c if c.name in present]


async def usage_rows(url: str, columns: list[str]) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            usage_logs = table("usage_logs", *(column(name) for name in columns))
            rows = await conn.execute(select(usage_logs).order_by(usage_logs.c.id))
            return [tuple(row) for row in rows]
    finally:
        await engine.dispose()


async def partition_of_each_row(engine: AsyncEngine) -> dict[int, str]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT id, tableoid::regclass::text FROM usage_logs"))
        return {int(row_id): str(table) for row_id, table in rows}


async def relkind(engine: AsyncEngine) -> str:
    async with engine.connect() as conn:
        kind = await conn.scalar(
            text("SELECT relkind::text FROM pg_class WHERE relname = 'usage_logs'")
        )
        return str(kind)


async def upgrade_and_downgrade(url: str, backend: str) -> None:
    now = datetime.now(UTC)
    engine = create_engine(url)
    try:
        books = await open_books(engine)
        # A year back, months back, days back, now, and a month ahead.
        moments = [now - timedelta(days=days, minutes=days) for days in (400, 200, 45, 3, 0)]
        await book(engine, books, [*moments, now + timedelta(days=35)])
    finally:
        await engine.dispose()
    await asyncio.to_thread(command.downgrade, alembic_config(url), "0018")
    columns = await usage_columns(url)  # usage_logs as 0018 made it
    created_at = columns.index("created_at")
    before = await usage_rows(url, columns)
    assert len(before) == 6

    await upgrade_async(url)
    assert await usage_rows(url, columns) == before
    engine = create_engine(url)
    try:
        if backend == "postgresql":
            assert await relkind(engine) == "p"
            placed = await partition_of_each_row(engine)
            assert placed == {row[0]: f"usage_logs_{row[created_at]:%Y_%m}" for row in before}
        # The sequence carried on: a new row follows the old ones.
        await book(engine, books, [now])
        after = await usage_rows(url, columns)
        assert after[:-1] == before and after[-1][0] > before[-1][0]
        async with session_maker(engine)() as session:
            assert await reconcile(session) == []
    finally:
        await engine.dispose()

    await asyncio.to_thread(command.downgrade, alembic_config(url), "0018")
    assert await usage_rows(url, columns) == after
    if backend == "postgresql":
        engine = create_engine(url)
        try:
            assert await relkind(engine) == "r"
        finally:
            await engine.dispose()
    await upgrade_async(url)
    assert await usage_rows(url, columns) == after


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_and_downgrade_keep_every_usage_row(backend: str, tmp_path: Path) -> None:
    with empty_database(backend, tmp_path) as url:
        upgrade(url)
        asyncio.run(upgrade_and_downgrade(url, backend))
