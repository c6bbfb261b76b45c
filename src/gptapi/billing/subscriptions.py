"""Monthly plans on Stripe Billing, beside prepaid credit.

Our `subscriptions` row mirrors the Stripe Subscription as last read from Stripe (events are
neither ordered nor unique, so every event is applied from a fresh read). Each paid invoice
grants the plan's included credit once (`subscription_invoices` row + ledger key
`plan_credit:<invoice>`). A failed renewal makes the subscription `past_due`: the owners are
mailed once, and the plan keeps its benefits for SUBSCRIPTION_GRACE_DAYS while Stripe retries.
While a plan's benefits last, its key limits become the organisation's defaults — only where
the organisation had none of its own, and only upwards — and are taken back when they end.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import stripe
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.billing.payment_events import payment_succeeded
from gptapi.billing.store import upsert_insert
from gptapi.billing.stripe_client import metadata_value
from gptapi.config import PlanSetting, Settings
from gptapi.kit.db import SessionMaker
from gptapi.kit.money import dollars_to_nanos, format_usd
from gptapi.ledger import append_entry
from gptapi.mail.message import Mail
from gptapi.mail.recipients import owner_emails
from gptapi.models import (
    BillingAccount,
    Membership,
    Organization,
    Subscription,
    SubscriptionInvoice,
)

log = logging.getLogger(__name__)

# Stripe's statuses in the seed's subscription_status enum.
STATUSES = {
    "active": "active",
    "trialing": "trialing",
    "past_due": "past_due",
    "canceled": "canceled",
    "unpaid": "unpaid",
    "incomplete": "unpaid",
    "paused": "unpaid",
    "incomplete_expired": "canceled",
}
LIVE = ("active", "trialing", "past_due")
ENDED = ("canceled", "unpaid")


@dataclass(frozen=True)
class Change:
    """Something the owners are told about once the transaction has committed."""

    organization_id: uuid.UUID
    kind: str  # renewed | past_due | recovered | ended
    plan: str
    credit_nanos: int = 0
    grace_ends_at: datetime | None = None


def _moment(unix: int | None) -> datetime | None:
    return datetime.fromtimestamp(unix, UTC) if unix else None


def grace_ends(row: Subscription, settings: Settings) -> datetime | None:
    if row.status != "past_due" or row.past_due_since is None:
        return None
    return row.past_due_since + timedelta(days=settings.subscription_grace_days)


def benefits_active(row: Subscription, settings: Settings, now: datetime) -> bool:
    """Active and trialing plans, and past-due ones within their grace period."""
    ends = grace_ends(row, settings)
    return row.status in ("active", "trialing") or (ends is not None and now < ends)


async def apply_plan_limits(
    session: AsyncSession,
    organization_id: uuid.UUID,
    plan: PlanSetting,
    on: bool,
    settings: Settings,
) -> None:
    organization = await session.get(Organization, organization_id, with_for_update=True)
    assert organization is not None
    for attr, raised, platform_default in (
        ("default_rpm_limit", plan.rpm_limit, settings.default_rpm_limit),
        ("default_tpm_limit", plan.tpm_limit, settings.default_tpm_limit),
    ):
        if raised is None:
            continue
        current = getattr(organization, attr)
        if on and current is None and platform_default and raised > platform_default:
            setattr(organization, attr, raised)
        elif not on and current == raised:
            setattr(organization, attr, None)


async def _organization_of(session: AsyncSession, sub: stripe.Subscription) -> uuid.UUID | None:
    try:
        return uuid.UUID(metadata_value(sub.metadata, "organization_id"))
    except ValueError:
        customer = sub.customer if isinstance(sub.customer, str) else sub.customer.id
        return await session.scalar(
            select(BillingAccount.organization_id).where(
                BillingAccount.stripe_customer_id == customer
            )
        )


async def _subscriber(
    session: AsyncSession, sub: stripe.Subscription, organization_id: uuid.UUID
) -> uuid.UUID | None:
    try:
        return uuid.UUID(metadata_value(sub.metadata, "user_id"))
    except ValueError:
        return await session.scalar(
            select(Membership.user_id).where(
                Membership.organization_id == organization_id, Membership.role == "owner"
            )
        )


async def sync_subscription(
    session: AsyncSession, sub: stripe.Subscription, settings: Settings, now: datetime
) -> tuple[Subscription | None, list[Change]]:
    """Bring our row in line with the subscription as Stripe has it now."""
    item = sub["items"].data[0]
    plan = settings.plan_for_price(item.price.id)
    organization_id = await _organization_of(session, sub)
    if plan is None or organization_id is None:
        log.warning("subscription %s: not one of our plans or customers; ignored", sub.id)
        return None, []
    user_id = await _subscriber(session, sub, organization_id)
    if user_id is None:
        return None, []
    status = STATUSES.get(sub.status, "unpaid")
    start = _moment(item.current_period_start) or now
    end = _moment(item.current_period_end) or now
    inserted = await session.execute(
        upsert_insert(session)(Subscription)
        .values(
            id=uuid.uuid4(),
            organization_id=organization_id,
            user_id=user_id,
            stripe_subscription_id=sub.id,
            plan=plan.id,
            stripe_price_id=item.price.id,
            status=status,
            current_period_start=start,
            current_period_end=end,
            cancel_at_period_end=bool(sub.cancel_at_period_end),
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["stripe_subscription_id"])
        .returning(Subscription.id)
    )
    new = inserted.scalar_one_or_none() is not None
    row = await session.scalar(
        select(Subscription)
        .where(Subscription.stripe_subscription_id == sub.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert row is not None
    old = None if new else row.status
    row.status = status
    row.plan, row.stripe_price_id = plan.id, item.price.id
    row.current_period_start, row.current_period_end = start, end
    row.cancel_at_period_end = bool(sub.cancel_at_period_end)
    changes: list[Change] = []
    if status == "past_due" and row.past_due_since is None:
        row.past_due_since = now
        changes.append(
            Change(organization_id, "past_due", plan.id, grace_ends_at=grace_ends(row, settings))
        )
    elif status in ("active", "trialing") and row.past_due_since is not None:
        row.past_due_since = None
        changes.append(Change(organization_id, "recovered", plan.id))
    if status in ENDED and old is not None and old not in ENDED:
        row.ended_at = _moment(sub.ended_at) or now
        changes.append(Change(organization_id, "ended", plan.id))
    await session.flush()
    await apply_plan_limits(
        session, organization_id, plan, benefits_active(row, settings, now), settings
    )
    return row, changes


def invoice_subscription(invoice: stripe.Invoice) -> str | None:
    parent = invoice.parent
    details = parent.subscription_details if parent is not None else None
    if details is None or details.subscription is None:
        return None
    sub = details.subscription
    return sub if isinstance(sub, str) else sub.id


async def grant_invoice_credit(
    session: AsyncSession, invoice: stripe.Invoice, settings: Settings
) -> Change | None:
    """The plan's included credit for a paid invoice, once per invoice."""
    subscription_id = invoice_subscription(invoice)
    if invoice.status != "paid" or subscription_id is None or not invoice.lines.data:
        return None
    row = await session.scalar(
        select(Subscription).where(Subscription.stripe_subscription_id == subscription_id)
    )
    line = invoice.lines.data[0]
    details = line.pricing.price_details if line.pricing is not None else None
    price = details.price if details is not None else None
    price_id = price if isinstance(price, str) else price.id if price is not None else ""
    plan = settings.plan_for_price(price_id)
    if row is None or plan is None:
        return None
    credit = dollars_to_nanos(plan.included_credit_usd)
    start = _moment(line.period.start) or row.current_period_start
    end = _moment(line.period.end) or row.current_period_end
    recorded = await session.execute(
        upsert_insert(session)(SubscriptionInvoice)
        .values(
            organization_id=row.organization_id,
            subscription_id=row.id,
            stripe_invoice_id=invoice.id,
            plan=plan.id,
            amount_paid_cents=invoice.amount_paid,
            credit_nanos=credit,
            period_start=start,
            period_end=end,
            hosted_invoice_url=invoice.hosted_invoice_url or "",
            paid_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing(index_elements=["stripe_invoice_id"])
        .returning(SubscriptionInvoice.id)
    )
    if recorded.scalar_one_or_none() is None:
        return None  # granted already
    if credit:
        await append_entry(
            session,
            organization_id=row.organization_id,
            amount_nanos=credit,
            kind="plan_credit",
            idempotency_key=f"plan_credit:{invoice.id}",
            description=f"{plan.name} plan: credit included {start:%b %d} to {end:%b %d}",
            created_by=row.user_id,
        )
    await payment_succeeded(
        session,
        organization_id=row.organization_id,
        payment_id=invoice.id,
        amount_cents=invoice.amount_paid,
        source="subscription",
        credit_nanos=credit,
    )
    return Change(row.organization_id, "renewed", plan.id, credit_nanos=credit)


async def mails_for(session: AsyncSession, changes: list[Change], settings: Settings) -> list[Mail]:
    """The owners' mails about these changes (category "payments")."""
    mails: list[Mail] = []
    for change in changes:
        plan = settings.plan(change.plan)
        name = plan.name if plan else change.plan
        subject, text = _notice(change, name, settings.base_url)
        for email in await owner_emails(session, change.organization_id):
            mails.append(Mail(email, subject, text, category="payments"))
    return mails


def _notice(change: Change, plan: str, base_url: str) -> tuple[str, str]:
    billing = f"{base_url}/dashboard/billing"
    if change.kind == "renewed":
        credit = format_usd(change.credit_nanos, 2)
        return (
            f"Your {plan} plan is paid",
            f"Thank you: your {plan} plan is paid for this period, and its {credit} of included "
            f"credit is on your balance. Invoices and the renewal date are on {billing}.",
        )
    if change.kind == "past_due":
        until = f"{change.grace_ends_at:%B %d, %Y}" if change.grace_ends_at else "soon"
        return (
            f"We could not renew your {plan} plan",
            f"The card on file was declined for your {plan} plan. Stripe will try again; the "
            f"plan keeps its benefits until {until}. Update your card or pay the invoice from "
            f"{billing} to keep it.",
        )
    if change.kind == "recovered":
        return (
            f"Your {plan} plan is back in good standing",
            f"The renewal of your {plan} plan went through after all; nothing else to do.",
        )
    return (
        f"Your {plan} plan has ended",
        f"Your {plan} plan has ended. Prepaid credit stays on your balance and keeps working; "
        f"you can subscribe again from {billing}.",
    )


async def expire_grace(sessions: SessionMaker, settings: Settings, now: datetime) -> None:
    """Past-due plans whose grace period ran out lose their benefits (the billing worker)."""
    cutoff = now - timedelta(days=settings.subscription_grace_days)
    async with sessions() as session, session.begin():
        rows = await session.scalars(
            select(Subscription).where(
                Subscription.status == "past_due", Subscription.past_due_since < cutoff
            )
        )
        for row in rows.all():
            plan = settings.plan(row.plan)
            if plan is not None:
                await apply_plan_limits(session, row.organization_id, plan, False, settings)
