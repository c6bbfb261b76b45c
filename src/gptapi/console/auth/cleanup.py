"""Forgetting what no longer matters: expired tokens and sessions, and throttle counts older
than any window."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.console.auth import throttle, tokens
from gptapi.models import UserSession


async def prune_expired(db: AsyncSession, now: datetime) -> None:
    await tokens.prune(db, now)
    await throttle.prune(db, now)
    await db.execute(delete(UserSession).where(UserSession.expires_at <= now))
