"""/api/orgs/{org_id}/billing/crypto (crypto top-ups through Coinbase Commerce) and Commerce's
callback, /api/coinbase/webhook."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from gptapi.billing.coinbase_client import BadSignature, CoinbaseCommerce, build_commerce
from gptapi.billing.crypto import RetryLater, handle_event
from gptapi.console.billing import crypto_service as service
from gptapi.console.billing.endpoints import BASE, BillingRead, BillingWrite, app_client
from gptapi.console.billing.schemas import CryptoChargeCreate, CryptoChargeOut
from gptapi.console.deps import DbSession, State
from gptapi.console.errors import ApiError, bad_request
from gptapi.console.mail_queue import RequestMailQueue

log = logging.getLogger(__name__)
router = APIRouter(tags=["billing"])


Commerce = Annotated[
    CoinbaseCommerce | None, Depends(app_client("coinbase_commerce", build_commerce))
]


@router.post(
    f"{BASE}/crypto",
    status_code=201,
    summary="Start a crypto top-up: returns the Coinbase Commerce page to pay on",
)
async def post_crypto(
    ctx: BillingWrite, body: CryptoChargeCreate, db: DbSession, state: State, client: Commerce
) -> CryptoChargeOut:
    return await service.create(db, ctx, body, client, state.settings)


@router.get(f"{BASE}/crypto", summary="Crypto top-ups, newest first")
async def list_crypto(
    ctx: BillingRead, db: DbSession, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[CryptoChargeOut]:
    return await service.list_charges(db, ctx, limit)


@router.get(
    f"{BASE}/crypto/{{charge_id}}",
    summary="A crypto top-up as Coinbase Commerce has it now; a confirmed one is credited now",
)
async def get_crypto(
    ctx: BillingWrite,
    charge_id: str,
    db: DbSession,
    client: Commerce,
    mail: RequestMailQueue,
) -> CryptoChargeOut:
    out, credited = await service.refresh(db, ctx, charge_id, client)
    if credited:
        mail.send(service.received_mail(ctx.viewer.user.email, credited, out.code))
    return out


# Coinbase Commerce's callback, not part of the console API: see docs/billing.md.
@router.post("/coinbase/webhook", include_in_schema=False)
async def coinbase_webhook(
    request: Request, state: State, client: Commerce, mail: RequestMailQueue
) -> JSONResponse:
    if client is None or not client.webhook_secret:
        raise ApiError(503, "crypto_not_configured", "Crypto webhooks are not configured.")
    payload = await request.body()
    try:
        event = client.parse_event(payload, request.headers.get("x-cc-webhook-signature"))
    except BadSignature as exc:
        raise bad_request(str(exc), code="invalid_signature") from None
    except ValueError:
        raise bad_request("The body is not a Commerce event.", code="invalid_payload") from None
    try:
        outcome = await handle_event(state.sessions, client, event)
    except RetryLater as exc:
        log.info("commerce event %s: %s", event.id, exc)
        raise ApiError(503, "retry_later", str(exc), headers={"Retry-After": "60"}) from None
    applied = outcome.applied
    if applied is not None and applied.credited_cents:
        for email in outcome.owners:
            mail.send(service.received_mail(email, applied.credited_cents, applied.code))
    return JSONResponse(
        {
            "received": True,
            "duplicate": outcome.duplicate,
            "status": applied.status if applied is not None else None,
        }
    )
