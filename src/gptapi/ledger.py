"""Appending to the credit ledger outside the gateway (grants, top-ups, refunds).

The entry and the organisation's running balance change in one transaction; the entry's
idempotency key makes a replay a no-op.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.models import CreditTransaction, Organization


async def append_entry(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    amount_nanos: int,
    kind: str,
    idempotency_key: str,
    description: str = "",
    created_by: uuid.UUID | None = None,
) -> bool:
    """Append one entry; False when `idempotency_key` was already applied."""
    existing = await session.scalar(
        select(CreditTransaction.id).where(CreditTransaction.idempotency_key == idempotency_key)
    )
    if existing is not None:
        return False
    session.add(
        CreditTransaction(
            organization_id=organization_id,
            amount_nanos=amount_nanos,
            kind=kind,
            idempotency_key=idempotency_key,
            description=description,
            created_by=created_by,
        )
    )
    await session.flush()  # the unique key rejects a concurrent duplicate here
    await session.execute(
        update(Organization)
        .where(Organization.id == organization_id)
        .values(balance_nanos=Organization.balance_nanos + amount_nanos)
    )
    return True
