"""Billing for the console: the balance, top-ups through Stripe Checkout, auto-refill
settings, spend, the transaction history and monthly statements."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal

import stripe
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.billing.autorefill import refilled_this_month
from gptapi.billing.payments import apply_checkout, usd as cents_usd
from gptapi.billing.runway import hours_left
from gptapi.billing.store import billing_account
from gptapi.billing.stripe_client import NANOS_PER_CENT, Payments
from gptapi.compute.billing import running_nanos_per_hour
from gptapi.config import Settings
from gptapi.console import audit
from gptapi.console.billing import repository
from gptapi.console.billing.schemas import (
    AutoRefill,
    AutoRefillUpdate,
    BillingOverview,
    Card,
    CheckoutCreate,
    CheckoutCreated,
    LowBalanceUpdate,
    PaymentOut,
    Spend,
    SpendLine,
    TransactionLine,
    TransactionPage,
)
from gptapi.console.deps import OrgContext
from gptapi.console.errors import ApiError, bad_request, conflict, not_found
from gptapi.console.usage.money import usd
from gptapi.kit import cursor as keyset
from gptapi.kit.clock import Clock, month_start, next_month
from gptapi.kit.money import dollars_to_nanos
from gptapi.mail.recipients import owner_emails
from gptapi.models import BillingAccount, StripePayment

PRESETS_USD = (25, 50, 100)


def payments_not_configured() -> ApiError:
    # 409, not 503: nothing is down — this platform takes no card payments, and retrying
    # will not change that.
    return ApiError(
        409,
        "payments_not_configured",
        "Payments are not configured on this platform; ask an operator to add credit.",
    )


def _nanos(dollars: Decimal) -> int:
    return dollars_to_nanos(dollars)


def _optional_usd(nanos: int | None) -> str | None:
    return None if nanos is None else usd(nanos)


async def overview(
    db: AsyncSession,
    ctx: OrgContext,
    settings: Settings,
    *,
    payments_configured: bool,
    crypto_configured: bool,
    open_holds: int,
    now: datetime,
) -> BillingOverview:
    organization = ctx.organization
    account = await db.get(BillingAccount, organization.id) or BillingAccount(
        organization_id=organization.id,
        auto_refill_enabled=False,
        auto_refill_threshold_nanos=0,
        auto_refill_amount_nanos=0,
        auto_refill_disabled_reason="",
        balance_state="ok",
    )
    threshold = account.low_balance_threshold_nanos
    if threshold is None:
        threshold = _nanos(settings.low_balance_threshold_usd)
    refilled = await refilled_this_month(db, organization.id, now) * NANOS_PER_CENT
    burn = await running_nanos_per_hour(db, organization.id)
    return BillingOverview(
        balance_nanos=organization.balance_nanos,
        balance_usd=usd(organization.balance_nanos),
        open_holds_nanos=open_holds,
        open_holds_usd=usd(open_holds),
        payments_configured=payments_configured,
        crypto_configured=crypto_configured,
        publishable_key=settings.stripe_publishable_key or None,
        topup_presets_usd=list(PRESETS_USD),
        topup_min_usd=settings.topup_min_usd,
        topup_max_usd=settings.topup_max_usd,
        card=(
            Card(label=account.payment_method_label, consent_at=account.consent_at)
            if account.payment_method_id
            else None
        ),
        auto_refill=AutoRefill(
            enabled=account.auto_refill_enabled,
            threshold_nanos=account.auto_refill_threshold_nanos,
            threshold_usd=usd(account.auto_refill_threshold_nanos),
            amount_nanos=account.auto_refill_amount_nanos,
            amount_usd=usd(account.auto_refill_amount_nanos),
            monthly_cap_nanos=account.auto_refill_monthly_cap_nanos,
            monthly_cap_usd=_optional_usd(account.auto_refill_monthly_cap_nanos),
            refilled_this_month_usd=usd(refilled),
            disabled_reason=account.auto_refill_disabled_reason,
            in_flight=account.refill_started_at is not None,
        ),
        low_balance_threshold_nanos=threshold,
        low_balance_threshold_usd=usd(threshold),
        balance_state=account.balance_state,
        running_nanos_per_hour=burn,
        hours_left=hours_left(organization.balance_nanos, burn),
    )


def check_amount(settings: Settings, dollars: Decimal, param: str) -> int:
    if not settings.topup_min_usd <= dollars <= settings.topup_max_usd:
        raise bad_request(
            f"Amounts go from ${settings.topup_min_usd} to ${settings.topup_max_usd}.",
            param=param,
            code="amount_out_of_range",
        )
    return int(dollars * 100)


async def customer_of(
    db: AsyncSession, ctx: OrgContext, payments: Payments
) -> tuple[BillingAccount, str]:
    """The organisation's one Stripe customer, created on its first payment. Stripe is asked
    before anything is written (the idempotency key makes a concurrent twin the same customer),
    so no database lock is held across the call."""
    existing = await db.get(BillingAccount, ctx.organization.id)
    customer = existing.stripe_customer_id if existing else None
    if customer is None:
        emails = await owner_emails(db, ctx.organization.id)
        customer = await payments.create_customer(
            ctx.organization.id, ctx.organization.name, emails[0] if emails else ""
        )
    account = await billing_account(db, ctx.organization.id)
    account.stripe_customer_id = customer
    return account, customer


async def create_checkout(
    db: AsyncSession,
    ctx: OrgContext,
    body: CheckoutCreate,
    payments: Payments | None,
    settings: Settings,
) -> CheckoutCreated:
    if payments is None:
        raise payments_not_configured()
    cents = check_amount(settings, body.amount_usd, "amount_usd")
    base = settings.base_url
    try:
        _, customer = await customer_of(db, ctx, payments)
        checkout = await payments.create_checkout(
            customer=customer,
            organization_id=ctx.organization.id,
            amount_cents=cents,
            save_card=body.save_card,
            success_url=f"{base}/billing?checkout=success&session_id={{CHECKOUT_SESSION_ID}}",
            cancel_url=f"{base}/billing?checkout=cancelled",
            idempotency_key=f"checkout:{uuid.uuid4()}",
        )
    except stripe.StripeError as exc:
        raise stripe_unavailable(exc) from exc
    db.add(
        StripePayment(
            organization_id=ctx.organization.id,
            kind="topup",
            checkout_session_id=checkout.id,
            amount_cents=cents,
            created_by=ctx.viewer.user.id,
        )
    )
    audit.record_change(
        db,
        ctx,
        "billing.checkout_started",
        target_type="checkout",
        target_id=checkout.id,
        data={"amount_usd": cents_usd(cents), "save_card": body.save_card},
    )
    return CheckoutCreated(id=checkout.id, url=checkout.url)


def stripe_unavailable(exc: stripe.StripeError) -> ApiError:
    return ApiError(
        502, "payment_provider_error", f"Stripe did not accept the request: {exc.user_message}"
    )


async def confirm_checkout(
    db: AsyncSession, ctx: OrgContext, session_id: str, payments: Payments | None, clock: Clock
) -> PaymentOut:
    """The success page asks: Stripe is consulted and a paid top-up credited now, whether or
    not its webhook has arrived (only one of the two credits it)."""
    payment = await _payment(db, ctx, session_id)
    if payment.status not in ("paid", "failed", "expired"):
        if payments is None:
            raise payments_not_configured()
        try:
            checkout = await payments.retrieve_checkout(session_id)
        except stripe.StripeError as exc:
            raise stripe_unavailable(exc) from exc
        await apply_checkout(db, checkout, clock)
        await db.refresh(payment)
    return payment_out(payment)


async def _payment(db: AsyncSession, ctx: OrgContext, session_id: str) -> StripePayment:
    payment = await db.scalar(repository.select_payment(ctx.organization.id, session_id))
    if payment is None:
        raise not_found("checkout session")
    return payment


def payment_out(payment: StripePayment) -> PaymentOut:
    return PaymentOut(
        id=payment.id,
        kind=payment.kind,
        status=payment.status,
        amount_usd=cents_usd(payment.amount_cents),
        refunded_usd=cents_usd(payment.refunded_cents),
        receipt_url=payment.receipt_url or None,
        failure_message=payment.failure_message,
        checkout_session_id=payment.checkout_session_id,
        created_at=payment.created_at,
    )


async def list_payments(db: AsyncSession, ctx: OrgContext, limit: int) -> list[PaymentOut]:
    return [payment_out(p) for p in await repository.payments(db, ctx.organization.id, limit)]


async def update_auto_refill(
    db: AsyncSession,
    ctx: OrgContext,
    body: AutoRefillUpdate,
    settings: Settings,
    *,
    payments_configured: bool,
    now: datetime,
) -> None:
    if not payments_configured:
        raise payments_not_configured()
    check_amount(settings, body.amount_usd, "amount_usd")
    if body.monthly_cap_usd is not None and body.monthly_cap_usd < body.amount_usd:
        raise bad_request(
            "The monthly cap must allow at least one refill.",
            param="monthly_cap_usd",
            code="amount_out_of_range",
        )
    account = await billing_account(db, ctx.organization.id)
    if body.enabled and account.payment_method_id is None:
        raise conflict(
            "Save a card first: add credit with “save this card for auto-refill” ticked.",
            code="card_required",
        )
    account.auto_refill_enabled = body.enabled
    account.auto_refill_threshold_nanos = _nanos(body.threshold_usd)
    account.auto_refill_amount_nanos = _nanos(body.amount_usd)
    account.auto_refill_monthly_cap_nanos = (
        None if body.monthly_cap_usd is None else _nanos(body.monthly_cap_usd)
    )
    if body.enabled:
        # Whoever switches it on agrees to off-session charges of the saved card.
        account.auto_refill_disabled_reason = ""
        account.consent_at = now
        account.consent_by = ctx.viewer.user.id
    audit.record_change(
        db,
        ctx,
        "billing.auto_refill_updated",
        target_type="organization",
        target_id=ctx.organization.id,
        data=body.model_dump(mode="json"),
    )


async def update_low_balance(db: AsyncSession, ctx: OrgContext, body: LowBalanceUpdate) -> None:
    account = await billing_account(db, ctx.organization.id)
    account.low_balance_threshold_nanos = _nanos(body.threshold_usd)


def parse_month(text: str) -> tuple[datetime, datetime]:
    try:
        start = datetime.strptime(text, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise bad_request("Months look like 2026-05.", param="month") from None
    return start, next_month(start)


def _spend_lines(rows: Iterable[tuple[str, int, int]]) -> list[SpendLine]:
    return [
        SpendLine(name=name, requests=requests, cost_nanos=int(cost), cost_usd=usd(int(cost)))
        for name, requests, cost in rows
    ]


async def spend(db: AsyncSession, ctx: OrgContext, month: str | None, now: datetime) -> Spend:
    start, end = parse_month(month) if month else (month_start(now), now)
    by_model = _spend_lines(await repository.spend_by_model(db, ctx.organization.id, start, end))
    by_service = _spend_lines(
        await repository.spend_by_endpoint(db, ctx.organization.id, start, end)
    )
    total = sum(line.cost_nanos for line in by_model)
    return Spend(
        month=f"{start:%Y-%m}",
        total_nanos=total,
        total_usd=usd(total),
        by_model=by_model,
        by_service=by_service,
    )


def encode_cursor(line: repository.Line) -> str:
    return keyset.encode(line.at, line.key)


def decode_cursor(text: str) -> repository.Cursor:
    try:
        moment, key = keyset.decode(text)
    except keyset.BadCursor:
        raise bad_request("This cursor is not one we gave out.", param="cursor") from None
    return repository.Cursor(moment, key)


def describe_line(line: repository.Line) -> str:
    """What a line says: a model's requests of a day, a deployment's running time of a day
    ("llama-70b (4.5 h)"), or the ledger entry's own words."""
    if line.kind == "usage":
        return f"{line.description} ({line.entries} requests)"
    if line.kind == "compute":
        return f"{line.description} ({line.seconds / 3600:.2f} h)"
    return line.description


async def transactions(
    db: AsyncSession, ctx: OrgContext, cursor: str | None, limit: int
) -> TransactionPage:
    after = decode_cursor(cursor) if cursor else None
    lines = await repository.history(db, ctx.organization.id, after, limit + 1)
    more = len(lines) > limit
    lines = lines[:limit]
    receipts = await repository.receipts(db, [line.reference for line in lines])
    return TransactionPage(
        data=[
            TransactionLine(
                id=line.key,
                kind=line.kind,
                at=line.at,
                description=describe_line(line),
                entries=line.entries,
                amount_nanos=line.amount_nanos,
                amount_usd=usd(line.amount_nanos),
                balance_nanos=line.balance_nanos,
                balance_usd=usd(line.balance_nanos),
                receipt_url=receipts.get(line.reference) or None,
            )
            for line in lines
        ],
        next_cursor=encode_cursor(lines[-1]) if more and lines else None,
    )


CSV_PAGE = 1000


async def transactions_csv(db: AsyncSession, ctx: OrgContext) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["date", "kind", "description", "amount_usd", "balance_usd", "receipt_url"])
    cursor: str | None = None
    while True:
        page = await transactions(db, ctx, cursor, CSV_PAGE)
        for line in page.data:
            writer.writerow(
                [
                    line.at.isoformat(),
                    line.kind,
                    line.description,
                    line.amount_usd,
                    line.balance_usd,
                    line.receipt_url or "",
                ]
            )
        if page.next_cursor is None:
            return out.getvalue()
        cursor = page.next_cursor


async def paid_payment(db: AsyncSession, ctx: OrgContext, payment_id: int) -> StripePayment:
    """A payment of this organisation that was paid: only those have an invoice."""
    payment = await db.get(StripePayment, payment_id)
    if payment is None or payment.organization_id != ctx.organization.id:
        raise not_found("payment")
    if payment.status != "paid":
        raise conflict("Only a paid payment has an invoice.", code="payment_not_paid")
    return payment
