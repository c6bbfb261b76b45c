"""The kinds of mail people may turn off, and each person's choices.

Security and account mail (verification, password and email changes, 2FA, invitations) has
no category and always goes out."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.models import NotificationPreference


@dataclass(frozen=True)
class Category:
    key: str
    label: str
    description: str
    default: bool


CATEGORIES: tuple[Category, ...] = (
    Category(
        "low_balance",
        "Low balance",
        "When your organisation's credit falls below its warning threshold or runs out.",
        True,
    ),
    Category(
        "payments",
        "Payments and receipts",
        "Crypto payments, plan renewals, failed renewals and the end of a plan.",
        True,
    ),
    Category(
        "auto_refill",
        "Auto-refill",
        "When an automatic top-up cannot be charged and auto-refill is switched off.",
        True,
    ),
    Category(
        "deployments",
        "Deployments and pods",
        "When a deployment or pod you run starts, stops or fails.",
        True,
    ),
    Category(
        "webhooks",
        "Webhook endpoints",
        "When one of your webhook endpoints keeps failing and is disabled.",
        True,
    ),
    Category("incidents", "Incidents", "When an incident opens or is resolved.", False),
    Category("product_news", "Product news", "New models, features and price changes.", False),
)
BY_KEY = {category.key: category for category in CATEGORIES}


async def choices(session: AsyncSession, user_id: uuid.UUID) -> dict[str, bool]:
    """Every category with this person's choice, or its default."""
    rows = await session.execute(
        select(NotificationPreference.category, NotificationPreference.enabled).where(
            NotificationPreference.user_id == user_id
        )
    )
    chosen: dict[str, bool] = dict(rows.all())
    return {c.key: chosen.get(c.key, c.default) for c in CATEGORIES}


async def choose(
    session: AsyncSession, user_id: uuid.UUID, changes: dict[str, bool]
) -> dict[str, bool]:
    for key, enabled in changes.items():
        if key not in BY_KEY:
            raise KeyError(key)
        row = await session.get(NotificationPreference, (user_id, key))
        if row is None:
            session.add(NotificationPreference(user_id=user_id, category=key, enabled=enabled))
        else:
            row.enabled = enabled
    await session.flush()
    return await choices(session, user_id)
