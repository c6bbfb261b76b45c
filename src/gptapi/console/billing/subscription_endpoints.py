"""/api/orgs/{org_id}/billing/subscription: monthly plans on Stripe Billing."""

from __future__ import annotations

import stripe
from fastapi import APIRouter

from gptapi.billing.subscriptions import grant_invoice_credit, mails_for, sync_subscription
from gptapi.console.billing import subscription_service as service
from gptapi.console.billing.endpoints import BASE, BillingRead, BillingWrite, StripePayments
from gptapi.console.billing.schemas import (
    CheckoutCreated,
    SubscriptionCheckout,
    SubscriptionOut,
    SubscriptionOverview,
)
from gptapi.console.billing.service import stripe_unavailable
from gptapi.console.deps import DbSession, State
from gptapi.console.errors import not_found
from gptapi.console.mail_queue import RequestMailQueue

router = APIRouter(tags=["billing"])
PATH = f"{BASE}/subscription"


@router.get(PATH, summary="The plans on offer and the organisation's subscription")
async def get_subscription(
    ctx: BillingRead, db: DbSession, state: State, payments: StripePayments
) -> SubscriptionOverview:
    return await service.overview(db, ctx, state.settings, payments is not None)


@router.post(
    f"{PATH}/checkout",
    status_code=201,
    summary="Subscribe: returns the Stripe Checkout URL (subscription mode) for a plan",
)
async def post_subscription_checkout(
    ctx: BillingWrite,
    body: SubscriptionCheckout,
    db: DbSession,
    state: State,
    payments: StripePayments,
) -> CheckoutCreated:
    return await service.checkout(db, ctx, body, payments, state.settings)


@router.get(
    f"{PATH}/checkout/{{session_id}}",
    summary="The return page's poll: the subscription as Stripe has it, its first credit granted",
)
async def get_subscription_checkout(
    ctx: BillingWrite,
    session_id: str,
    db: DbSession,
    state: State,
    payments: StripePayments,
    mail: RequestMailQueue,
) -> SubscriptionOverview:
    if payments is None:
        raise not_found("checkout session")  # without Stripe there are none
    try:
        checkout = await payments.retrieve_checkout(session_id)
        ours = checkout.client_reference_id == str(ctx.organization.id)
        if checkout.mode != "subscription" or not ours:
            raise not_found("checkout session")
        if checkout.subscription:
            subscription_id = (
                checkout.subscription
                if isinstance(checkout.subscription, str)
                else checkout.subscription.id
            )
            sub = await payments.retrieve_subscription(subscription_id)
            _, changes = await sync_subscription(db, sub, state.settings, state.clock.now())
            invoice = sub.latest_invoice
            if invoice:
                invoice_id = invoice if isinstance(invoice, str) else invoice.id
                paid = await payments.retrieve_invoice(invoice_id)
                granted = await grant_invoice_credit(db, paid, state.settings)
                changes += [granted] if granted is not None else []
            for message in await mails_for(db, changes, state.settings):
                mail.send(message)
    except stripe.InvalidRequestError:
        raise not_found("checkout session") from None
    except stripe.StripeError as exc:
        raise stripe_unavailable(exc) from exc
    return await service.overview(db, ctx, state.settings, True)


@router.post(f"{PATH}/cancel", summary="Cancel at the end of the current period")
async def cancel_subscription(
    ctx: BillingWrite, db: DbSession, state: State, payments: StripePayments
) -> SubscriptionOut:
    return await service.set_cancel(db, ctx, payments, state.settings, state.clock, cancel=True)


@router.post(f"{PATH}/resume", summary="Keep a subscription that was set to cancel")
async def resume_subscription(
    ctx: BillingWrite, db: DbSession, state: State, payments: StripePayments
) -> SubscriptionOut:
    return await service.set_cancel(db, ctx, payments, state.settings, state.clock, cancel=False)
