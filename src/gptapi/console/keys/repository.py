"""Queries for an organisation's API keys."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.models import ApiKey, Model, User


async def key_in(
    session: AsyncSession, organization_id: uuid.UUID, key_id: uuid.UUID
) -> ApiKey | None:
    return await session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.organization_id == organization_id)
    )


async def keys_with_creators(
    session: AsyncSession, organization_id: uuid.UUID
) -> Sequence[tuple[ApiKey, str | None]]:
    rows = await session.execute(
        select(ApiKey, User.email)
        .outerjoin(User, User.id == ApiKey.user_id)
        .where(ApiKey.organization_id == organization_id, ApiKey.purpose == "api")
        .order_by(ApiKey.created_at.desc())
    )
    return [(a, b) for a, b in rows]


async def live_keys(
    session: AsyncSession, organization_id: uuid.UUID, *, created_by: uuid.UUID | None = None
) -> Sequence[ApiKey]:
    statement = select(ApiKey).where(
        ApiKey.organization_id == organization_id, ApiKey.revoked.is_(False)
    )
    if created_by is not None:
        statement = statement.where(ApiKey.user_id == created_by)
    return (await session.scalars(statement)).all()


async def unknown_models(session: AsyncSession, names: Iterable[str]) -> list[str]:
    wanted = set(names)
    known = set(
        (
            await session.scalars(
                select(Model.internal_name).where(
                    Model.internal_name.in_(wanted), Model.active.is_(True)
                )
            )
        ).all()
    )
    return sorted(wanted - known)


async def creator_email(session: AsyncSession, user_id: uuid.UUID) -> str | None:
    return await session.scalar(select(User.email).where(User.id == user_id))
