"""Limits against guessing and mail flooding, counted in the database so they hold across
every replica. A bucket is a limit plus a subject (an email address, an IP).

A guess is counted before it is checked (`reserve`), atomically: per bucket the count and the
insert happen under one lock (an advisory lock on PostgreSQL, the database's write lock on
SQLite), so any number of concurrent guesses get at most the limit's worth checked. A guess
that turns out right is taken back (`release`).

Wrong passwords count per account *and source address*, so nobody can lock an owner out by
guessing from elsewhere; an account-wide limit, several times higher, still stops guessing
spread over many addresses, and the per-address limit stops one address trying many
accounts. Over a limit the answer is a 429 with Retry-After, never a silent lock.
"""

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


# Wrong passwords and 2FA codes per account from one client address, per account from
# every address together, and wrong passwords, codes and tokens per client address.
ACCOUNT_SOURCE_FAILURES = Limit("account-ip", 10, timedelta(minutes=15))
ACCOUNT_FAILURES = Limit("account", 100, timedelta(minutes=15))
ADDRESS_FAILURES = Limit("ip", 50, timedelta(minutes=15))
# Verification and reset mails per address: over it, requests are answered but not mailed.
MAILS = Limit("mail", 5, timedelta(hours=1))
LONGEST_WINDOW = max(
    limit.window for limit in (ACCOUNT_SOURCE_FAILURES, ACCOUNT_FAILURES, ADDRESS_FAILURES, MAILS)
)


async def retry_after(
    db: AsyncSession, limit: Limit, subject: str, now: datetime, *, taken: int = 0
) -> int | None:
    """Seconds until the bucket has room again, or None while it has room (for one more
    beyond `taken` of the rows counted, which this request already added)."""
    count, oldest = (
        await db.execute(
            select(func.count(AuthAttempt.id), func.min(AuthAttempt.created_at)).where(
                AuthAttempt.bucket == limit.bucket(subject),
                AuthAttempt.created_at > now - limit.window,
            )
        )
    ).one()
    if count - taken < limit.attempts or oldest is None:
        return None
    oldest_at: datetime = oldest
    return max(1, math.ceil((oldest_at + limit.window - now).total_seconds()))


def _too_many(waits: list[int | None]) -> ApiError | None:
    wait = max((w for w in waits if w is not None), default=None)
    if wait is None:
        return None
    return ApiError(
        429,
        "too_many_attempts",
        f"Too many attempts. Try again in {wait} seconds.",
        headers={"Retry-After": str(wait)},
    )


async def enforce(db: AsyncSession, checks: list[tuple[Limit, str]], now: datetime) -> None:
    """429 with Retry-After when any bucket is full."""
    error = _too_many([await retry_after(db, limit, subject, now) for limit, subject in checks])
    if error is not None:
        raise error


async def reserve(db: AsyncSession, checks: list[tuple[Limit, str]], now: datetime) -> list[int]:
    """Count one attempt in every bucket, or none and a 429 when any is full; committed at
    once (the caller's session must have no other writes pending), so concurrent attempts
    see it. Returns the rows taken, for `release`."""
    buckets = sorted({limit.bucket(subject) for limit, subject in checks})
    if (await db.connection()).dialect.name == "postgresql":
        for bucket in buckets:  # in one order everywhere: no deadlock between buckets
            await db.execute(select(func.pg_advisory_xact_lock(func.hashtext(bucket))))
    rows = [AuthAttempt(bucket=limit.bucket(subject), created_at=now) for limit, subject in checks]
    db.add_all(rows)
    await db.flush()  # on SQLite the first write takes the database's write lock
    error = _too_many(
        [await retry_after(db, limit, subject, now, taken=1) for limit, subject in checks]
    )
    if error is not None:
        await db.rollback()
        raise error
    await db.commit()
    return [row.id for row in rows]


async def release(db: AsyncSession, taken: list[int]) -> None:
    """Take back attempts that `reserve` counted (the guess was right)."""
    if taken:
        await db.execute(delete(AuthAttempt).where(AuthAttempt.id.in_(taken)))


async def note(db: AsyncSession, checks: list[tuple[Limit, str]], now: datetime) -> None:
    db.add_all(
        AuthAttempt(bucket=limit.bucket(subject), created_at=now) for limit, subject in checks
    )
    await db.flush()


async def clear(db: AsyncSession, limit: Limit, subject: str) -> None:
    await db.execute(delete(AuthAttempt).where(AuthAttempt.bucket == limit.bucket(subject)))


async def prune(db: AsyncSession, now: datetime) -> None:
    await db.execute(delete(AuthAttempt).where(AuthAttempt.created_at < now - LONGEST_WINDOW))
