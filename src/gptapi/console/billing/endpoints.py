"""/api/orgs/{org_id}/billing and the Stripe webhook, /api/stripe/webhook."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, TypeVar

import stripe
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from gptapi.billing.stripe_client import Payments, build_payments
from gptapi.billing.webhook import RetryLater, handle_event
from gptapi.config import Settings
from gptapi.console.billing import service, statements
from gptapi.console.billing.schemas import (
    AutoRefillUpdate,
    BillingOverview,
    CheckoutCreate,
    CheckoutCreated,
    LowBalanceUpdate,
    PaymentOut,
    Spend,
    TransactionPage,
)
from gptapi.console.deps import DbSession, OrgContext, State, require
from gptapi.console.downloads import CSV_RESPONSES, PDF_RESPONSES, csv_file, pdf_file
from gptapi.console.errors import ApiError, bad_request
from gptapi.console.mail_queue import RequestMailQueue
from gptapi.console.permissions import Capability

log = logging.getLogger(__name__)
T = TypeVar("T")

router = APIRouter(tags=["billing"])
BASE = "/orgs/{org_id}/billing"
MONTH = r"^[12][0-9]{3}-(0[1-9]|1[0-2])$"

BillingRead = Annotated[OrgContext, Depends(require(Capability.BILLING_READ))]
BillingWrite = Annotated[OrgContext, Depends(require(Capability.BILLING_WRITE))]


def app_client(
    name: str, build: Callable[[Settings], T | None]
) -> Callable[[Request, State], T | None]:
    """A dependency giving one provider client per application, built on first use; None
    when the provider is not configured."""

    def dependency(request: Request, state: State) -> T | None:
        app_state = request.app.state
        if not hasattr(app_state, name):
            setattr(app_state, name, build(state.settings))
        client: T | None = getattr(app_state, name)
        return client

    return dependency


StripePayments = Annotated[Payments | None, Depends(app_client("stripe_payments", build_payments))]


@router.get(BASE, summary="Balance, open holds, payment settings and auto-refill")
async def get_billing(
    ctx: BillingRead, request: Request, db: DbSession, state: State, payments: StripePayments
) -> BillingOverview:
    return await service.overview(
        db,
        ctx,
        state.settings,
        payments_configured=payments is not None,
        crypto_configured=bool(state.settings.coinbase_commerce_api_key),
        open_holds=request.app.state.serving.accounts.held(ctx.organization.id),
        now=state.clock.now(),
    )


@router.get(f"{BASE}/spend", summary="Spend by model and by service for a month (default: this)")
async def get_spend(
    ctx: BillingRead,
    db: DbSession,
    state: State,
    month: Annotated[str | None, Query(pattern=MONTH, description="YYYY-MM")] = None,
) -> Spend:
    return await service.spend(db, ctx, month, state.clock.now())


@router.get(
    f"{BASE}/transactions",
    summary="Ledger history, newest first, with the running balance; usage summed per day "
    "and model",
)
async def get_transactions(
    ctx: BillingRead,
    db: DbSession,
    cursor: Annotated[str | None, Query(max_length=300, pattern=r"^[A-Za-z0-9_-]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TransactionPage:
    return await service.transactions(db, ctx, cursor, limit)


@router.get(
    f"{BASE}/transactions.csv",
    summary="The whole history as CSV",
    response_class=Response,
    responses=CSV_RESPONSES,
)
async def get_transactions_csv(ctx: BillingRead, db: DbSession) -> Response:
    return csv_file(await service.transactions_csv(db, ctx), "transactions.csv")


@router.get(
    f"{BASE}/statements/{{month}}.csv",
    summary="A month's statement as CSV",
    response_class=Response,
    responses=CSV_RESPONSES,
)
async def get_statement(
    ctx: BillingRead, db: DbSession, month: Annotated[str, Path(pattern=MONTH)]
) -> Response:
    body = statements.statement_csv(await statements.statement(db, ctx, month))
    return csv_file(body, f"statement-{month}.csv")


@router.get(
    f"{BASE}/statements/{{month}}.pdf",
    summary="A month's statement as PDF",
    response_class=Response,
    responses=PDF_RESPONSES,
)
async def get_statement_pdf(
    ctx: BillingRead, db: DbSession, state: State, month: Annotated[str, Path(pattern=MONTH)]
) -> Response:
    document = await statements.statement(db, ctx, month)
    body = statements.statement_pdf(document, state.clock.now())
    return pdf_file(body, f"statement-{month}.pdf")


@router.get(
    f"{BASE}/payments/{{payment_id}}/invoice.pdf",
    summary="The invoice of a paid top-up or auto-refill, as PDF",
    response_class=Response,
    responses=PDF_RESPONSES,
)
async def get_invoice(
    ctx: BillingRead,
    db: DbSession,
    state: State,
    payment_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
) -> Response:
    payment = await service.paid_payment(db, ctx, payment_id)
    body = statements.invoice_pdf(ctx.organization, payment, state.clock.now())
    return pdf_file(body, f"invoice-{statements.invoice_number(payment)}.pdf")


@router.get(f"{BASE}/payments", summary="Top-ups and auto-refills with their Stripe receipts")
async def get_payments(
    ctx: BillingRead, db: DbSession, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[PaymentOut]:
    return await service.list_payments(db, ctx, limit)


@router.post(
    f"{BASE}/checkout",
    status_code=201,
    summary="Start a top-up: returns the Stripe Checkout URL to send the payer to",
)
async def post_checkout(
    ctx: BillingWrite, body: CheckoutCreate, db: DbSession, state: State, payments: StripePayments
) -> CheckoutCreated:
    return await service.create_checkout(db, ctx, body, payments, state.settings)


@router.get(
    f"{BASE}/checkout/{{session_id}}",
    summary="A top-up's status; the success page polls it and a paid top-up is credited now",
)
async def get_checkout(
    ctx: BillingWrite, session_id: str, db: DbSession, state: State, payments: StripePayments
) -> PaymentOut:
    return await service.confirm_checkout(db, ctx, session_id, payments, state.clock)


@router.put(f"{BASE}/auto-refill", summary="Auto-refill: threshold, amount, optional monthly cap")
async def put_auto_refill(
    ctx: BillingWrite,
    body: AutoRefillUpdate,
    request: Request,
    db: DbSession,
    state: State,
    payments: StripePayments,
) -> BillingOverview:
    await service.update_auto_refill(
        db,
        ctx,
        body,
        state.settings,
        payments_configured=payments is not None,
        now=state.clock.now(),
    )
    return await get_billing(ctx, request, db, state, payments)


@router.put(f"{BASE}/low-balance", summary="The balance below which owners are warned")
async def put_low_balance(
    ctx: BillingWrite,
    body: LowBalanceUpdate,
    request: Request,
    db: DbSession,
    state: State,
    payments: StripePayments,
) -> BillingOverview:
    await service.update_low_balance(db, ctx, body)
    return await get_billing(ctx, request, db, state, payments)


# Stripe's callback, not part of the console API clients use: see docs/billing.md.
@router.post(
    "/stripe/webhook",
    summary="Stripe events (signed with Stripe-Signature)",
    include_in_schema=False,
)
async def stripe_webhook(
    request: Request, state: State, payments: StripePayments, mail: RequestMailQueue
) -> JSONResponse:
    if payments is None or not payments.webhook_secret:
        raise ApiError(503, "payments_not_configured", "Stripe webhooks are not configured.")
    payload = await request.body()
    try:
        event = payments.parse_event(payload, request.headers.get("stripe-signature"))
    except stripe.SignatureVerificationError as exc:
        raise bad_request(str(exc.user_message or exc), code="invalid_signature") from None
    except ValueError:
        raise bad_request("The body is not a Stripe event.", code="invalid_payload") from None
    try:
        outcome = await handle_event(state.sessions, payments, event, state.clock, state.settings)
    except RetryLater as exc:
        log.info("stripe event %s: %s", event.id, exc)
        raise ApiError(503, "retry_later", str(exc), headers={"Retry-After": "60"}) from None
    for message in outcome.mails:
        mail.send(message)
    return JSONResponse(
        {"received": True, "duplicate": outcome.duplicate, "handled": outcome.handled}
    )
