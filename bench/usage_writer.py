"""The usage writer's group commit on SQLite: CPU per batch of the shipped writer (raw
`sqlite3`, statements written once) against SQLAlchemy Core doing the same transaction, with
the hourly-rollup upsert built once or rebuilt for every batch (as the writer once did).

    .venv/bin/python -m bench.usage_writer [--batches 2000]

CPU is the writing thread's own (`time.thread_time`), so other tenants of the machine barely
move it; wall time is printed for scale.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, event, insert, update
from sqlalchemy.dialects import sqlite

from gptapi.admin import service
from gptapi.gateway.metering import (
    LEDGER_COLUMNS,
    ROLLUP_KEYS,
    ROLLUP_SUMS,
    USAGE_COLUMNS,
    Batch,
    SqliteUsageStore,
    UsageEntry,
)
from gptapi.kit.db import apply_sqlite_pragmas, create_engine as create_async_engine, session_maker
from gptapi.kit.migrate import upgrade
from gptapi.models import CreditTransaction, Organization, UsageHourly, UsageLog

Write = Callable[[list[UsageEntry]], object]


def rollup_statement() -> Any:
    statement = sqlite.insert(UsageHourly)
    return statement.on_conflict_do_update(
        index_elements=list(ROLLUP_KEYS),
        set_={c: getattr(UsageHourly, c) + getattr(statement.excluded, c) for c in ROLLUP_SUMS},
    )


def core_writer(url: str, *, build_each_batch: bool) -> Write:
    engine = create_engine(url.replace("+aiosqlite", ""))
    event.listen(engine, "connect", apply_sqlite_pragmas)  # as the shipped writer's connection
    once = rollup_statement()

    def write(entries: list[UsageEntry]) -> None:
        batch = Batch.of(entries, set(), lambda v: v, lambda v: v)
        conn: Connection
        with engine.begin() as conn:
            conn.execute(
                insert(UsageLog), [dict(zip(USAGE_COLUMNS, r, strict=True)) for r in batch.usage]
            )
            rows = [dict(zip(LEDGER_COLUMNS, r, strict=True)) for r in batch.ledger]
            conn.execute(insert(CreditTransaction), rows)
            statement = rollup_statement() if build_each_batch else once
            conn.execute(
                statement,
                [dict(zip(ROLLUP_KEYS + ROLLUP_SUMS, r, strict=True)) for r in batch.rollup],
            )
            for org, cost in batch.costs.items():
                conn.execute(
                    update(Organization)
                    .where(Organization.id == org)
                    .values(balance_nanos=Organization.balance_nanos - cost)
                    .returning(Organization.balance_nanos)
                ).scalar_one()

    return write


def shipped_writer(url: str) -> Write:
    store = SqliteUsageStore(url)
    return lambda entries: store._write(entries, False)


async def _account(url: str) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    engine = create_async_engine(url)
    try:
        async with session_maker(engine)() as session, session.begin():
            user, organization = await service.create_user(session, "writer@example.com")
            key, _ = await service.create_key(session, organization, user, name="bench")
            return organization.id, key.id, user.id
    finally:
        await engine.dispose()


def measure(name: str, make: Callable[[str], Write], size: int, batches: int, work: Path) -> None:
    url = f"sqlite+aiosqlite:///{work / f'{uuid.uuid4().hex}.db'}"
    upgrade(url)
    org, key, user = asyncio.run(_account(url))
    write = make(url)
    counter = 0

    def entries() -> list[UsageEntry]:
        nonlocal counter
        counter += size
        return [
            UsageEntry(
                f"req_{counter}_{i}",
                org,
                key,
                user,
                1,
                "gpt-fast",
                "chat.completions",
                38,
                29,
                1000,
                200,
                "completed",
                "upstream",
                1,
                "http://upstream",
                datetime.now(UTC),
            )
            for i in range(size)
        ]

    for _ in range(20):  # warm-up: caches, the first pages
        write(entries())
    cpu, wall = time.thread_time(), time.perf_counter()
    for _ in range(batches):
        write(entries())
    cpu = (time.thread_time() - cpu) / batches * 1e6
    wall = (time.perf_counter() - wall) / batches * 1e6
    print(
        f"{name:<34} batch {size:3d}: {cpu:7.0f} us CPU per batch ({cpu / size:6.1f} per row), "
        f"{wall:7.0f} us wall"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=2000, help="batches of one row")
    args = parser.parse_args()
    writers: dict[str, Callable[[str], Write]] = {
        "SQLAlchemy, rollup built per batch": lambda u: core_writer(u, build_each_batch=True),
        "SQLAlchemy, rollup built once": lambda u: core_writer(u, build_each_batch=False),
        "shipped: sqlite3, SQL written once": shipped_writer,
    }
    with tempfile.TemporaryDirectory(prefix="gptapi-writer-") as name:
        for size, batches in ((1, args.batches), (50, max(1, args.batches // 10))):
            for label, make in writers.items():
                measure(label, make, size, batches, Path(name))


if __name__ == "__main__":
    main()
