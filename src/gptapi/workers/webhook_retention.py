"""Hourly pruning of the webhook log: events older than WEBHOOK_RETENTION_DAYS go, with their
deliveries and attempts, once none of their deliveries is still pending. Small batches, each
its own transaction, so a large backlog never holds long locks."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from gptapi.kit.db import SessionMaker
from gptapi.webhooks import repository as repo

if TYPE_CHECKING:
    from gptapi.workers import WorkerContext

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 3600
BATCH = 500


async def prune_webhook_log(
    sessions: SessionMaker, now: datetime, retention_days: float, *, batch: int = BATCH
) -> int:
    """Prune everything due at `now`; returns the number of events removed."""
    before = now - timedelta(days=retention_days)
    total = 0
    while True:
        async with sessions() as session, session.begin():
            removed = await repo.prune_events(session, before, batch)
        total += removed
        if removed < batch:
            return total


async def webhook_retention_loop(ctx: WorkerContext) -> None:
    while True:
        try:
            removed = await prune_webhook_log(
                ctx.sessions, ctx.clock.now(), ctx.settings.webhook_retention_days
            )
            if removed:
                log.info("pruned %d webhook events older than the retention", removed)
        except Exception:
            log.exception("webhook log pruning failed; retrying")
        await asyncio.sleep(INTERVAL_SECONDS)
