"""Supabase mode: Supabase Auth owns sign-up, OAuth and MFA, and /api accepts its access
tokens. Our `users` rows are the profiles, keyed by `auth.users.id` (the token's `sub`)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.admin.service import AdminError, create_user
from gptapi.config import Settings
from gptapi.console.errors import ApiError
from gptapi.console.state import BearerIdentity, ConsoleState
from gptapi.kit.clock import Clock
from gptapi.kit.db import SessionMaker
from gptapi.models import User

log = logging.getLogger(__name__)

AUDIENCE = "authenticated"
# Signed-in users; anon and service_role keys are not people.
ROLE = "authenticated"
ASYMMETRIC = ("RS256", "ES256")
# Supabase serves its JWKS with max-age=600; an unknown kid refetches, at most this often.
JWKS_TTL = timedelta(minutes=10)
JWKS_MIN_REFRESH = timedelta(seconds=30)


class JwksCache:
    """The project's public signing keys, refreshed when they age or a token names a key we
    have not seen (a rotation)."""

    def __init__(self, url: str, clock: Clock) -> None:
        self.url = url
        self.clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: datetime | None = None
        # Any attempt, failed or not: forged kids and an unreachable endpoint alike must not
        # turn every request into a fetch.
        self._attempted_at: datetime | None = None
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> jwt.PyJWK | None:
        if self._due(kid):
            async with self._lock:
                if self._due(kid):  # not already done by a request that held the lock
                    await self._refresh()
        return self._keys.get(kid)

    def _due(self, kid: str) -> bool:
        now = self.clock.now()
        if self._attempted_at is not None and now - self._attempted_at < JWKS_MIN_REFRESH:
            return False
        return (
            self._fetched_at is None or now - self._fetched_at > JWKS_TTL or kid not in self._keys
        )

    async def _refresh(self) -> None:
        now = self._attempted_at = self.clock.now()
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.get(self.url)
                response.raise_for_status()
                keys = jwt.PyJWKSet.from_dict(response.json()).keys
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
            log.warning("could not fetch Supabase JWKS from %s: %s", self.url, exc)
            return
        self._keys = {k.key_id: k for k in keys if k.key_id}
        self._fetched_at = now


class SupabaseAuthenticator:
    """HS256 tokens with the project's JWT secret; RS256/ES256 tokens with its JWKS. The
    algorithm comes from the token header but only ever selects one of those two key sources."""

    def __init__(self, settings: Settings, sessions: SessionMaker, clock: Clock) -> None:
        base = settings.supabase_url.rstrip("/")
        self.sessions = sessions
        self.secret = settings.supabase_jwt_secret
        self.issuer = f"{base}/auth/v1" if base else None
        self.jwks = JwksCache(f"{base}/auth/v1/.well-known/jwks.json", clock) if base else None

    async def _claims(self, token: str) -> dict[str, Any] | None:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None
        algorithm = header.get("alg")
        key: Any
        if algorithm == "HS256" and self.secret:
            key = self.secret
        elif algorithm in ASYMMETRIC and self.jwks is not None and header.get("kid"):
            key = await self.jwks.key(str(header["kid"]))
            if key is None:
                return None
        else:
            return None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=AUDIENCE,
                issuer=self.issuer,
                options={"require": ["exp", "sub", "aud"]},
            )
        except jwt.PyJWTError:
            return None
        return claims

    async def authenticate(self, session: AsyncSession, token: str) -> BearerIdentity | None:
        claims = await self._claims(token)
        if claims is None or claims.get("role") != ROLE:
            return None
        try:
            user_id = uuid.UUID(str(claims["sub"]))
        except ValueError:
            return None
        user = await session.get(User, user_id)
        if user is None:
            await _create_profile(self.sessions, user_id, claims)
            user = await session.get(User, user_id)
            if user is None:
                return None
        return BearerIdentity(user, _authenticated_at(claims))


async def _create_profile(
    sessions: SessionMaker, user_id: uuid.UUID, claims: dict[str, Any]
) -> None:
    """The first request of someone the signup trigger has not reached (users who signed up
    before the scripts were applied): their profile and personal organisation. Committed on
    its own, so two first requests at once cannot both create it."""
    metadata = claims.get("user_metadata") or {}
    try:
        async with sessions() as session, session.begin():
            await create_user(
                session,
                str(claims.get("email") or ""),
                name=str(metadata.get("full_name") or ""),
                user_id=user_id,
            )
    except AdminError as exc:
        log.warning("Supabase user %s has no usable profile: %s", user_id, exc)
    except IntegrityError:
        pass  # a concurrent first request made it


def _authenticated_at(claims: dict[str, Any]) -> datetime | None:
    """The latest sign-in or second-factor step (`amr`), else when the token was issued."""
    stamps = [
        entry["timestamp"]
        for entry in claims.get("amr") or []
        if isinstance(entry, dict) and isinstance(entry.get("timestamp"), int | float)
    ]
    moment = max(stamps) if stamps else claims.get("iat")
    return datetime.fromtimestamp(moment, UTC) if isinstance(moment, int | float) else None


def bearer_for(state: ConsoleState) -> SupabaseAuthenticator | None:
    if state.settings.auth_provider != "supabase":
        return None
    return SupabaseAuthenticator(state.settings, state.sessions, state.clock)


def refuse_in_supabase_mode(settings: Settings) -> None:
    """For local sign-up, sign-in and password endpoints: Supabase owns those in its mode."""
    if settings.auth_provider == "supabase":
        raise ApiError(
            404, "auth_managed_by_supabase", "Accounts are managed by Supabase Auth here."
        )
