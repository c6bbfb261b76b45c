"""GPU cloud: deployments advanced through their providers and running time metered, every
COMPUTE_POLL_SECONDS."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gptapi.workers import WorkerContext

log = logging.getLogger(__name__)


async def compute_loop(ctx: WorkerContext) -> None:
    supervisor = ctx.runtime.compute
    while True:
        try:
            await supervisor.tick()
        except Exception:
            log.exception("compute tick failed; retrying")
        await asyncio.sleep(ctx.settings.compute_poll_seconds)
