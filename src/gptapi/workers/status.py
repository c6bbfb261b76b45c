"""The status monitor's loop: one sample at start, then every STATUS_SAMPLE_SECONDS."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from gptapi.console.status import subscribers
from gptapi.console.status.monitor import StatusMonitor

if TYPE_CHECKING:
    from gptapi.workers import WorkerContext

log = logging.getLogger(__name__)


async def status_loop(ctx: WorkerContext) -> None:
    serving = ctx.runtime.serving
    monitor = StatusMonitor(
        settings=ctx.settings,
        sessions=ctx.sessions,
        clock=ctx.clock,
        registry=serving.registry,
        client=serving.client,
    )
    while True:
        try:
            await monitor.sample()
            await subscribers.mail_new_updates(
                ctx.sessions, ctx.mailer, ctx.settings.base_url, ctx.runtime.console.secret_key
            )
        except Exception:
            log.exception("status sample failed; retrying")
        await asyncio.sleep(ctx.settings.status_sample_seconds)
