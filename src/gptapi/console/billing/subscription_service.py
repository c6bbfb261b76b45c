"""Monthly plans for the console: the plans on offer, the organisation's subscription,
subscribing through Checkout, cancelling at the period's end and resuming."""

from __future__ import annotations

import uuid

import stripe
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.billing.stripe_client import Payments
from gptapi.billing.subscriptions import LIVE, grace_ends, sync_subscription
from gptapi.config import PlanSetting, Settings
from gptapi.console import audit
from gptapi.console.billing.schemas import (
    CheckoutCreated,
    PlanOut,
    SubscriptionCheckout,
    SubscriptionOut,
    SubscriptionOverview,
)
from gptapi.console.billing.service import (
    customer_of,
    payments_not_configured,
    stripe_unavailable,
)
from gptapi.console.deps import OrgContext
from gptapi.console.errors import ApiError, bad_request, conflict
from gptapi.console.usage.money import usd
from gptapi.kit.clock import Clock
from gptapi.kit.money import dollars_to_nanos
from gptapi.models import Subscription


def plan_out(plan: PlanSetting) -> PlanOut:
    return PlanOut(
        id=plan.id,
        name=plan.name,
        price_usd=f"{plan.price_usd:.2f}",
        included_credit_usd=usd(dollars_to_nanos(plan.included_credit_usd)),
        rpm_limit=plan.rpm_limit,
        tpm_limit=plan.tpm_limit,
    )


async def current(db: AsyncSession, organization_id: uuid.UUID) -> Subscription | None:
    """The organisation's live subscription, else its latest one."""
    rows = await db.scalars(
        select(Subscription)
        .where(Subscription.organization_id == organization_id)
        .order_by(Subscription.status.in_(LIVE).desc(), Subscription.created_at.desc())
        .limit(1)
    )
    return rows.first()


def subscription_out(row: Subscription, settings: Settings) -> SubscriptionOut:
    plan = settings.plan(row.plan)
    return SubscriptionOut(
        plan=row.plan,
        plan_name=plan.name if plan else row.plan,
        status=row.status,
        current_period_start=row.current_period_start,
        current_period_end=row.current_period_end,
        cancel_at_period_end=row.cancel_at_period_end,
        grace_ends_at=grace_ends(row, settings),
        ended_at=row.ended_at,
    )


async def overview(
    db: AsyncSession, ctx: OrgContext, settings: Settings, configured: bool
) -> SubscriptionOverview:
    row = await current(db, ctx.organization.id)
    return SubscriptionOverview(
        available=configured and bool(settings.subscription_plans),
        plans=[plan_out(plan) for plan in settings.subscription_plans],
        subscription=subscription_out(row, settings) if row is not None else None,
    )


async def checkout(
    db: AsyncSession,
    ctx: OrgContext,
    body: SubscriptionCheckout,
    payments: Payments | None,
    settings: Settings,
) -> CheckoutCreated:
    if payments is None:
        raise payments_not_configured()
    plan = settings.plan(body.plan)
    if plan is None:
        raise bad_request(f"No plan {body.plan!r}.", param="plan", code="unknown_plan")
    existing = await current(db, ctx.organization.id)
    if existing is not None and existing.status in LIVE:
        raise conflict(
            "This organisation already has a plan; cancel it first.", code="already_subscribed"
        )
    base = settings.base_url
    try:
        _, customer = await customer_of(db, ctx, payments)
        session = await payments.create_subscription_checkout(
            customer=customer,
            organization_id=ctx.organization.id,
            user_id=ctx.viewer.user.id,
            plan=plan.id,
            price_id=plan.stripe_price_id,
            success_url=f"{base}/dashboard/billing?plan=success&session_id={{CHECKOUT_SESSION_ID}}",
            cancel_url=f"{base}/dashboard/billing?plan=cancelled",
            idempotency_key=f"subscribe:{uuid.uuid4()}",
        )
    except stripe.StripeError as exc:
        raise stripe_unavailable(exc) from exc
    audit.record_change(
        db,
        ctx,
        "billing.subscription_checkout_started",
        target_type="checkout",
        target_id=session.id,
        data={"plan": plan.id},
    )
    return CheckoutCreated(id=session.id, url=session.url)


async def set_cancel(
    db: AsyncSession,
    ctx: OrgContext,
    payments: Payments | None,
    settings: Settings,
    clock: Clock,
    *,
    cancel: bool,
) -> SubscriptionOut:
    """Cancel at the period's end, or resume a subscription set to cancel."""
    if payments is None:
        raise payments_not_configured()
    row = await current(db, ctx.organization.id)
    if row is None or row.status not in LIVE or row.stripe_subscription_id is None:
        raise ApiError(409, "no_subscription", "This organisation has no plan to change.")
    if row.cancel_at_period_end == cancel:
        return subscription_out(row, settings)
    try:
        sub = await payments.set_cancel_at_period_end(row.stripe_subscription_id, cancel)
    except stripe.StripeError as exc:
        raise stripe_unavailable(exc) from exc
    synced, _ = await sync_subscription(db, sub, settings, clock.now())
    audit.record_change(
        db,
        ctx,
        "billing.subscription_cancelled" if cancel else "billing.subscription_resumed",
        target_type="subscription",
        target_id=row.stripe_subscription_id,
        data={"plan": row.plan, "period_end": row.current_period_end.isoformat()},
    )
    return subscription_out(synced or row, settings)
