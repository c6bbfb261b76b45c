"""The usage queries never scan usage_logs: on PostgreSQL, with a few hundred thousand rows
in monthly partitions and fresh statistics, every statement the usage API runs is planned
through an index (the rollup's primary key, ix_usage_logs_org_created or
ix_usage_logs_key_created) on every partition it reads."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bench.usage_data import Dataset, load
from sqlalchemy import ClauseElement, text
from sqlalchemy.dialects import postgresql

from gptapi import usage_sums
from gptapi.console.usage import queries
from gptapi.console.usage.queries import LogFilter
from gptapi.kit.db import create_engine
from gptapi.usage_history.partitions import TABLE, is_partition
from tests.support.databases import fresh_database

END = datetime(2026, 6, 1, tzinfo=UTC)
# How a plan reads a table through an index (a bitmap heap scan is fed by a bitmap index scan).
INDEX_SCANS = {"Index Scan", "Index Only Scan", "Bitmap Heap Scan"}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Dataset]]:
    tmp: Path = tmp_path_factory.mktemp("usage-plans")
    with fresh_database("postgresql", tmp) as url:

        async def fill() -> Dataset:
            engine = create_engine(url)
            try:
                data = await load(engine, rows=300_000, end=END, organizations=100)
                async with engine.connect() as conn:
                    months = await conn.execute(
                        text(
                            "SELECT tableoid::regclass::text FROM usage_logs GROUP BY 1 "
                            "HAVING count(*) >= 1000"
                        )
                    )
                    BUSY_PARTITIONS.update(months.scalars())
                return data
            finally:
                await engine.dispose()

        yield url, asyncio.run(fill())


def plan_nodes(url: str, statement: ClauseElement) -> list[tuple[str, str | None]]:
    """(node type, table) of every node of the statement's plan."""
    sql = statement.compile(
        dialect=postgresql.asyncpg.dialect(),  # type: ignore[no-untyped-call]
        compile_kwargs={"literal_binds": True},
    )

    async def explain() -> Any:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return (await conn.execute(text(f"EXPLAIN (FORMAT JSON) {sql}"))).scalar_one()
        finally:
            await engine.dispose()

    raw = asyncio.run(explain())
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    nodes: list[tuple[str, str | None]] = []
    stack = [plan]
    while stack:
        node = stack.pop()
        nodes.append((node["Node Type"], node.get("Relation Name")))
        stack.extend(node.get("Plans", []))
    return nodes


def reads(nodes: list[tuple[str, str | None]], table: str) -> set[str]:
    """How the plan reads `table`; for usage_logs, how it reads the partitions that hold its
    rows (a month with next to nothing in it may be read sequentially: that costs nothing)."""
    return {kind for kind, relation in nodes if _parent(relation) == table}


def _parent(relation: str | None) -> str | None:
    if relation is None or not is_partition(relation):
        return relation
    return TABLE if relation in BUSY_PARTITIONS else None


BUSY_PARTITIONS: set[str] = set()


def test_reports_over_whole_hours_read_only_the_rollup_by_its_key(
    loaded: tuple[str, Dataset],
) -> None:
    url, data = loaded
    start = END - timedelta(days=30)
    for group in (None, "model_id", "api_key_id"):
        for bucket in (None, "hour", "day"):
            statement = usage_sums.rollup_statement(
                data.heavy_org, start, END, group=group, bucket=bucket
            )
            nodes = plan_nodes(url, statement)
            assert reads(nodes, "usage_logs") == set()
            assert reads(nodes, "usage_hourly"), nodes
            assert reads(nodes, "usage_hourly") <= INDEX_SCANS, (group, bucket, nodes)


def test_the_off_hour_edges_read_request_rows_by_index(loaded: tuple[str, Dataset]) -> None:
    url, data = loaded
    edge_end = END - timedelta(days=3)
    for group in (None, "model_id", "api_key_id"):
        statement = usage_sums.log_statement(
            data.heavy_org, edge_end - timedelta(minutes=59), edge_end, group=group
        )
        nodes = plan_nodes(url, statement)
        assert reads(nodes, "usage_logs"), nodes
        assert reads(nodes, "usage_logs") <= INDEX_SCANS, (group, nodes)


def test_request_log_pages_read_by_index(loaded: tuple[str, Dataset]) -> None:
    url, data = loaded
    middle = (END - timedelta(days=45), 10**9)
    filters = [
        LogFilter(data.heavy_org),
        LogFilter(data.heavy_org, start=END - timedelta(days=7), end=END),
        LogFilter(data.heavy_org, key_id=data.heavy_keys[1]),
        LogFilter(data.heavy_org, status=502),
        LogFilter(data.heavy_org, model="gpt-fast"),
    ]
    for where in filters:
        for after in (None, middle):
            nodes = plan_nodes(url, queries.request_log(where, after, 51))
            assert reads(nodes, "usage_logs") <= INDEX_SCANS, (where, after, nodes)
