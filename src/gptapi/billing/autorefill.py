"""Auto-refill: charge the saved card when the balance falls below the threshold.

A refill is claimed with one conditional update of the billing account (enabled, a card,
balance below threshold, nothing in flight, under the monthly cap), so any number of workers
checking at once start at most one charge. The Stripe idempotency key comes from the claim's
sequence number, so a worker that dies mid-charge and is retried after REFILL_STALE reuses the
key and Stripe answers with the same PaymentIntent instead of charging again.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

import stripe
from sqlalchemy import case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi import outbox
from gptapi.billing import payments as money
from gptapi.billing.notices import Notice, send_notices
from gptapi.billing.stripe_client import NANOS_PER_CENT, Payments
from gptapi.kit.clock import Clock, month_start
from gptapi.kit.db import SessionMaker
from gptapi.mail.message import Mailer
from gptapi.mail.recipients import owner_emails
from gptapi.models import BillingAccount, Organization, StripePayment

log = logging.getLogger(__name__)

REFILL_STALE = timedelta(minutes=10)


async def due_refills(session: AsyncSession) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(BillingAccount.organization_id)
        .join(Organization, Organization.id == BillingAccount.organization_id)
        .where(
            BillingAccount.auto_refill_enabled.is_(True),
            Organization.balance_nanos < BillingAccount.auto_refill_threshold_nanos,
        )
    )
    return list(rows)


async def refilled_this_month(
    session: AsyncSession, organization_id: uuid.UUID, now: datetime
) -> int:
    """Cents charged (or being charged) by auto-refill since the month began."""
    total = await session.scalar(
        select(func.coalesce(func.sum(StripePayment.amount_cents), 0)).where(
            StripePayment.organization_id == organization_id,
            StripePayment.kind == "auto_refill",
            StripePayment.status.in_(("open", "processing", "paid")),
            StripePayment.created_at >= month_start(now),
        )
    )
    return int(total or 0)


async def _claim(session: AsyncSession, organization_id: uuid.UUID, now: datetime) -> int | None:
    """The claim's sequence number, or None when no refill should start."""
    account = BillingAccount
    balance = (
        select(Organization.balance_nanos)
        .where(Organization.id == account.organization_id)
        .scalar_subquery()
    )
    result = await session.execute(
        update(account)
        .where(
            account.organization_id == organization_id,
            account.auto_refill_enabled.is_(True),
            account.payment_method_id.is_not(None),
            account.stripe_customer_id.is_not(None),
            balance < account.auto_refill_threshold_nanos,
            or_(
                account.refill_started_at.is_(None), account.refill_started_at < now - REFILL_STALE
            ),
        )
        .values(
            refill_started_at=now,
            refill_seq=case(
                (account.refill_started_at.is_(None), account.refill_seq + 1),
                else_=account.refill_seq,
            ),
        )
        .returning(account.refill_seq)
    )
    seq = result.scalar_one_or_none()
    if seq is None:
        return None
    row = await session.get(BillingAccount, organization_id, populate_existing=True)
    assert row is not None
    # Read again now that the row is ours: on PostgreSQL an UPDATE that waited for a
    # concurrent refill re-checks the account row but not the balance subquery, which may
    # predate that refill's credit.
    balance = await session.scalar(
        select(Organization.balance_nanos).where(Organization.id == organization_id)
    )
    cap = row.auto_refill_monthly_cap_nanos
    cents = row.auto_refill_amount_nanos // NANOS_PER_CENT
    over_cap = (
        cap is not None
        and (await refilled_this_month(session, organization_id, now) + cents) * NANOS_PER_CENT
        > cap
    )
    if over_cap or (balance or 0) >= row.auto_refill_threshold_nanos:
        row.refill_started_at = None
        return None
    return seq


async def refill(
    sessions: SessionMaker,
    payments: Payments,
    mailer: Mailer,
    clock: Clock,
    organization_id: uuid.UUID,
) -> str | None:
    """Try one refill; the resulting payment status, or None when none was due."""
    async with sessions() as session, session.begin():
        seq = await _claim(session, organization_id, clock.now())
        if seq is None:
            return None
        account = await session.get(BillingAccount, organization_id)
        assert account is not None and account.stripe_customer_id and account.payment_method_id
        customer, method = account.stripe_customer_id, account.payment_method_id
        cents = account.auto_refill_amount_nanos // NANOS_PER_CENT
    try:
        intent = await payments.charge_off_session(
            customer=customer,
            payment_method=method,
            organization_id=organization_id,
            amount_cents=cents,
            idempotency_key=f"auto_refill:{organization_id}:{seq}",
        )
    except stripe.StripeError as exc:
        if exc.http_status is None or exc.http_status >= 500 or exc.http_status == 429:
            # Stripe unreachable or busy: the claim stays and is retried after REFILL_STALE.
            log.warning("auto-refill for %s could not reach Stripe: %s", organization_id, exc)
            return None
        await _disable(sessions, mailer, organization_id, cents, exc)
        return "failed"
    async with sessions() as session, session.begin():
        status = await money.apply_refill(session, intent, organization_id)
        if status != "processing":
            await _release(session, organization_id)
    return status


async def _release(session: AsyncSession, organization_id: uuid.UUID) -> None:
    await session.execute(
        update(BillingAccount)
        .where(BillingAccount.organization_id == organization_id)
        .values(refill_started_at=None)
    )


async def _disable(
    sessions: SessionMaker,
    mailer: Mailer,
    organization_id: uuid.UUID,
    cents: int,
    exc: stripe.StripeError,
) -> None:
    """A decline or a card that needs the holder present: stop trying and tell the owners."""
    code = exc.code or "card_declined"
    if code == "authentication_required":
        reason = "Your bank asked to confirm the charge; add credit by hand to confirm the card."
    else:
        reason = f"The card was declined ({exc.user_message or code})."
    intent = exc.error.payment_intent if exc.error is not None else None
    async with sessions() as session, session.begin():
        account = await session.get(BillingAccount, organization_id, with_for_update=True)
        assert account is not None
        account.auto_refill_enabled = False
        account.auto_refill_disabled_reason = reason[:300]
        account.refill_started_at = None
        await money.record_declined_refill(
            session,
            organization_id,
            cents,
            intent_id=intent.id if intent is not None else None,
            code=code,
            message=reason,
        )
        balance = await session.scalar(
            select(Organization.balance_nanos).where(Organization.id == organization_id)
        )
        await outbox.emit(
            session,
            organization_id=organization_id,
            event_type="auto_refill.failed",
            data={
                "organization_id": str(organization_id),
                "amount_cents": cents,
                "currency": "usd",
                "balance_nanos": balance or 0,
                "threshold_nanos": account.auto_refill_threshold_nanos,
                "failure_code": code,
                "failure_message": reason,
                "auto_refill_disabled": True,
            },
        )
        emails = await owner_emails(session, organization_id)
    await send_notices(
        mailer,
        emails,
        Notice(
            subject="Auto-refill is off",
            text=f"We could not add ${money.usd(cents)} of credit automatically. {reason}\n\n"
            "Auto-refill is now switched off; add credit and turn it back on from the "
            "Billing page.",
            category="auto_refill",
        ),
    )


async def refill_due(
    sessions: SessionMaker, payments: Payments, mailer: Mailer, clock: Clock
) -> None:
    async with sessions() as session:
        due = await due_refills(session)
    for organization_id in due:
        await refill(sessions, payments, mailer, clock, organization_id)
