"""Low- and zero-balance warnings: sent once per fall, re-armed when credit comes back.

The state told to the owners (ok → low → depleted) moves by conditional update, so several
workers noticing the same fall send one warning.
"""

from __future__ import annotations

import uuid

from sqlalchemy import exists, func, select

from gptapi import outbox
from gptapi.billing.notices import Notice, send_notices
from gptapi.billing.store import move_told_state
from gptapi.kit.db import SessionMaker
from gptapi.kit.money import format_usd
from gptapi.mail.message import Mailer
from gptapi.mail.recipients import owner_emails
from gptapi.models import BillingAccount, CreditTransaction, Organization

SEVERITY = {"ok": 0, "low": 1, "depleted": 2}


def balance_state(balance_nanos: int, threshold_nanos: int) -> str:
    if balance_nanos <= 0:
        return "depleted"
    return "low" if balance_nanos < threshold_nanos else "ok"


async def check_balances(sessions: SessionMaker, mailer: Mailer, default_threshold: int) -> None:
    threshold = func.coalesce(BillingAccount.low_balance_threshold_nanos, default_threshold)
    state = func.coalesce(BillingAccount.balance_state, "ok")
    # Welcome credit alone does not arm the low-balance warning: a newcomer's first request
    # would otherwise already be "running low" against the default threshold.
    ever_funded = exists().where(
        CreditTransaction.organization_id == Organization.id,
        CreditTransaction.amount_nanos > 0,
        CreditTransaction.kind != "welcome",
    )
    async with sessions() as session:
        rows = (
            await session.execute(
                select(Organization.id, Organization.balance_nanos, threshold, state)
                .outerjoin(BillingAccount, BillingAccount.organization_id == Organization.id)
                .where(
                    Organization.is_active.is_(True),
                    ((Organization.balance_nanos < threshold) & ever_funded) | (state != "ok"),
                )
            )
        ).all()
    for organization_id, balance, limit, told in rows:
        new = balance_state(balance, limit)
        if new != told:
            await _transition(sessions, mailer, organization_id, told, new, balance, limit)


async def _transition(
    sessions: SessionMaker,
    mailer: Mailer,
    organization_id: uuid.UUID,
    old: str,
    new: str,
    balance: int,
    threshold: int,
) -> None:
    async with sessions() as session, session.begin():
        moved = await move_told_state(
            session, organization_id, BillingAccount.balance_state, old, new
        )
        if not moved or SEVERITY[new] <= SEVERITY[old]:
            return
        event = "balance.depleted" if new == "depleted" else "balance.low"
        await outbox.emit(
            session,
            organization_id=organization_id,
            event_type=event,
            data={
                "organization_id": str(organization_id),
                "balance_nanos": balance,
                "threshold_nanos": threshold,
            },
        )
        emails = await owner_emails(session, organization_id)
    if new == "depleted":
        notice = Notice(
            subject="Your API credit has run out",
            text="Your organisation's balance is $0. API requests are refused with "
            "429 insufficient_quota until you add credit on the Billing page.",
            category="low_balance",
        )
    else:
        notice = Notice(
            subject="Your API credit is running low",
            text=f"Your organisation's balance is {format_usd(balance, 2)}, below your warning "
            f"threshold of {format_usd(threshold, 2)}. Add credit on the Billing page, or turn "
            "on auto-refill, to keep requests flowing.",
            category="low_balance",
        )
    await send_notices(mailer, emails, notice)
