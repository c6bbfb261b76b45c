"""Queries shared by the billing worker, the Stripe webhook and the console."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from gptapi.models import BillingAccount


def upsert_insert(session: AsyncSession) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT DO NOTHING."""
    return sqlite.insert if session.get_bind().dialect.name == "sqlite" else postgresql.insert


async def billing_account(session: AsyncSession, organization_id: uuid.UUID) -> BillingAccount:
    """The organisation's billing row, created on first use (safe against a concurrent one)."""
    insert = upsert_insert(session)
    await session.execute(
        insert(BillingAccount)
        .values(organization_id=organization_id)
        .on_conflict_do_nothing(index_elements=["organization_id"])
    )
    account = await session.get(BillingAccount, organization_id, populate_existing=True)
    assert account is not None
    return account


async def move_told_state(
    session: AsyncSession,
    organization_id: uuid.UUID,
    column: InstrumentedAttribute[str],
    old: str,
    new: str,
) -> bool:
    """Move what the owners were last told (a state column of the billing row) from `old` to
    `new`; False when another worker moved it first, so only one of them notifies."""
    await billing_account(session, organization_id)
    moved = await session.execute(
        update(BillingAccount)
        .where(BillingAccount.organization_id == organization_id, column == old)
        .values({column: new})
        .returning(BillingAccount.organization_id)
    )
    return moved.scalar_one_or_none() is not None
