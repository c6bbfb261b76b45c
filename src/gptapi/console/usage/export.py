"""The request log as CSV, streamed a page at a time."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime

from gptapi.console.usage import queries
from gptapi.console.usage.queries import LogFilter
from gptapi.console.usage.schemas import RequestRecord
from gptapi.console.usage.service import record
from gptapi.kit.db import SessionMaker

PAGE = 5000
COLUMNS = (
    "created_at",
    "request_id",
    "model",
    "key_name",
    "key_prefix",
    "endpoint",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "characters",
    "audio_seconds",
    "images",
    "cost_usd",
    "cost_nanos",
    "status",
    "outcome",
    "latency_ms",
)
# A cell starting with one of these is a formula to a spreadsheet; key names are user text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _values(r: RequestRecord) -> list[str | int]:
    return [
        r.created_at.isoformat(),
        r.request_id,
        _text(r.model),
        _text(r.key.name),
        r.key.prefix,
        r.endpoint,
        r.prompt_tokens,
        r.completion_tokens,
        r.total_tokens,
        r.characters,
        r.audio_seconds,
        r.images,
        r.cost_usd,
        r.cost_nanos,
        r.status,
        r.outcome,
        r.latency_ms,
    ]


async def csv_chunks(sessions: SessionMaker, where: LogFilter) -> AsyncIterator[str]:
    """Header, then every matching request newest first: one short transaction per page, so
    a slow download holds no snapshot open."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    after: tuple[datetime, int] | None = None
    while True:
        async with sessions() as db:
            rows = await queries.request_page(db, where, after, PAGE)
        writer.writerows(_values(record(*row)) for row in rows)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < PAGE:
            return
        last = rows[-1][0]
        after = (last.created_at, last.id)
