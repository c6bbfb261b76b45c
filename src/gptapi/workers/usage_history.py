"""Hourly upkeep of the raw usage rows: on PostgreSQL, usage_logs' partitions for this month
and the next ones exist before any row needs them; everywhere, months past
USAGE_RAW_RETENTION_DAYS are removed once their hours are proven rolled up."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from gptapi.kit.db import SessionMaker
from gptapi.usage_history import partitions
from gptapi.usage_history.retention import Outcome, apply_retention

if TYPE_CHECKING:
    from gptapi.workers import WorkerContext

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 3600
MONTHS_AHEAD = 2  # a job down for weeks still finds next month's partition there


async def ensure_partitions(engine: AsyncEngine, now: datetime) -> list[str]:
    """This month's and the next months' partitions on PostgreSQL; the ones created."""
    if engine.dialect.name != "postgresql":
        return []
    async with engine.begin() as conn:
        return await partitions.ensure_months(conn, now, MONTHS_AHEAD)


async def maintain_usage_history(
    engine: AsyncEngine, sessions: SessionMaker, now: datetime, retention_days: int
) -> Outcome:
    for name in await ensure_partitions(engine, now):
        log.info("created usage partition %s", name)
    outcome = await apply_retention(sessions, now, retention_days)
    for name in outcome.dropped:
        log.info("dropped usage partition %s (past the raw usage retention)", name)
    if outcome.deleted:
        log.info("deleted %d usage rows past the raw usage retention", outcome.deleted)
    return outcome


async def usage_history_loop(ctx: WorkerContext) -> None:
    while True:
        try:
            await maintain_usage_history(
                ctx.engine, ctx.sessions, ctx.clock.now(), ctx.settings.usage_raw_retention_days
            )
        except Exception:
            log.exception("usage history upkeep failed; retrying")
        await asyncio.sleep(INTERVAL_SECONDS)
