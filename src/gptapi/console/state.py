"""What the console API needs at request time, built once in the app's lifespan."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from fastapi import Request

from gptapi.compute.price_list import PriceListCache
from gptapi.config import Settings
from gptapi.kit.clock import Clock, SystemClock
from gptapi.kit.db import SessionMaker
from gptapi.mail.notifying import NotifyingMailer

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from gptapi.models import User


@dataclass(frozen=True)
class BearerIdentity:
    user: User
    # When the person last proved who they are (for "confirm action" checks).
    authenticated_at: datetime | None


class BearerAuthenticator(Protocol):
    """Turns an `Authorization: Bearer` token into a user (Supabase mode), or None."""

    async def authenticate(self, session: AsyncSession, token: str) -> BearerIdentity | None: ...


@dataclass
class ConsoleState:
    settings: Settings
    sessions: SessionMaker
    mailer: NotifyingMailer
    secret_key: bytes
    prices: PriceListCache  # the GPU cloud's catalog and price list
    clock: Clock = field(default_factory=SystemClock)
    bearer: BearerAuthenticator | None = None


def resolve_secret_key(settings: Settings) -> bytes:
    """SECRET_KEY signs CSRF tokens and encrypts 2FA secrets. Production must set it; elsewhere
    one is generated once under the data directory so sessions survive restarts."""
    if settings.secret_key:
        return settings.secret_key.encode()
    if settings.environment == "production":
        raise RuntimeError("SECRET_KEY must be set in production")
    path = settings.data_dir / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
        log.info("generated a secret key at %s", path)
    return path.read_text().strip().encode()


def console_state(request: Request) -> ConsoleState:
    state: ConsoleState = request.app.state.console
    return state
