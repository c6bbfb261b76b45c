"""The usage writer: group commit, idempotent retries, balances, shutdown drain."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gptapi.admin import service
from gptapi.gateway.credits import CreditAccounts
from gptapi.gateway.metering import UsageEntry, UsageWriter
from gptapi.kit.db import create_engine, session_maker
from gptapi.models import CreditTransaction, Organization, UsageLog
from tests.support.databases import BACKENDS, fresh_database


def entry(
    org: uuid.UUID, key: uuid.UUID, user: uuid.UUID, cost: int, request_id: str
) -> UsageEntry:
    return UsageEntry(
        request_id=request_id,
        organization_id=org,
        api_key_id=key,
        user_id=user,
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


@pytest.mark.parametrize("backend", BACKENDS)
def test_group_commit_is_exact_idempotent_and_drains(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url:
        asyncio.run(_scenario(url))


async def _scenario(url: str) -> None:
    engine = create_engine(url)
    sessions = session_maker(engine)
    try:
        async with sessions() as session, session.begin():
            user, org = await service.create_user(session, "meter@example.com")
            await service.grant_credit(session, org, 1_000_000, reason="test")
            key, _ = await service.create_key(session, org, user, name="k")
        accounts = CreditAccounts(sessions, refresh_seconds=60)
        writer = UsageWriter(engine, accounts, batch_max=50)
        runner = asyncio.create_task(writer.run())

        # 300 requests settle at once: holds, then costs pending until their batch commits.
        holds = [await accounts.reserve(org.id, 1000) for _ in range(300)]
        assert accounts.available(org.id) == 1_000_000 - 300_000
        futures = []
        for index, hold in enumerate(holds):
            accounts.settle(hold, index + 1)
            futures.append(writer.submit(entry(org.id, key.id, user.id, index + 1, f"r{index}")))
        await asyncio.gather(*futures)
        spent = sum(range(1, 301))
        assert accounts.available(org.id) == 1_000_000 - spent

        # A batch replayed after an ambiguous failure charges nothing twice.
        hold = await accounts.reserve(org.id, 10)
        accounts.settle(hold, 7)
        await writer.submit(entry(org.id, key.id, user.id, 7, "r0"))
        assert accounts.available(org.id) == 1_000_000 - spent

        # Entries still queued at shutdown are written before the writer stops.
        for index in range(300, 320):
            writer.submit(entry(org.id, key.id, user.id, 1, f"r{index}"))
        await writer.close()
        await asyncio.wait_for(runner, 30)
        spent += 20

        async with sessions() as session:
            balance = await session.scalar(
                select(Organization.balance_nanos).where(Organization.id == org.id)
            )
            ledger = await session.scalar(
                select(func.sum(CreditTransaction.amount_nanos)).where(
                    CreditTransaction.organization_id == org.id
                )
            )
            usage_rows = await session.scalar(select(func.count(UsageLog.id)))
            usage_cost = await session.scalar(select(func.sum(UsageLog.cost_nanos)))
            usage_ledger_rows = await session.scalar(
                select(func.count(CreditTransaction.id)).where(CreditTransaction.kind == "usage")
            )
        assert usage_rows == usage_ledger_rows == 320
        assert usage_cost == spent
        assert balance == ledger == 1_000_000 - spent
    finally:
        await engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_writer_retries_until_the_database_answers(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url:
        asyncio.run(_retry_scenario(url))


async def _retry_scenario(url: str) -> None:
    engine = create_engine(url)
    sessions = session_maker(engine)
    try:
        async with sessions() as session, session.begin():
            user, org = await service.create_user(session, "retry@example.com")
            key, _ = await service.create_key(session, org, user, name="k")
        accounts = CreditAccounts(sessions, refresh_seconds=60)
        writer = UsageWriter(engine, accounts, batch_max=10)
        real_write = writer._write
        failures = 2

        async def flaky(entries: list[UsageEntry]) -> None:
            nonlocal failures
            await real_write(entries)
            if failures:
                failures -= 1
                raise ConnectionError("commit outcome unknown")  # committed, but we can't tell

        writer._write = flaky  # type: ignore[method-assign]
        runner = asyncio.create_task(writer.run())
        await asyncio.wait_for(writer.submit(entry(org.id, key.id, user.id, 5, "only")), 30)
        await writer.close()
        await runner
        async with sessions() as session:
            rows = await session.scalar(select(func.count(UsageLog.id)))
            balance = await session.scalar(
                select(Organization.balance_nanos).where(Organization.id == org.id)
            )
        assert rows == 1 and balance == -5 and failures == 0
    finally:
        await engine.dispose()
