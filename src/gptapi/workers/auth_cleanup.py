"""Hourly removal of expired sign-in tokens, sessions and throttle counts."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from gptapi.console.auth.cleanup import prune_expired

if TYPE_CHECKING:
    from gptapi.workers import WorkerContext

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 3600


async def auth_cleanup_loop(ctx: WorkerContext) -> None:
    while True:
        try:
            async with ctx.sessions() as session, session.begin():
                await prune_expired(session, ctx.clock.now())
        except Exception:
            log.exception("auth cleanup failed; retrying")
        await asyncio.sleep(INTERVAL_SECONDS)
