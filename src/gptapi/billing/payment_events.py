"""`payment.succeeded` for money that came in through a provider other than a card top-up."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi import outbox
from gptapi.models import Organization


async def payment_succeeded(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    payment_id: str,
    amount_cents: int,
    source: str,
    credit_nanos: int,
) -> None:
    """One event per payment however often the provider reports it (deduplicated on its id)."""
    balance = await session.scalar(
        select(Organization.balance_nanos).where(Organization.id == organization_id)
    )
    await outbox.emit(
        session,
        organization_id=organization_id,
        event_type="payment.succeeded",
        data={
            "organization_id": str(organization_id),
            "payment_id": payment_id,
            "amount_cents": amount_cents,
            "currency": "usd",
            "source": source,
            "credit_nanos": credit_nanos,
            "balance_nanos": balance or 0,
        },
        dedupe_key=f"payment.succeeded:{source}:{payment_id}",
    )
