"""Limits against guessing and mail flooding, counted in the database so they hold across
every replica. A bucket is a limit plus a subject (an email address, an IP)."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.console.errors import ApiError
from gptapi.models import AuthAttempt


@dataclass(frozen=True)
class Limit:
    name: str
    attempts: int
    window: timedelta

    def bucket(self, subject: str) -> str:
        return hashlib.sha256(f"{self.name}:{subject.strip().lower()}".encode()).hexdigest()


# Wrong passwords, 2FA codes and tokens, per account and per client address.
ACCOUNT_FAILURES = Limit("account", 10, timedelta(minutes=15))
ADDRESS_FAILURES = Limit("ip", 50, timedelta(minutes=15))
# Verification and reset mails per address: over it, requests are answered but not mailed.
MAILS = Limit("mail", 5, timedelta(hours=1))
LONGEST_WINDOW = max(limit.window for limit in (ACCOUNT_FAILURES, ADDRESS_FAILURES, MAILS))


async def retry_after(db: AsyncSession, limit: Limit, subject: str, now: datetime) -> int | None:
    """Seconds until the bucket has room again, or None while it has room."""
    count, oldest = (
        await db.execute(
            select(func.count(AuthAttempt.id), func.min(AuthAttempt.created_at)).where(
                AuthAttempt.bucket == limit.bucket(subject),
                AuthAttempt.created_at > now - limit.window,
            )
        )
    ).one()
    if count < limit.attempts or oldest is None:
        return None
    oldest_at: datetime = oldest
    return max(1, math.ceil((oldest_at + limit.window - now).total_seconds()))


async def enforce(db: AsyncSession, checks: list[tuple[Limit, str]], now: datetime) -> None:
    """429 with Retry-After when any bucket is full."""
    waits = [await retry_after(db, limit, subject, now) for limit, subject in checks]
    wait = max((w for w in waits if w is not None), default=None)
    if wait is not None:
        raise ApiError(
            429,
            "too_many_attempts",
            f"Too many attempts. Try again in {wait} seconds.",
            headers={"Retry-After": str(wait)},
        )


async def note(db: AsyncSession, checks: list[tuple[Limit, str]], now: datetime) -> None:
    db.add_all(
        AuthAttempt(bucket=limit.bucket(subject), created_at=now) for limit, subject in checks
    )
    await db.flush()


async def clear(db: AsyncSession, limit: Limit, subject: str) -> None:
    await db.execute(delete(AuthAttempt).where(AuthAttempt.bucket == limit.bucket(subject)))


async def prune(db: AsyncSession, now: datetime) -> None:
    await db.execute(delete(AuthAttempt).where(AuthAttempt.created_at < now - LONGEST_WINDOW))
