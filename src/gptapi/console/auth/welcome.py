"""Sign-up credit: the credit a new account's personal organisation receives once the
address is proven, so the first call works before anyone buys credit. Granted at most once
per person (the ledger's idempotency key), however many ways the address gets verified."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.config import Settings
from gptapi.ledger import append_entry
from gptapi.models import Membership, Organization, User

WELCOME_KIND = "welcome"


async def grant_signup_credit(db: AsyncSession, settings: Settings, user: User) -> None:
    amount = settings.signup_credit_nanos
    if amount <= 0 or user.email_verified_at is None:
        return
    organization_id = await db.scalar(
        select(Organization.id)
        .join(Membership, Membership.organization_id == Organization.id)
        .where(
            Membership.user_id == user.id,
            Membership.role == "owner",
            Organization.is_personal.is_(True),
            Organization.is_active.is_(True),
        )
    )
    if organization_id is None:
        return
    await append_entry(
        db,
        organization_id=organization_id,
        amount_nanos=amount,
        kind=WELCOME_KIND,
        idempotency_key=f"welcome:{user.id}",
        description="Welcome credit",
    )
