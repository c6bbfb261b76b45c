"""One source of truth: the migrations build exactly the models' schema, on both backends."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from gptapi.kit.db import create_engine, session_maker
from gptapi.models import Base, Model
from gptapi.usage_history.partitions import in_schema
from tests.support.databases import BACKENDS, fresh_database


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrations_match_models_and_seed_prices(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url:

        async def inspect() -> tuple[list[object], list[tuple[str, str, int, int, str]]]:
            engine = create_engine(url)
            try:
                async with engine.connect() as conn:
                    diff = await conn.run_sync(
                        lambda sync: compare_metadata(
                            MigrationContext.configure(sync, opts={"include_name": in_schema}),
                            Base.metadata,
                        )
                    )
                async with session_maker(engine)() as session:
                    rows = (await session.scalars(select(Model).order_by(Model.id))).all()
                    models = [
                        (
                            m.name,
                            m.internal_name,
                            m.input_price_per_million_tokens,
                            m.output_price_per_million_tokens,
                            m.kind,
                        )
                        for m in rows
                    ]
                return diff, models
            finally:
                await engine.dispose()

        diff, models = asyncio.run(inspect())
    assert diff == []
    # Seed 000's table; prices in milli-dollars per 1M tokens.
    assert models == [
        ("gpt-oss-20B", "gpt-fast", 250, 500, "chat"),
        ("gpt-oss-120B", "gpt-full", 500, 1000, "chat"),
        ("snowflake-arctic-embed2", "embed", 50, 0, "embedding"),
    ]
