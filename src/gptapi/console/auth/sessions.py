"""Browser sessions: a random token in an HttpOnly cookie, its SHA-256 in `user_sessions`, and
a CSRF token (an HMAC of the session token) that scripts read from a cookie and echo in a
header on every state-changing request (double submit, bound to the session)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from fastapi import Request, Response
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.config import Settings
from gptapi.models import User, UserSession

SESSION_COOKIE = "gptapi_session"
CSRF_COOKIE = "gptapi_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# last_seen_at is written at most this often, so reads do not turn into writes.
TOUCH_INTERVAL = timedelta(minutes=5)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_for(secret_key: bytes, session_token: str) -> str:
    return hmac.new(secret_key, session_token.encode(), hashlib.sha256).hexdigest()


def csrf_matches(secret_key: bytes, session_token: str, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(
        csrf_for(secret_key, session_token), presented
    )


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


async def start_session(
    db: AsyncSession,
    user: User,
    *,
    request: Request,
    response: Response,
    settings: Settings,
    secret_key: bytes,
    now: datetime,
) -> UserSession:
    """Sign the user in: a new session row and its cookies. A fresh sign-in counts as a
    recent confirmation, as it does on GitHub."""
    token = secrets.token_urlsafe(32)
    row = UserSession(
        id=hash_token(token),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(days=settings.session_days),
        reauthenticated_at=now,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent", "")[:300],
    )
    db.add(row)
    set_session_cookies(response, token, csrf_for(secret_key, token), settings)
    return row


async def find_session(db: AsyncSession, token: str, now: datetime) -> UserSession | None:
    row = await db.get(UserSession, hash_token(token))
    if row is None or row.expires_at <= now:
        return None
    if now - row.last_seen_at > TOUCH_INTERVAL:
        row.last_seen_at = now
    return row


async def end_session(db: AsyncSession, token: str, response: Response) -> None:
    await db.execute(delete(UserSession).where(UserSession.id == hash_token(token)))
    clear_session_cookies(response)


async def end_all_sessions(db: AsyncSession, user_id: object, *, keep: str | None = None) -> None:
    """Sign out everywhere (password change, reset, account deletion), optionally keeping the
    session the change was made from."""
    statement = delete(UserSession).where(UserSession.user_id == user_id)
    if keep is not None:
        statement = statement.where(UserSession.id != keep)
    await db.execute(statement)


def _secure(settings: Settings) -> bool:
    return settings.environment == "production" or settings.base_url.startswith("https://")


def set_session_cookies(response: Response, token: str, csrf: str, settings: Settings) -> None:
    max_age = settings.session_days * 86400
    secure = _secure(settings)
    response.set_cookie(
        SESSION_COOKIE, token, max_age=max_age, httponly=True, secure=secure, samesite="lax"
    )
    # Readable by the console's scripts on purpose: they echo it in X-CSRF-Token.
    response.set_cookie(
        CSRF_COOKIE, csrf, max_age=max_age, httponly=False, secure=secure, samesite="lax"
    )


def clear_session_cookies(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)
