"""Who in an organisation is written to: its active members of given roles."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.models import Membership, User


async def member_emails(
    session: AsyncSession, organization_id: uuid.UUID, roles: tuple[str, ...]
) -> list[str]:
    rows = await session.scalars(
        select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.organization_id == organization_id,
            Membership.role.in_(roles),
            User.is_active.is_(True),
        )
        .order_by(User.email)
    )
    return list(rows)


async def owner_emails(session: AsyncSession, organization_id: uuid.UUID) -> list[str]:
    """Owners: money matters (payments, credit, spend alerts)."""
    return await member_emails(session, organization_id, ("owner",))


async def admin_emails(session: AsyncSession, organization_id: uuid.UUID) -> list[str]:
    """Owners and admins: the organisation's integrations (webhook endpoints)."""
    return await member_emails(session, organization_id, ("owner", "admin"))
