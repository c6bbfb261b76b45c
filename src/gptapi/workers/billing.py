"""Auto-refills and balance warnings, checked every BILLING_POLL_SECONDS."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from gptapi.billing.alerts import check_balances
from gptapi.billing.autorefill import refill_due
from gptapi.billing.stripe_client import build_payments
from gptapi.kit.money import dollars_to_nanos

if TYPE_CHECKING:
    from gptapi.workers import WorkerContext

log = logging.getLogger(__name__)


async def billing_loop(ctx: WorkerContext) -> None:
    payments = build_payments(ctx.settings)
    threshold = dollars_to_nanos(ctx.settings.low_balance_threshold_usd)
    while True:
        await asyncio.sleep(ctx.settings.billing_poll_seconds)
        try:
            if payments is not None:
                await refill_due(ctx.sessions, payments, ctx.mailer, ctx.clock)
            await check_balances(ctx.sessions, ctx.mailer, threshold)
        except Exception:
            log.exception("billing check failed; retrying")
