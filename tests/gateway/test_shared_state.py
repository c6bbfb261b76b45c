"""Rate limits, credit holds and key revocations on Redis, shared by several gateways: each
"process" here is its own client and store object on the same real Redis and database."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from gptapi.admin import service
from gptapi.gateway import announcements, shared
from gptapi.gateway.credits import (
    Charge,
    CreditStoreUnavailable,
    Hold,
    InsufficientCredit,
    SpendCap,
    SpendCapReached,
)
from gptapi.gateway.metering import UsageEntry, UsageWriter
from gptapi.gateway.shared_credit import RedisCreditAccounts
from gptapi.inference.launcher import free_port
from gptapi.kit.db import SessionMaker, create_engine, session_maker
from gptapi.models import ApiKey, Organization
from tests.gateway.test_metering import Books
from tests.support.databases import fresh_database
from tests.support.redis_store import REDIS_URL, redis_prefix


@pytest.fixture
def prefix() -> Iterator[str]:
    with redis_prefix() as value:
        yield value


async def _poll(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    # Polls Redis and the stores themselves: there is no event to wait on.
    async with asyncio.timeout(timeout):
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


def test_rate_limits_are_one_bucket_across_processes(prefix: str) -> None:
    async def scenario() -> None:
        clients = [shared.connect(REDIS_URL) for _ in range(3)]
        limiters = [shared.RedisRateLimiter(client, prefix) for client in clients]
        try:
            decisions = await asyncio.gather(
                *(limiters[i % 3].acquire("key", 5, 0, 0) for i in range(30))
            )
            assert sum(d.allowed for d in decisions) == 5
            refused = next(d for d in decisions if not d.allowed)
            assert refused.exceeded == "requests" and refused.retry_after > 0
            assert refused.headers["x-ratelimit-limit-requests"] == "5"
            # Tokens: a refund on one process is capacity for another.
            assert (await limiters[0].acquire("t", 0, 1000, 900)).allowed
            assert not (await limiters[1].acquire("t", 0, 1000, 900)).allowed
            await limiters[2].refund("t", 1000, 800)
            assert (await limiters[1].acquire("t", 0, 1000, 800)).allowed
        finally:
            for client in clients:
                await client.aclose()

    asyncio.run(scenario())


def test_limits_fall_back_to_each_process_when_redis_is_down() -> None:
    async def scenario() -> None:
        client = shared.connect(f"redis://127.0.0.1:{free_port()}/0")
        limiter = shared.RedisRateLimiter(client, "x:")
        try:
            decisions = [await limiter.acquire("key", 2, 0, 0) for _ in range(3)]
            assert [d.allowed for d in decisions] == [True, True, False]
        finally:
            await client.aclose()

    asyncio.run(scenario())


@contextlib.asynccontextmanager
async def _three_processes(
    url: str, prefix: str, *, refresh: float
) -> AsyncIterator[tuple[AsyncEngine, SessionMaker, list[RedisCreditAccounts]]]:
    """The credit stores of three gateway processes on one Redis and one database."""
    engine = create_engine(url)
    sessions = session_maker(engine)
    clients = [shared.connect(REDIS_URL) for _ in range(3)]
    try:
        yield (
            engine,
            sessions,
            [
                RedisCreditAccounts(
                    client, prefix, sessions, refresh_seconds=refresh, hold_ttl_seconds=60
                )
                for client in clients
            ],
        )
    finally:
        for client in clients:
            await client.aclose()
        await engine.dispose()


async def _funded_key(
    sessions: SessionMaker, email: str, credit_nanos: int
) -> tuple[Organization, ApiKey]:
    """A new user's organisation with this much credit, and a key of theirs."""
    async with sessions() as session, session.begin():
        user, organization = await service.create_user(session, email)
        await service.grant_credit(session, organization, credit_nanos, reason="test")
        key, _ = await service.create_key(session, organization, user, name="test")
    return organization, key


def _entry(books: Books, cost: int, hold_id: str) -> UsageEntry:
    entry = books.entry(cost, uuid.uuid4().hex)
    entry.hold_id = hold_id
    return entry


def test_holds_never_overdraw_across_processes(
    prefix: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(url: str) -> None:
        async with _three_processes(url, prefix, refresh=0.01) as (
            engine,
            sessions,
            stores,
        ):
            organization, key = await _funded_key(sessions, "r@example.com", 1000)
            org = organization.id

            async def try_reserve(i: int) -> Hold | InsufficientCredit:
                try:
                    return await stores[i % 3].reserve(org, 100)
                except InsufficientCredit as exc:
                    return exc

            outcomes = await asyncio.gather(*(try_reserve(i) for i in range(60)))
            holds = [o for o in outcomes if isinstance(o, Hold)]
            assert len(holds) == 10
            refusal = next(o for o in outcomes if isinstance(o, InsufficientCredit))
            assert refusal.available == 0 and refusal.required == 100

            # Settle each hold to 60 (the writer charges the ledger), release none: 400 left.
            books = Books(sessions, organization, key, stores[0], None)  # type: ignore[arg-type]
            writers = [UsageWriter(engine, store, batch_max=50) for store in stores]
            runners = [asyncio.create_task(w.run()) for w in writers]
            for i, hold in enumerate(holds):
                await stores[i % 3].settle(hold, 60)
                await writers[i % 3].submit(_entry(books, 60, hold.id))
            for writer in writers:
                await writer.close()
            await asyncio.gather(*runners)
            async with sessions() as session:
                balance = await session.scalar(
                    select(Organization.balance_nanos).where(Organization.id == org)
                )
            assert balance == 400
            admitted = []
            for i in range(10):
                with contextlib.suppress(InsufficientCredit):
                    admitted.append(await stores[i % 3].reserve(org, 100))
            assert len(admitted) == 4
            # A released hold is credit again, for any process.
            await stores[0].release(admitted[0])
            assert (await stores[2].reserve(org, 100)).amount == 100
            # Free requests (nothing held, nothing charged) go through every script too.
            free = await stores[1].reserve(org, 0)
            await stores[1].settle(free, 0)
            month = datetime.now(UTC).strftime("%Y-%m")
            await stores[1].committed(org, 0, 0, [Charge(free.id, key.id, 0, month)])
            assert not [r for r in caplog.records if r.name.startswith("gptapi.gateway.shared")]

    with fresh_database("sqlite", tmp_path) as url:
        asyncio.run(scenario(url))


def test_a_key_spend_cap_is_one_figure_across_processes(prefix: str, tmp_path: Path) -> None:
    async def scenario(url: str) -> None:
        async with _three_processes(url, prefix, refresh=60) as (engine, sessions, stores):
            organization, key = await _funded_key(sessions, "cap@example.com", 100_000)
            org, cap = organization.id, SpendCap(key.id, 500)

            async def try_reserve(i: int) -> Hold | None:
                try:
                    return await stores[i % 3].reserve(org, 100, cap)
                except SpendCapReached:
                    return None

            # Admitted while the key's spend and holds are below its cap: 0, 100 … 400.
            holds = [h for h in await asyncio.gather(*map(try_reserve, range(30))) if h]
            assert len(holds) == 5
            # Another key of the organisation is not held back by this one's cap.
            assert (await stores[1].reserve(org, 100)).amount == 100

            # Each costs 60 in the end: 300 spent, so two more fit below 500. The last settle
            # never reaches Redis (it timed out on a starved machine): its usage row still
            # counts, as the commit itself adds what was charged.
            books = Books(sessions, organization, key, stores[0], None)  # type: ignore[arg-type]
            writer = UsageWriter(engine, stores[0], batch_max=50)
            runner = asyncio.create_task(writer.run())
            for i, hold in enumerate(holds):
                if i < len(holds) - 1:
                    await stores[i % 3].settle(hold, 60)
                await writer.submit(_entry(books, 60, hold.id))
            await writer.close()
            await runner
            assert len([h for h in await asyncio.gather(*map(try_reserve, range(6))) if h]) == 2

            # Redis forgets everything: the month's spend is read back from the usage rows.
            await _delete_prefix(prefix)
            assert len([h for h in await asyncio.gather(*map(try_reserve, range(6))) if h]) == 2
            # A raised cap applies at once, wherever the key's next request lands.
            assert (await stores[2].reserve(org, 100, SpendCap(key.id, 10_000))).amount == 100

    with fresh_database("sqlite", tmp_path) as url:
        asyncio.run(scenario(url))


async def _delete_prefix(prefix: str) -> None:
    client = shared.connect(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        await client.delete(*keys)
    finally:
        await client.aclose()


def test_a_hold_of_a_dead_process_expires(prefix: str, tmp_path: Path) -> None:
    async def scenario(url: str) -> None:
        engine = create_engine(url)
        sessions = session_maker(engine)
        client = shared.connect(REDIS_URL)
        try:
            async with sessions() as session, session.begin():
                _, organization = await service.create_user(session, "d@example.com")
                await service.grant_credit(session, organization, 100, reason="test")
            org = organization.id

            def store() -> RedisCreditAccounts:
                return RedisCreditAccounts(
                    client, prefix, sessions, refresh_seconds=60, hold_ttl_seconds=0.3
                )

            await store().reserve(org, 100)  # its process never settles it
            survivor = store()
            with pytest.raises(InsufficientCredit):
                await survivor.reserve(org, 100)

            async def granted() -> bool:
                try:
                    await survivor.reserve(org, 100)
                except InsufficientCredit:
                    return False
                return True

            await _poll(granted)
        finally:
            await client.aclose()
            await engine.dispose()

    with fresh_database("sqlite", tmp_path) as url:
        asyncio.run(scenario(url))


def test_holds_fail_closed_when_redis_is_down(tmp_path: Path) -> None:
    async def scenario(url: str) -> None:
        engine = create_engine(url)
        client = shared.connect(f"redis://127.0.0.1:{free_port()}/0")
        store = RedisCreditAccounts(
            client, "x:", session_maker(engine), refresh_seconds=1, hold_ttl_seconds=60
        )
        try:
            with pytest.raises(CreditStoreUnavailable):
                await store.reserve(uuid.uuid4(), 1)
        finally:
            await client.aclose()
            await engine.dispose()

    with fresh_database("sqlite", tmp_path) as url:
        asyncio.run(scenario(url))


def test_a_revocation_reaches_every_listener(prefix: str) -> None:
    async def scenario() -> None:
        clients = [shared.connect(REDIS_URL) for _ in range(3)]
        heard: list[list[str]] = [[], [], []]
        listeners = [
            asyncio.create_task(shared.listen(c, prefix, {announcements.REVOKED: heard[i].append}))
            for i, c in enumerate(clients)
        ]
        try:

            async def all_heard() -> bool:
                # Published until every listener has subscribed and heard it.
                await shared.announce(clients[0], prefix, announcements.REVOKED, ["abc"])
                return all("abc" in h for h in heard)

            await _poll(all_heard)
        finally:
            for task in listeners:
                task.cancel()
            await asyncio.gather(*listeners, return_exceptions=True)
            for client in clients:
                await client.aclose()

    asyncio.run(scenario())
