"""Money in and out through Stripe, applied to the ledger exactly once.

Each function runs in the caller's transaction and starts with a write (a conditional update
or an insert), so concurrent callers — the webhook and the success page, or one event
delivered twice at once — queue on the same row and only the first moves money; the ledger's
idempotency key backs that up. Payments only move forward: open → processing → paid, or
failed / expired, so events arriving out of order cannot undo a credit.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal

import stripe
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi import outbox
from gptapi.billing.store import billing_account, upsert_insert
from gptapi.billing.stripe_client import NANOS_PER_CENT, metadata_value, receipt_url
from gptapi.kit.clock import Clock
from gptapi.ledger import append_entry
from gptapi.models import Organization, StripePayment

FINAL = ("paid", "failed", "expired")


def usd(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f}"


async def _settle(
    session: AsyncSession, where: ColumnElement[bool], *, status: str, values: dict[str, object]
) -> StripePayment | None:
    """Move the payment to `status` unless it is already final; the row if it moved."""
    result = await session.execute(
        update(StripePayment)
        .where(where, StripePayment.status.not_in(FINAL))
        .values(status=status, **values)
        .returning(StripePayment.id)
    )
    payment_id = result.scalar_one_or_none()
    if payment_id is None:
        return None
    return await session.get(StripePayment, payment_id, populate_existing=True)


def _reference(payment: StripePayment) -> str:
    return payment.payment_intent_id or payment.checkout_session_id or str(payment.id)


def _source(payment: StripePayment) -> str:
    return "checkout" if payment.kind == "topup" else "auto_refill"


async def _credit(session: AsyncSession, payment: StripePayment, cents: int, key: str) -> None:
    nanos = cents * NANOS_PER_CENT
    await append_entry(
        session,
        organization_id=payment.organization_id,
        amount_nanos=nanos,
        kind=payment.kind,
        idempotency_key=key,
        description=f"{'Top-up' if payment.kind == 'topup' else 'Auto-refill'} ${usd(cents)}",
        created_by=payment.created_by,
    )
    balance = await session.scalar(
        select(Organization.balance_nanos).where(Organization.id == payment.organization_id)
    )
    details = {"credit_nanos": nanos, "balance_nanos": balance or 0}
    await _emit(session, payment, "payment.succeeded", cents, details)


async def _failed(session: AsyncSession, payment: StripePayment, code: str) -> None:
    details = {"failure_code": code, "failure_message": payment.failure_message}
    await _emit(session, payment, "payment.failed", payment.amount_cents, details)


async def _emit(
    session: AsyncSession,
    payment: StripePayment,
    event_type: str,
    amount_cents: int,
    details: Mapping[str, object],
) -> None:
    """payment.* events; one per payment and outcome, however often Stripe reports it."""
    await outbox.emit(
        session,
        organization_id=payment.organization_id,
        event_type=event_type,
        data={
            "organization_id": str(payment.organization_id),
            "payment_id": _reference(payment),
            "amount_cents": amount_cents,
            "currency": "usd",
            "source": _source(payment),
            **details,
        },
        dedupe_key=f"{event_type}:{payment.id}",
    )


async def apply_checkout(
    session: AsyncSession, checkout: stripe.checkout.Session, clock: Clock
) -> str | None:
    """Bring our record of a top-up in line with the Checkout Session as Stripe has it now
    (retrieved with its PaymentIntent expanded). Returns the payment's status, or None for a
    session that is not ours."""
    where = StripePayment.checkout_session_id == checkout.id
    intent = (
        checkout.payment_intent
        if isinstance(checkout.payment_intent, stripe.PaymentIntent)
        else None
    )
    moved: StripePayment | None = None
    if checkout.payment_status == "paid" and checkout.amount_total:
        moved = await _settle(
            session,
            where,
            status="paid",
            values={
                "payment_intent_id": intent.id if intent else None,
                "receipt_url": receipt_url(intent),
            },
        )
        if moved is not None:
            await _credit(session, moved, checkout.amount_total, f"topup:{checkout.id}")
            if intent is not None and metadata_value(checkout.metadata, "save_card") == "true":
                await _save_card(session, moved, intent, clock)
    elif checkout.status == "expired":
        moved = await _settle(session, where, status="expired", values={})
    elif checkout.status == "complete" and intent is not None:
        if intent.status == "processing":
            await session.execute(
                update(StripePayment)
                .where(where, StripePayment.status == "open")
                .values(status="processing", payment_intent_id=intent.id)
            )
        elif intent.status in ("requires_payment_method", "canceled"):
            await _fail_from(session, where, intent)
    return await session.scalar(select(StripePayment.status).where(where))


async def _save_card(
    session: AsyncSession, payment: StripePayment, intent: stripe.PaymentIntent, clock: Clock
) -> None:
    """The payer ticked "save this card for auto-refill" at checkout: that is the consent."""
    method = intent.payment_method
    if not isinstance(method, stripe.PaymentMethod):
        return
    account = await billing_account(session, payment.organization_id)
    account.payment_method_id = method.id
    card = method.card
    account.payment_method_label = f"{card.brand} •••• {card.last4}" if card else method.type
    account.consent_at = clock.now()
    account.consent_by = payment.created_by


async def apply_refill(
    session: AsyncSession, intent: stripe.PaymentIntent, organization_id: uuid.UUID
) -> str:
    """Record an off-session auto-refill PaymentIntent and credit it once it succeeded."""
    insert = upsert_insert(session)
    await session.execute(
        insert(StripePayment)
        .values(
            organization_id=organization_id,
            kind="auto_refill",
            payment_intent_id=intent.id,
            amount_cents=intent.amount,
            status="open",
        )
        .on_conflict_do_nothing(index_elements=["payment_intent_id"])
    )
    where = StripePayment.payment_intent_id == intent.id
    if intent.status == "succeeded":
        moved = await _settle(
            session, where, status="paid", values={"receipt_url": receipt_url(intent)}
        )
        if moved is not None:
            await _credit(
                session, moved, intent.amount_received or intent.amount, f"auto_refill:{intent.id}"
            )
    elif intent.status in ("requires_payment_method", "canceled"):
        await _fail_from(session, where, intent)
    status = await session.scalar(select(StripePayment.status).where(where))
    assert status is not None
    return status


async def _fail_from(
    session: AsyncSession, where: ColumnElement[bool], intent: stripe.PaymentIntent
) -> None:
    error = intent.last_payment_error
    await fail(
        session,
        where,
        code=(error.code or "") if error else "",
        message=(error.message or "") if error else "The payment failed.",
    )


async def fail(
    session: AsyncSession, where: ColumnElement[bool], *, code: str, message: str
) -> None:
    moved = await _settle(
        session, where, status="failed", values={"failure_message": message[:500]}
    )
    if moved is not None:
        await _failed(session, moved, code)


async def record_declined_refill(
    session: AsyncSession,
    organization_id: uuid.UUID,
    amount_cents: int,
    *,
    intent_id: str | None,
    code: str,
    message: str,
) -> None:
    """A charge Stripe refused (decline, authentication needed); its PaymentIntent, if any,
    may also be reported by a `payment_intent.payment_failed` event."""
    if intent_id is None:
        payment = StripePayment(
            organization_id=organization_id, kind="auto_refill", amount_cents=amount_cents
        )
        session.add(payment)
        await session.flush()
        where = StripePayment.id == payment.id
    else:
        await session.execute(
            upsert_insert(session)(StripePayment)
            .values(
                organization_id=organization_id,
                kind="auto_refill",
                payment_intent_id=intent_id,
                amount_cents=amount_cents,
                status="open",
            )
            .on_conflict_do_nothing(index_elements=["payment_intent_id"])
        )
        where = StripePayment.payment_intent_id == intent_id
    await fail(session, where, code=code, message=message)


async def apply_refund(session: AsyncSession, charge: stripe.Charge) -> int:
    """Debit what was refunded beyond what we already debited (`amount_refunded` is
    cumulative, so a late or repeated event changes nothing). Returns cents debited."""
    payment = await payment_for_charge(session, charge.payment_intent)
    if payment is None or charge.amount_refunded <= payment.refunded_cents:
        return 0
    cents = charge.amount_refunded - payment.refunded_cents
    payment.refunded_cents = charge.amount_refunded
    await append_entry(
        session,
        organization_id=payment.organization_id,
        amount_nanos=-cents * NANOS_PER_CENT,
        kind="refund",
        idempotency_key=f"refund:{charge.id}:{charge.amount_refunded}",
        description=f"Refund of payment {payment.id}",
    )
    return cents


async def apply_lost_dispute(session: AsyncSession, dispute: stripe.Dispute) -> int:
    if dispute.status != "lost":
        return 0
    payment = await payment_for_charge(session, dispute.payment_intent)
    if payment is None:
        return 0
    applied = await append_entry(
        session,
        organization_id=payment.organization_id,
        amount_nanos=-dispute.amount * NANOS_PER_CENT,
        kind="refund",
        idempotency_key=f"dispute:{dispute.id}",
        description=f"Lost dispute on payment {payment.id}",
    )
    return dispute.amount if applied else 0


async def payment_for_charge(
    session: AsyncSession, payment_intent: str | stripe.PaymentIntent | None
) -> StripePayment | None:
    intent_id = (
        payment_intent.id if isinstance(payment_intent, stripe.PaymentIntent) else payment_intent
    )
    if not intent_id:
        return None
    return await session.scalar(
        select(StripePayment).where(StripePayment.payment_intent_id == intent_id).with_for_update()
    )
