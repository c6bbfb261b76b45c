"""Single-use, expiring tokens sent to people: only their SHA-256 is stored, and a token is
deleted when used."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.console.auth.sessions import hash_token
from gptapi.models import AuthToken, User


class Purpose(enum.StrEnum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"
    CHANGE_EMAIL = "change_email"
    MFA_CHALLENGE = "mfa_challenge"


LIFETIME = {
    Purpose.VERIFY_EMAIL: timedelta(days=2),
    Purpose.RESET_PASSWORD: timedelta(hours=1),
    Purpose.CHANGE_EMAIL: timedelta(hours=24),
    Purpose.MFA_CHALLENGE: timedelta(minutes=10),
}


async def issue(
    db: AsyncSession, user: User, purpose: Purpose, now: datetime, *, new_email: str = ""
) -> str:
    """A fresh token; any earlier one of the same purpose stops working."""
    await revoke(db, user, purpose)
    token = secrets.token_urlsafe(32)
    db.add(
        AuthToken(
            id=hash_token(token),
            user_id=user.id,
            purpose=purpose.value,
            new_email=new_email,
            created_at=now,
            expires_at=now + LIFETIME[purpose],
        )
    )
    await db.flush()
    return token


async def find(db: AsyncSession, token: str, purpose: Purpose, now: datetime) -> AuthToken | None:
    row = await db.get(AuthToken, hash_token(token))
    if row is None or row.purpose != purpose.value or row.expires_at <= now:
        return None
    return row


async def revoke(db: AsyncSession, user: User, purpose: Purpose | None = None) -> None:
    statement = delete(AuthToken).where(AuthToken.user_id == user.id)
    if purpose is not None:
        statement = statement.where(AuthToken.purpose == purpose.value)
    await db.execute(statement)


async def prune(db: AsyncSession, now: datetime) -> None:
    await db.execute(delete(AuthToken).where(AuthToken.expires_at <= now))
