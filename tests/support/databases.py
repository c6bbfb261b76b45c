"""Fresh, migrated databases for tests: a SQLite file, or a new PostgreSQL database that is
dropped afterwards. PostgreSQL comes from TEST_POSTGRES_URL (default: local trust auth)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from gptapi.kit.migrate import upgrade

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ("sqlite", "postgresql")


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def admin_sql(sql: str) -> None:
    """Run one statement on the server's maintenance database (creating, dropping and
    blocking test databases)."""
    connection = await asyncpg.connect(_dsn(POSTGRES_URL))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@contextmanager
def empty_database(backend: str, tmp_dir: Path) -> Iterator[str]:
    """A database with no schema at all: a new SQLite file, or a new PostgreSQL database
    that is dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_dir / f'gptapi-{uuid.uuid4().hex[:8]}.db'}"
        return
    name = f"gptapi_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(admin_sql(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def fresh_database(backend: str, tmp_dir: Path) -> Iterator[str]:
    with empty_database(backend, tmp_dir) as url:
        upgrade(url)
        yield url
