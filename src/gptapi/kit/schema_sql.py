"""The schema as plain PostgreSQL DDL, rendered from the Alembic migrations in offline mode,
for Supabase projects set up from `scripts/` rather than by `gptapi migrate`. Rendering from
the migrations (never by hand) is what keeps `scripts/001_schema.sql` from drifting."""

from __future__ import annotations

import io
import re

from alembic import command

from gptapi.kit.migrate import alembic_config

SCHEMA_SCRIPT = "scripts/001_schema.sql"
HEADER = """\
-- GPT API schema for Supabase (PostgreSQL), generated from the Alembic migrations.
-- Do not edit: regenerate with `gptapi admin supabase-sql > scripts/001_schema.sql`.
-- Apply it before 002_auth_and_rls.sql. The alembic_version row lets `gptapi migrate`
-- carry the database forward from here.

"""


# Seed rows a migration stamps with the current time render as literals; in a script they
# should carry the moment the script is applied, and rendering must be repeatable.
_TIMESTAMP = re.compile(r"'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?\+00:00'")


def _stamp_on_apply(line: str) -> str:
    return _TIMESTAMP.sub("now()", line) if line.startswith("INSERT INTO") else line


def schema_sql() -> str:
    buffer = io.StringIO()
    # Offline mode only needs the dialect; nothing is connected to.
    config = alembic_config("postgresql+asyncpg://offline/postgres")
    config.output_buffer = buffer
    command.upgrade(config, "head", sql=True)
    lines = buffer.getvalue().strip().splitlines()
    body = "\n".join(_stamp_on_apply(line.rstrip()) for line in lines)
    return HEADER + body + "\n"
