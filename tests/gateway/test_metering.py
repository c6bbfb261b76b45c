"""The usage writer: group commit, idempotent retries, balances, shutdown drain."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gptapi.admin import service
from gptapi.gateway.credits import CreditAccounts
from gptapi.gateway.metering import UsageEntry, UsageWriter
from gptapi.kit.db import SessionMaker, create_engine, session_maker
from gptapi.models import ApiKey, CreditTransaction, Organization, UsageLog
from tests.support.databases import BACKENDS, fresh_database


@dataclass
class Books:
    sessions: SessionMaker
    organization: Organization
    key: ApiKey
    accounts: CreditAccounts
    writer: UsageWriter

    def entry(self, cost: int, request_id: str) -> UsageEntry:
        return UsageEntry(
            request_id=request_id,
            organization_id=self.organization.id,
            api_key_id=self.key.id,
            user_id=self.key.user_id,
            model_id=1,
            model_name="gpt-fast",
            endpoint="chat.completions",
            prompt_tokens=cost,
            completion_tokens=0,
            cost_nanos=cost,
            status=200,
            outcome="completed",
            metered_by="upstream",
            latency_ms=1,
            upstream="http://u",
            created_at=datetime.now(UTC),
        )

    async def totals(self) -> tuple[int, int, int, int, int]:
        """(balance, ledger sum, usage rows, usage ledger rows, Σ usage cost)."""
        org = self.organization.id
        async with self.sessions() as session:
            values = [
                await session.scalar(statement)
                for statement in (
                    select(Organization.balance_nanos).where(Organization.id == org),
                    select(func.sum(CreditTransaction.amount_nanos)).where(
                        CreditTransaction.organization_id == org
                    ),
                    select(func.count(UsageLog.id)),
                    select(func.count(CreditTransaction.id)).where(
                        CreditTransaction.kind == "usage"
                    ),
                    select(func.coalesce(func.sum(UsageLog.cost_nanos), 0)),
                )
            ]
        return tuple(int(v or 0) for v in values)  # type: ignore[return-value]


@asynccontextmanager
async def books(url: str, credit: int, batch_max: int) -> AsyncIterator[Books]:
    engine = create_engine(url)
    sessions = session_maker(engine)
    try:
        async with sessions() as session, session.begin():
            user, organization = await service.create_user(session, "meter@example.com")
            if credit:
                await service.grant_credit(session, organization, credit, reason="test")
            key, _ = await service.create_key(session, organization, user, name="k")
        accounts = CreditAccounts(sessions, refresh_seconds=60)
        writer = UsageWriter(engine, accounts, batch_max=batch_max)
        yield Books(sessions, organization, key, accounts, writer)
    finally:
        await engine.dispose()


def run_on_each_backend(
    scenario: Callable[[str], Awaitable[None]],
) -> Callable[[str, Path], None]:
    @pytest.mark.parametrize("backend", BACKENDS)
    def test(backend: str, tmp_path: Path) -> None:
        with fresh_database(backend, tmp_path) as url:
            asyncio.run(scenario(url))  # type: ignore[arg-type]

    test.__doc__ = scenario.__doc__
    return test


async def _group_commit(url: str) -> None:
    """300 settled requests commit in batches; a replay charges nothing; close drains."""
    async with books(url, credit=1_000_000, batch_max=50) as b:
        org = b.organization.id
        runner = asyncio.create_task(b.writer.run())
        holds = [await b.accounts.reserve(org, 1000) for _ in range(300)]
        assert b.accounts.available(org) == 1_000_000 - 300_000
        futures = []
        for index, hold in enumerate(holds):
            await b.accounts.settle(hold, index + 1)
            futures.append(b.writer.submit(b.entry(index + 1, f"r{index}")))
        await asyncio.gather(*futures)
        spent = sum(range(1, 301))
        assert b.accounts.available(org) == 1_000_000 - spent

        # The same request id again (a batch replayed after an ambiguous failure).
        hold = await b.accounts.reserve(org, 10)
        await b.accounts.settle(hold, 7)
        await b.writer.submit(b.entry(7, "r0"))
        assert b.accounts.available(org) == 1_000_000 - spent

        # Entries still queued at shutdown are written before the writer stops.
        for index in range(300, 320):
            b.writer.submit(b.entry(1, f"r{index}"))
        await b.writer.close()
        await asyncio.wait_for(runner, 30)
        spent += 20
        balance, ledger, rows, ledger_rows, cost = await b.totals()
        assert rows == ledger_rows == 320
        assert cost == spent
        assert balance == ledger == 1_000_000 - spent


async def _retries(url: str) -> None:
    """A commit whose outcome is unknown is retried until it lands, and charged once."""
    async with books(url, credit=0, batch_max=10) as b:
        real_write = b.writer._write
        failures = 2

        async def flaky(entries: list[UsageEntry], *, replay: bool) -> None:
            nonlocal failures
            await real_write(entries, replay=replay)
            if failures:
                failures -= 1
                raise ConnectionError("commit outcome unknown")  # committed, but we can't tell

        b.writer._write = flaky  # type: ignore[method-assign]
        runner = asyncio.create_task(b.writer.run())
        await asyncio.wait_for(b.writer.submit(b.entry(5, "only")), 30)
        await b.writer.close()
        await runner
        balance, ledger, rows, _, _ = await b.totals()
        assert (rows, balance, ledger, failures) == (1, -5, -5, 0)


test_group_commit_is_exact_idempotent_and_drains = run_on_each_backend(_group_commit)
test_writer_retries_until_the_database_answers = run_on_each_backend(_retries)
