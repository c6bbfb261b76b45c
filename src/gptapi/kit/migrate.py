"""Schema migrations (Alembic), run by `gptapi migrate` and on `gptapi serve` start-up."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import Connection

from gptapi.kit.db import create_engine, ensure_sqlite_dir

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    ensure_sqlite_dir(url)
    command.upgrade(alembic_config(url), revision)


async def upgrade_async(url: str, revision: str = "head") -> None:
    # Alembic's env runs its own event loop; keep it off ours.
    await asyncio.to_thread(upgrade, url, revision)


class UnknownRevision(Exception):
    """The database is at a revision this code does not have: a newer release migrated it."""


def _current_heads(connection: Connection) -> tuple[str, ...]:
    return MigrationContext.configure(connection).get_current_heads()


async def pending(url: str) -> list[str]:
    """The revisions the database still lacks, oldest first (empty: up to date)."""
    ensure_sqlite_dir(url)
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            current = await connection.run_sync(_current_heads)
    finally:
        await engine.dispose()
    script = ScriptDirectory.from_config(alembic_config(url))
    for revision in current:
        try:
            script.get_revision(revision)
        except CommandError:
            raise UnknownRevision(revision) from None
    missing = script.iterate_revisions(tuple(script.get_heads()), current or None)
    return [revision.revision for revision in reversed(list(missing))]
