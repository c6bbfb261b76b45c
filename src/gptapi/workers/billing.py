"""Auto-refills, balance and running-cost warnings and the end of plans' grace periods,
checked every BILLING_POLL_SECONDS."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from gptapi.billing.alerts import check_balances
from gptapi.billing.autorefill import refill_due
from gptapi.billing.runway import check_runways
from gptapi.billing.stripe_client import build_payments
from gptapi.billing.subscriptions import expire_grace
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
            await check_runways(ctx.sessions, ctx.mailer)
            if ctx.settings.subscription_plans:
                await expire_grace(ctx.sessions, ctx.settings, ctx.clock.now())
        except Exception:
            log.exception("billing check failed; retrying")
