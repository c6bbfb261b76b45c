"""What the account services need from a request, gathered once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi import audit
from gptapi.config import Settings
from gptapi.console.auth import throttle
from gptapi.console.auth.sessions import client_ip
from gptapi.console.deps import DbSession, State
from gptapi.console.mail_queue import RequestMailQueue
from gptapi.models import User


@dataclass(frozen=True)
class AuthContext:
    db: AsyncSession
    settings: Settings
    secret_key: bytes
    mail_queue: RequestMailQueue
    ip: str
    now: datetime
    # Attempts this request counted against throttle buckets (see `attempt`).
    taken: list[int] = field(default_factory=list)

    async def active_user(self, email: str) -> User | None:
        return await self.db.scalar(
            select(User).where(User.email == normalize_email(email), User.is_active.is_(True))
        )

    async def may_mail(self, to: str) -> bool:
        """Whether another mail may go to this address now, so nobody can flood a mailbox
        through us; over the limit the request is answered the same way, just not mailed."""
        if await throttle.retry_after(self.db, throttle.MAILS, to, self.now) is not None:
            return False
        await throttle.note(self.db, [(throttle.MAILS, to)], self.now)
        return True

    def audit(self, action: str, user: User) -> None:
        audit.record(
            self.db,
            action=action,
            actor_user_id=user.id,
            target_type="user",
            target_id=user.id,
            ip=self.ip,
        )

    def guess_limits(self, email: str) -> list[tuple[throttle.Limit, str]]:
        """The buckets a wrong password or code for this account counts against."""
        return [
            (throttle.ACCOUNT_SOURCE_FAILURES, f"{normalize_email(email)} {self.ip}"),
            (throttle.ACCOUNT_FAILURES, email),
            (throttle.ADDRESS_FAILURES, self.ip),
        ]

    async def attempt(self, checks: list[tuple[throttle.Limit, str]]) -> None:
        """Count a guess before checking it (a 429 when a limit is reached); the count stays,
        even though the request then fails, unless `passed` takes it back."""
        self.taken.extend(await throttle.reserve(self.db, checks, self.now))

    async def passed(self, email: str | None = None) -> None:
        """The guess was right: uncount it, and start the account's failures afresh."""
        await throttle.release(self.db, self.taken)
        self.taken.clear()
        if email is not None:
            for limit, subject in self.guess_limits(email)[:2]:
                await throttle.clear(self.db, limit, subject)


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def auth_context(
    request: Request, db: DbSession, state: State, mail_queue: RequestMailQueue
) -> AuthContext:
    return AuthContext(
        db, state.settings, state.secret_key, mail_queue, client_ip(request), state.clock.now()
    )


Auth = Annotated[AuthContext, Depends(auth_context)]
