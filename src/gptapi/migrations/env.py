"""Alembic environment: runs against the URL the caller puts in the config (async engines)."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import text
from sqlalchemy.engine import Connection

from gptapi.kit.db import create_engine
from gptapi.models import Base
from gptapi.models.base import UTCDateTime
from gptapi.usage_history.partitions import in_schema

target_metadata = Base.metadata


def _render_item(kind: str, item: Any, _: AutogenContext) -> str | Literal[False]:
    # Migrations stay free of application imports: UTCDateTime is a DateTime in the schema.
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


# Any fixed number, the same in every release: the PostgreSQL advisory lock that makes
# concurrent `gptapi migrate` runs (two Jobs, two releases) take turns.
MIGRATION_LOCK_KEY = 0x6770746170690001


def _run(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Held until the migration's transaction ends (DDL is transactional on PostgreSQL):
        # a second migrator waits here, then reads the version the first one committed
        # and has nothing left to do.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
        include_name=in_schema,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                # A batch migration rebuilds a table (copy, drop, rename), and dropping one
                # that other rows refer to fails while foreign keys are enforced. SQLite
                # ignores this pragma inside a transaction, so it comes first; the
                # connection is closed afterwards.
                await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def run() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url must be set by the caller"
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_async(url))


run()
