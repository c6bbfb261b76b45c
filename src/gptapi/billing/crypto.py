"""Crypto top-ups: a Coinbase Commerce charge is credited once, when it is confirmed.

Every webhook is applied from the charge as Commerce has it now (retrieved again), so an old
or replayed event applies the newest state. A charge only moves forward: `new`/`pending` to
anything, a charge that expired, failed, arrived underpaid or late (`delayed`) only to being
credited (`confirmed`, or `resolved` by the merchant in Commerce), and a credited charge never
again. Pending — funds seen but not final on chain — is never credited. A confirmed charge is
credited its price; a resolved one what actually arrived. The ledger key `crypto:<charge>`
backs up the conditional update, as for card top-ups.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.billing.coinbase_client import CoinbaseCommerce, CommerceError, CommerceEvent
from gptapi.billing.payment_events import payment_succeeded
from gptapi.billing.store import upsert_insert
from gptapi.billing.stripe_client import NANOS_PER_CENT
from gptapi.kit.db import SessionMaker
from gptapi.ledger import append_entry
from gptapi.mail.recipients import owner_emails
from gptapi.models import CryptoCharge, CryptoEvent

log = logging.getLogger(__name__)

CREDITED = ("confirmed", "resolved")
# States a credit may still follow (Commerce can still settle these).
OPEN = ("new", "pending")
SETTLEABLE = ("expired", "failed", "underpaid", "delayed")
# Where a charge may come from to reach each status: forward only.
MOVES_FROM: dict[str, tuple[str, ...]] = {
    "pending": ("new",),
    **dict.fromkeys(CREDITED + SETTLEABLE, OPEN + SETTLEABLE),
}


class RetryLater(Exception):
    """Commerce could not be asked about the charge; it delivers the event again."""


@dataclass(frozen=True)
class Applied:
    status: str
    credited_cents: int  # credited by this call (0 when nothing moved money)
    organization_id: uuid.UUID | None
    code: str = ""


def _cents(amount: object) -> int:
    try:
        return int((Decimal(str(amount)) * 100).to_integral_value())
    except (InvalidOperation, ValueError):
        return 0


def received_cents(charge: dict[str, Any]) -> int:
    """The USD value of every payment Commerce detected for the charge."""
    total = 0
    for payment in charge.get("payments") or ():
        local = ((payment or {}).get("value") or {}).get("local") or {}
        if str(local.get("currency", "")).upper() == "USD":
            total += _cents(local.get("amount"))
    return total


def charge_status(charge: dict[str, Any], amount_cents: int) -> str:
    """Our status for a charge, from the last entry of its timeline."""
    timeline = charge.get("timeline") or [{"status": "NEW"}]
    last = timeline[-1] or {}
    status = str(last.get("status", "NEW")).upper()
    context = str(last.get("context") or "").upper()
    received = received_cents(charge)
    if status in ("COMPLETED", "CONFIRMED"):
        return "confirmed"
    if status == "RESOLVED":
        return "resolved"
    if status == "PENDING":
        return "pending"
    if status == "UNRESOLVED":
        return {"UNDERPAID": "underpaid", "DELAYED": "delayed"}.get(context, "failed")
    if status in ("EXPIRED", "FAILED", "CANCELED"):
        if 0 < received < amount_cents:
            return "underpaid"
        return "expired" if status == "EXPIRED" else "failed"
    return "new"  # NEW, SIGNED: nothing on chain yet


async def apply_charge(session: AsyncSession, charge: dict[str, Any]) -> Applied:
    """Bring our record of a charge in line with Commerce's; credit it once."""
    row = await session.scalar(
        select(CryptoCharge).where(CryptoCharge.charge_id == str(charge.get("id")))
    )
    if row is None:
        return Applied("", 0, None)  # not one of ours
    status = charge_status(charge, row.amount_cents)
    received = received_cents(charge)
    allowed = [old for old in MOVES_FROM.get(status, ()) if old != status]
    moved = await session.execute(
        update(CryptoCharge)
        .where(CryptoCharge.id == row.id, CryptoCharge.status.in_(allowed))
        .values(status=status, received_cents=received)
        .returning(CryptoCharge.id)
    )
    credited = 0
    if moved.scalar_one_or_none() is not None and status in CREDITED:
        credited = row.amount_cents if status == "confirmed" or not received else received
        await append_entry(
            session,
            organization_id=row.organization_id,
            amount_nanos=credited * NANOS_PER_CENT,
            kind="crypto",
            idempotency_key=f"crypto:{row.charge_id}",
            description=f"Crypto top-up ${Decimal(credited) / 100:.2f} (Coinbase {row.code})",
            created_by=row.created_by,
        )
        await session.execute(
            update(CryptoCharge).where(CryptoCharge.id == row.id).values(credited_cents=credited)
        )
        await payment_succeeded(
            session,
            organization_id=row.organization_id,
            payment_id=row.charge_id,
            amount_cents=credited,
            source="crypto",
            credit_nanos=credited * NANOS_PER_CENT,
        )
    await session.refresh(row)
    return Applied(row.status, credited, row.organization_id, row.code)


@dataclass(frozen=True)
class Outcome:
    duplicate: bool
    applied: Applied | None
    owners: list[str]


async def handle_event(
    sessions: SessionMaker, commerce: CoinbaseCommerce, event: CommerceEvent
) -> Outcome:
    try:
        charge = await commerce.retrieve_charge(event.charge_id)
    except CommerceError as exc:
        raise RetryLater(str(exc)) from exc
    async with sessions() as session, session.begin():
        first = await session.execute(
            upsert_insert(session)(CryptoEvent)
            .values(id=event.id, type=event.type)
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(CryptoEvent.id)
        )
        if first.scalar_one_or_none() is None:
            return Outcome(True, None, [])
        applied = await apply_charge(session, charge)
        owners = (
            await owner_emails(session, applied.organization_id)
            if applied.credited_cents and applied.organization_id
            else []
        )
        return Outcome(False, applied, owners)
