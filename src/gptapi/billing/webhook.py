"""Stripe events: verified, deduplicated on their id, applied in one transaction.

Stripe neither orders nor deduplicates deliveries. Checkout events are applied from the
session as Stripe has it now (retrieved again), not from the event's snapshot, so an old
event arriving late applies the newest state; refunds carry a cumulative amount.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

import stripe
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.billing import payments as money
from gptapi.billing.store import upsert_insert
from gptapi.billing.stripe_client import Payments, metadata_value
from gptapi.billing.subscriptions import (
    Change,
    grant_invoice_credit,
    invoice_subscription,
    mails_for,
    sync_subscription,
)
from gptapi.config import Settings
from gptapi.kit.clock import Clock
from gptapi.kit.db import SessionMaker
from gptapi.mail.message import Mail
from gptapi.models import StripeEvent

log = logging.getLogger(__name__)

CHECKOUT_EVENTS = frozenset(
    {
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
    }
)
INTENT_EVENTS = frozenset({"payment_intent.succeeded", "payment_intent.payment_failed"})
SUBSCRIPTION_EVENTS = frozenset(
    {
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.paused",
        "customer.subscription.resumed",
    }
)
INVOICE_EVENTS = frozenset({"invoice.paid", "invoice.payment_failed"})


class RetryLater(Exception):
    """The event refers to a payment not recorded yet; Stripe will deliver it again."""


@dataclass(frozen=True)
class Outcome:
    event_id: str
    duplicate: bool
    handled: bool
    mails: tuple[Mail, ...] = ()  # to send once the transaction has committed


@dataclass
class Billing:
    """A subscription-mode checkout, a subscription or an invoice, as Stripe has it now."""

    subscription: stripe.Subscription | None = None
    invoice: stripe.Invoice | None = None


async def _fetch_billing(
    payments: Payments,
    event_type: str,
    obj: dict[str, Any],
    checkout: stripe.checkout.Session | None,
) -> Billing:
    billing = Billing()
    subscription_id: str | None = None
    if checkout is not None and checkout.mode == "subscription":
        subscription_id = _id(checkout.subscription)
        invoice_id = _id(checkout.invoice)
        billing.invoice = await payments.retrieve_invoice(invoice_id) if invoice_id else None
    elif event_type in SUBSCRIPTION_EVENTS:
        subscription_id = str(obj.get("id", ""))
    elif event_type in INVOICE_EVENTS:
        billing.invoice = await payments.retrieve_invoice(str(obj.get("id", "")))
        subscription_id = invoice_subscription(billing.invoice)
    if subscription_id:
        billing.subscription = await payments.retrieve_subscription(subscription_id)
    return billing


def _id(value: object) -> str | None:
    if isinstance(value, str):
        return value
    return getattr(value, "id", None)


async def _apply_billing(
    session: AsyncSession, billing: Billing, settings: Settings, clock: Clock
) -> tuple[bool, list[Mail]]:
    changes: list[Change] = []
    handled = False
    if billing.subscription is not None:
        row, synced = await sync_subscription(session, billing.subscription, settings, clock.now())
        handled, changes = row is not None, synced
    if billing.invoice is not None:
        granted = await grant_invoice_credit(session, billing.invoice, settings)
        if granted is not None:
            handled = True
            changes.append(granted)
    return handled, await mails_for(session, changes, settings)


async def handle_event(
    sessions: SessionMaker,
    payments: Payments,
    event: stripe.Event,
    clock: Clock,
    settings: Settings,
) -> Outcome:
    obj: dict[str, Any] = event.data.object.to_dict()
    checkout: stripe.checkout.Session | None = None
    intent: stripe.PaymentIntent | None = None
    billing = Billing()
    try:
        if event.type in CHECKOUT_EVENTS:
            checkout = await payments.retrieve_checkout(str(obj.get("id", "")))
            billing = await _fetch_billing(payments, event.type, obj, checkout)
        elif event.type in SUBSCRIPTION_EVENTS | INVOICE_EVENTS:
            billing = await _fetch_billing(payments, event.type, obj, None)
        elif (
            event.type in INTENT_EVENTS
            and metadata_value(obj.get("metadata"), "kind") == "auto_refill"
        ):
            intent = await payments.retrieve_payment_intent(str(obj.get("id", "")))
    except stripe.InvalidRequestError:
        pass  # Stripe does not know it (another account's object): nothing of ours
    except stripe.StripeError as exc:
        raise RetryLater(f"could not read {event.type} from Stripe: {exc}") from exc
    async with sessions() as session, session.begin():
        if not await _first_delivery(session, event):
            return Outcome(event.id, duplicate=True, handled=False)
        handled = True
        if billing.subscription is not None or billing.invoice is not None:
            handled, mails = await _apply_billing(session, billing, settings, clock)
            return Outcome(event.id, duplicate=False, handled=handled, mails=tuple(mails))
        if checkout is not None:
            handled = await money.apply_checkout(session, checkout, clock) is not None
        elif intent is not None and (organization_id := _organization(intent)) is not None:
            await money.apply_refill(session, intent, organization_id)
        elif event.type == "charge.refunded":
            await _refund(session, stripe.Charge.construct_from(obj, None))
        elif event.type == "charge.dispute.closed":
            dispute = stripe.Dispute.construct_from(obj, None)
            await money.apply_lost_dispute(session, dispute)
        else:
            handled = False
        return Outcome(event.id, duplicate=False, handled=handled)


def _organization(intent: stripe.PaymentIntent) -> uuid.UUID | None:
    try:
        return uuid.UUID(metadata_value(intent.metadata, "organization_id"))
    except ValueError:
        return None


async def _first_delivery(session: AsyncSession, event: stripe.Event) -> bool:
    insert = upsert_insert(session)
    result = await session.execute(
        insert(StripeEvent)
        .values(id=event.id, type=event.type)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(StripeEvent.id)
    )
    return result.scalar_one_or_none() is not None


async def _refund(session: AsyncSession, charge: stripe.Charge) -> None:
    ours = bool(metadata_value(charge.metadata, "organization_id"))
    debited = await money.apply_refund(session, charge)
    if (
        not debited
        and ours
        and await money.payment_for_charge(session, charge.payment_intent) is None
    ):
        raise RetryLater(f"refund of {charge.id} before its payment was recorded")
