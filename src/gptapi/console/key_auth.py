"""API keys on /api (account keys): `Authorization: Bearer gpt_live_…` on organisation
routes, told apart from a Supabase access token by its prefix.

Looked up in the database on every call rather than cached like the gateway's keys: /api is
not a hot path, and a revoked or expired key is refused at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.console.errors import ApiError, forbidden
from gptapi.kit.key_scopes import Scope, scopes_of
from gptapi.kit.secrets import hash_api_key
from gptapi.models import ApiKey, User


@dataclass(frozen=True)
class KeyGrant:
    """The API key a request to /api was made with."""

    key_id: uuid.UUID
    organization_id: uuid.UUID
    prefix: str
    scopes: frozenset[Scope]


def invalid_key() -> ApiError:
    return ApiError(
        401, "invalid_api_key", "The API key is not valid: unknown, revoked or expired."
    )


async def authenticate(db: AsyncSession, token: str, now: datetime) -> tuple[User, KeyGrant]:
    row = (
        await db.execute(
            select(ApiKey, User)
            .join(User, User.id == ApiKey.user_id)
            .where(ApiKey.key_hash == hash_api_key(token))
        )
    ).first()
    if row is None:
        raise invalid_key()
    key, user = row
    if key.revoked or not user.is_active:
        raise invalid_key()
    if key.expires_at is not None and key.expires_at <= now:
        raise invalid_key()
    if key.purpose != "api":
        raise forbidden(
            "Deployment and playground keys are for inference on /v1 only; use an API key "
            "with scopes for /api.",
            code="key_not_allowed",
        )
    key.last_used_at = now
    grant = KeyGrant(key.id, key.organization_id, key.key_prefix, scopes_of(key.scopes))
    return user, grant
