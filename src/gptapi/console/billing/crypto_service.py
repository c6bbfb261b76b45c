"""Crypto top-ups for the console: start a Coinbase Commerce charge, follow it, list them."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.billing.coinbase_client import CoinbaseCommerce, CommerceError
from gptapi.billing.crypto import apply_charge
from gptapi.billing.payments import usd as cents_usd
from gptapi.config import Settings
from gptapi.console import audit
from gptapi.console.billing.schemas import CryptoChargeCreate, CryptoChargeOut
from gptapi.console.billing.service import check_amount
from gptapi.console.deps import OrgContext
from gptapi.console.errors import ApiError, not_found
from gptapi.kit.clock import parse_rfc3339
from gptapi.mail.message import Mail
from gptapi.models import CryptoCharge


def crypto_not_configured() -> ApiError:
    return ApiError(
        409, "crypto_not_configured", "Crypto payments are not configured on this platform."
    )


def _unavailable(exc: CommerceError) -> ApiError:
    return ApiError(502, "payment_provider_error", str(exc))


def charge_out(row: CryptoCharge) -> CryptoChargeOut:
    return CryptoChargeOut(
        id=row.charge_id,
        code=row.code,
        status=row.status,
        amount_usd=cents_usd(row.amount_cents),
        received_usd=cents_usd(row.received_cents),
        credited_usd=cents_usd(row.credited_cents),
        hosted_url=row.hosted_url,
        expires_at=row.expires_at,
        created_at=row.created_at,
    )


async def create(
    db: AsyncSession,
    ctx: OrgContext,
    body: CryptoChargeCreate,
    commerce: CoinbaseCommerce | None,
    settings: Settings,
) -> CryptoChargeOut:
    if commerce is None:
        raise crypto_not_configured()
    cents = check_amount(settings, body.amount_usd, "amount_usd")
    base = settings.base_url
    try:
        charge = await commerce.create_charge(
            organization_id=ctx.organization.id,
            amount_cents=cents,
            redirect_url=f"{base}/dashboard/billing?crypto=paid",
            cancel_url=f"{base}/dashboard/billing?crypto=cancelled",
        )
    except CommerceError as exc:
        raise _unavailable(exc) from exc
    expires = charge.get("expires_at")
    row = CryptoCharge(
        organization_id=ctx.organization.id,
        charge_id=str(charge["id"]),
        code=str(charge.get("code", "")),
        amount_cents=cents,
        hosted_url=str(charge.get("hosted_url", "")),
        expires_at=parse_rfc3339(expires) if isinstance(expires, str) else None,
        created_by=ctx.viewer.user.id,
    )
    db.add(row)
    await db.flush()
    audit.record_change(
        db,
        ctx,
        "billing.crypto_charge_started",
        target_type="crypto_charge",
        target_id=row.charge_id,
        data={"amount_usd": cents_usd(cents)},
    )
    return charge_out(row)


async def _row(db: AsyncSession, ctx: OrgContext, charge_id: str) -> CryptoCharge:
    row = await db.scalar(
        select(CryptoCharge).where(
            CryptoCharge.organization_id == ctx.organization.id,
            CryptoCharge.charge_id == charge_id,
        )
    )
    if row is None:
        raise not_found("crypto charge")
    return row


async def refresh(
    db: AsyncSession, ctx: OrgContext, charge_id: str, commerce: CoinbaseCommerce | None
) -> tuple[CryptoChargeOut, int]:
    """The charge as Commerce has it now (credited now if confirmed), and cents credited."""
    row = await _row(db, ctx, charge_id)
    credited = 0
    if row.status not in ("confirmed", "resolved"):
        if commerce is None:
            raise crypto_not_configured()
        try:
            charge = await commerce.retrieve_charge(charge_id)
        except CommerceError as exc:
            raise _unavailable(exc) from exc
        credited = (await apply_charge(db, charge)).credited_cents
        await db.refresh(row)
    return charge_out(row), credited


async def list_charges(db: AsyncSession, ctx: OrgContext, limit: int) -> list[CryptoChargeOut]:
    rows = await db.scalars(
        select(CryptoCharge)
        .where(CryptoCharge.organization_id == ctx.organization.id)
        .order_by(CryptoCharge.created_at.desc(), CryptoCharge.id.desc())
        .limit(limit)
    )
    return [charge_out(row) for row in rows]


def received_mail(email: str, cents: int, code: str) -> Mail:
    return Mail(
        email,
        "Crypto payment received",
        f"Your crypto payment (Coinbase Commerce charge {code}) is confirmed: "
        f"${Decimal(cents) / 100:.2f} of API credit has been added to your balance.",
        category="payments",
    )
