"""Queries for organisations, memberships and invitations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.models import Invitation, Membership, Organization, User


async def memberships_of(
    session: AsyncSession, user_id: uuid.UUID
) -> Sequence[tuple[Organization, Membership]]:
    rows = await session.execute(
        select(Organization, Membership)
        .join(Membership, Membership.organization_id == Organization.id)
        .where(Membership.user_id == user_id)
        .order_by(Organization.is_personal.desc(), Organization.created_at)
    )
    return [(organization, membership) for organization, membership in rows]


async def membership(
    session: AsyncSession, organization_id: uuid.UUID, user_id: uuid.UUID
) -> Membership | None:
    return await session.get(Membership, (organization_id, user_id))


async def members(
    session: AsyncSession, organization_id: uuid.UUID
) -> Sequence[tuple[Membership, User]]:
    rows = await session.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.organization_id == organization_id)
        .order_by(Membership.created_at, User.email)
    )
    return [(a, b) for a, b in rows]


async def owner_count(session: AsyncSession, organization_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.organization_id == organization_id, Membership.role == "owner")
    )
    return int(count or 0)


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email))


async def open_invitations(
    session: AsyncSession, organization_id: uuid.UUID
) -> Sequence[Invitation]:
    return (
        await session.scalars(
            select(Invitation)
            .where(Invitation.organization_id == organization_id, Invitation.accepted_at.is_(None))
            .order_by(Invitation.created_at.desc())
        )
    ).all()


async def open_invitation_for(
    session: AsyncSession, organization_id: uuid.UUID, email: str
) -> Invitation | None:
    return await session.scalar(
        select(Invitation).where(
            Invitation.organization_id == organization_id,
            Invitation.email == email,
            Invitation.accepted_at.is_(None),
        )
    )


async def invitation_in(
    session: AsyncSession, organization_id: uuid.UUID, invitation_id: uuid.UUID
) -> Invitation | None:
    return await session.scalar(
        select(Invitation).where(
            Invitation.id == invitation_id,
            Invitation.organization_id == organization_id,
            Invitation.accepted_at.is_(None),
        )
    )


async def invitation_by_token_hash(session: AsyncSession, token_hash: str) -> Invitation | None:
    return await session.scalar(select(Invitation).where(Invitation.token_hash == token_hash))
