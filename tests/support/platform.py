"""A running gateway on a fresh database, with helpers to set up accounts and read the books."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.admin import service
from gptapi.app import create_app
from gptapi.config import Settings
from gptapi.gateway.upstream.fleet import replace_source
from gptapi.gateway.upstream.registry import ServerSpec
from gptapi.kit.clock import Clock
from gptapi.kit.db import create_engine, session_maker
from gptapi.kit.money import dollars_to_nanos
from gptapi.mail.message import Mailer
from gptapi.models import ApiKey, CreditTransaction, Model, Organization, UsageLog
from tests.support.threads import Portal, ThreadedUvicorn, wait_until

T = TypeVar("T")


@dataclass(frozen=True)
class Account:
    secret: str
    key_id: uuid.UUID
    organization_id: uuid.UUID
    user_id: uuid.UUID


def test_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "data_dir": data_dir,
        "local_inference": "off",
        "key_cache_ttl_seconds": 1.0,
        "key_negative_cache_ttl_seconds": 0.5,
        "balance_refresh_seconds": 0.5,
        "health_interval_seconds": 0.5,
        "server_sync_seconds": 0.5,
        "queue_timeout_seconds": 5.0,
        "upstream_read_timeout_seconds": 30.0,
        "upstream_total_timeout_seconds": 60.0,
        # Tests book usage at fixed dates long past; retention's own tests turn it on.
        "usage_raw_retention_days": 0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


class Platform:
    def __init__(
        self, settings: Settings, *, clock: Clock | None = None, mailer: Mailer | None = None
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.mailer = mailer
        self.portal = Portal()
        self.engine = self.portal.call(_make_engine(settings.resolved_database_url))
        self.sessions = session_maker(self.engine)
        self.server: ThreadedUvicorn | None = None

    # -- lifecycle
    def start(self) -> Platform:
        app = create_app(self.settings, clock=self.clock, mailer=self.mailer)
        self.server = ThreadedUvicorn(app).start()
        return self

    @contextmanager
    def serving(self, timeout: float = 30) -> Iterator[Platform]:
        """Started, once its fleet has servers and every one of them is healthy; stopped
        after."""
        self.start()
        try:
            registry = self.runtime.serving.registry
            wait_until(
                lambda: bool(registry.servers) and all(s.healthy for s in registry.servers),
                timeout=timeout,
            )
            yield self
        finally:
            self.stop()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        self.portal.call(self.engine.dispose())
        self.portal.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    @property
    def app(self) -> Any:
        assert self.server is not None
        return self.server.server.config.app

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    # -- setup
    def set_servers(self, source: str, specs: list[ServerSpec]) -> None:
        async def work() -> None:
            async with self.sessions() as session, session.begin():
                await replace_source(session, source, specs)

        self.portal.call(work())

    def add_model(
        self,
        internal_name: str,
        *,
        input_price: int,
        output_price: int,
        kind: str = "chat",
        **columns: Any,
    ) -> None:
        """`columns` sets the model's other fields, such as an image model's `nanos_per_image`."""

        async def work() -> None:
            async with self.sessions() as session, session.begin():
                session.add(
                    Model(
                        name=internal_name,
                        internal_name=internal_name,
                        kind=kind,
                        input_price_per_million_tokens=input_price,
                        output_price_per_million_tokens=output_price,
                        **columns,
                    )
                )

        self.portal.call(work())

    def account(
        self,
        credit: str = "10",
        *,
        rpm: int | None = 0,
        tpm: int | None = 0,
        expires_at: datetime | None = None,
    ) -> Account:
        """A user, organisation and key; limits default to unlimited so tests opt in."""

        async def work() -> Account:
            async with self.sessions() as session, session.begin():
                user, organization = await service.create_user(
                    session, f"user-{uuid.uuid4().hex[:10]}@example.com"
                )
                nanos = dollars_to_nanos(credit)
                if nanos:
                    await service.grant_credit(session, organization, nanos, reason="test")
                key, secret = await service.create_key(
                    session,
                    organization,
                    user,
                    name="test",
                    rpm_limit=rpm,
                    tpm_limit=tpm,
                    expires_at=expires_at,
                )
                return Account(secret, key.id, organization.id, user.id)

        return self.portal.call(work())

    def revoke(self, account: Account) -> None:
        async def work() -> None:
            async with self.sessions() as session, session.begin():
                await session.execute(
                    update(ApiKey).where(ApiKey.id == account.key_id).values(revoked=True)
                )

        self.portal.call(work())

    def grant(self, account: Account, dollars: str) -> None:
        async def work() -> None:
            async with self.sessions() as session, session.begin():
                organization = await session.get(Organization, account.organization_id)
                assert organization is not None
                await service.grant_credit(
                    session, organization, dollars_to_nanos(dollars), reason="test top-up"
                )

        self.portal.call(work())

    # -- reading the books
    def balance(self, account: Account) -> int:
        return self.portal.call(
            self._scalar(
                select(Organization.balance_nanos).where(Organization.id == account.organization_id)
            )
        )

    def ledger_sum(self, account: Account) -> int:
        return self.portal.call(
            self._scalar(
                select(func.coalesce(func.sum(CreditTransaction.amount_nanos), 0)).where(
                    CreditTransaction.organization_id == account.organization_id
                )
            )
        )

    def usage(self, account: Account) -> list[UsageLog]:
        """The requests that were admitted (billed, or failed upstream for free)."""
        return self.rows(
            select(UsageLog)
            .where(
                UsageLog.organization_id == account.organization_id,
                UsageLog.metered_by != "refused",
            )
            .order_by(UsageLog.id)
        )

    def refusals(self, account: Account) -> list[UsageLog]:
        """Requests turned away after the key was accepted, logged at zero cost."""
        return self.rows(
            select(UsageLog)
            .where(
                UsageLog.organization_id == account.organization_id,
                UsageLog.metered_by == "refused",
            )
            .order_by(UsageLog.id)
        )

    def usage_for(self, request_id: str) -> UsageLog | None:
        rows: list[UsageLog] = self.rows(select(UsageLog).where(UsageLog.request_id == request_id))
        return rows[0] if rows else None

    def ledger_entries(self, account: Account) -> list[CreditTransaction]:
        return self.rows(
            select(CreditTransaction)
            .where(CreditTransaction.organization_id == account.organization_id)
            .order_by(CreditTransaction.id)
        )

    def rows(self, statement: Any) -> list[Any]:
        async def work() -> list[Any]:
            async with self.sessions() as session:
                return list((await session.scalars(statement)).all())

        return self.portal.call(work())

    def key(self, account: Account) -> ApiKey:
        async def work() -> ApiKey:
            async with self.sessions() as session:
                key = await session.get(ApiKey, account.key_id)
                assert key is not None
                return key

        return self.portal.call(work())

    def run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `work` in one committed transaction on the platform's database."""

        async def wrapped() -> T:
            async with self.sessions() as session, session.begin():
                return await work(session)

        return self.portal.call(wrapped())

    async def _scalar(self, statement: Any) -> int:
        async with self.sessions() as session:
            return int(await session.scalar(statement) or 0)


async def _make_engine(url: str) -> Any:
    return create_engine(url)


def usd(nanos: int) -> Decimal:
    return Decimal(nanos) / 1_000_000_000
