"""`gptapi migrate --check` tells pending migrations apart from an up-to-date schema, and
migrations started at the same time on PostgreSQL take turns instead of colliding."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from gptapi.kit.db import create_engine
from gptapi.kit.migrate import UnknownRevision, alembic_config, pending, upgrade
from tests.support.databases import BACKENDS, empty_database

GPTAPI = str(Path(sys.executable).parent / "gptapi")
SCRIPT = ScriptDirectory.from_config(alembic_config("sqlite://"))
# Every revision, oldest first.
REVISIONS = [r.revision for r in reversed(list(SCRIPT.walk_revisions()))]


def _check(url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GPTAPI, "migrate", "--check"],
        cwd=tmp_path,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def _execute(url: str, sql: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(sql))
    finally:
        await engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_check_fails_while_migrations_are_pending(backend: str, tmp_path: Path) -> None:
    assert len(REVISIONS) > 1
    with empty_database(backend, tmp_path) as url:
        assert asyncio.run(pending(url)) == REVISIONS
        result = _check(url, tmp_path)
        assert result.returncode == 1
        assert f"{len(REVISIONS)} migration(s) pending" in result.stderr

        upgrade(url, REVISIONS[-2])
        assert asyncio.run(pending(url)) == REVISIONS[-1:]
        result = _check(url, tmp_path)
        assert result.returncode == 1
        assert REVISIONS[-1] in result.stderr

        upgrade(url)
        assert asyncio.run(pending(url)) == []
        result = _check(url, tmp_path)
        assert result.returncode == 0, result.stderr
        assert "schema is up to date" in result.stderr


def test_check_fails_on_a_revision_from_a_newer_release(tmp_path: Path) -> None:
    with empty_database("sqlite", tmp_path) as url:
        upgrade(url)
        asyncio.run(_execute(url, "UPDATE alembic_version SET version_num = 'f00d'"))
        with pytest.raises(UnknownRevision):
            asyncio.run(pending(url))
        result = _check(url, tmp_path)
        assert result.returncode == 1
        assert "revision f00d, which this release does not have" in result.stderr


def test_concurrent_migrations_on_postgresql_take_turns(tmp_path: Path) -> None:
    with empty_database("postgresql", tmp_path) as url:
        # Three `gptapi migrate` processes at once, as overlapping Jobs would run: without
        # the advisory lock they race to create the same tables and all but one fail.
        env = {**os.environ, "DATABASE_URL": url}
        runs = [
            subprocess.Popen(
                [GPTAPI, "migrate"], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True
            )
            for _ in range(3)
        ]
        for run in runs:
            _, stderr = run.communicate(timeout=240)
            assert run.returncode == 0, stderr
        assert asyncio.run(pending(url)) == []
