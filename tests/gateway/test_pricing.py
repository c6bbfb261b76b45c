"""Prices that change from a moment on: requests pay the price in force when they arrived,
and past usage is never re-priced. Also the hourly rollup the usage writer keeps, and keys
of suspended users and organisations. Runs the gateway against a fake llama-server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.gateway.catalog import ModelCatalog
from gptapi.gateway.metering import UsageEntry, write_batch
from gptapi.gateway.upstream.registry import ServerSpec
from gptapi.models import Model, ModelPrice, UsageHourly, UsageLog
from tests.support.console import Member, sign_in
from tests.support.databases import BACKENDS, fresh_database
from tests.support.fake_upstream import FakeLlamaServer, prompt_tokens
from tests.support.platform import Account, Platform, test_settings as settings_for
from tests.support.threads import wait_until

MODEL = "priced-chat"
OLD_IN, OLD_OUT = 1_000, 2_000  # nano-dollars per token ($1 and $2 per 1M)
NEW_IN, NEW_OUT = 3_000, 5_000
HELLO = [{"role": "user", "content": "Say hello."}]


@pytest.fixture(scope="module", params=BACKENDS)
def gateway(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    tmp: Path = tmp_path_factory.mktemp(f"pricing-{request.param}")
    upstream = FakeLlamaServer().start()
    with fresh_database(str(request.param), tmp) as url:
        platform = Platform(settings_for(url, tmp))
        platform.add_model(MODEL, input_price=OLD_IN, output_price=OLD_OUT)
        platform.set_servers("pricing", [ServerSpec(model=MODEL, base_url=upstream.url)])
        try:
            with platform.serving(timeout=15):
                yield platform
        finally:
            upstream.stop()


@pytest.fixture
def operator(gateway: Platform) -> Iterator[Member]:
    admin = sign_in(gateway, admin=True)
    try:
        yield admin
    finally:
        admin.client.close()


def chat(gateway: Platform, account: Account) -> httpx.Response:
    return httpx.post(
        f"{gateway.url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {account.secret}"},
        json={"model": MODEL, "messages": HELLO, "max_tokens": 5},
        timeout=30,
    )


def model_id(gateway: Platform) -> int:
    async def work(session: AsyncSession) -> int:
        return int(await session.scalar(select(Model.id).where(Model.internal_name == MODEL)) or 0)

    return gateway.run(work)


def current_price(gateway: Platform) -> tuple[int, int]:
    model = gateway.runtime.serving.catalog.get(MODEL)
    return model.input_price, model.output_price


def test_a_price_change_applies_from_then_on_and_never_to_past_usage(
    gateway: Platform, operator: Member
) -> None:
    account = gateway.account("1")
    first = chat(gateway, account)
    assert first.status_code == 200, first.text
    prompt = prompt_tokens({"model": MODEL, "messages": HELLO, "max_tokens": 5})
    [before] = gateway.usage(account)
    assert before.cost_nanos == prompt * current_price(gateway)[0] + 5 * current_price(gateway)[1]
    old_cost = before.cost_nanos

    changed = operator.client.post(
        f"/api/admin/models/{model_id(gateway)}/prices", json={"input": "3", "output": "5"}
    )
    assert changed.status_code == 201, changed.text
    wait_until(lambda: current_price(gateway) == (NEW_IN, NEW_OUT), timeout=10)

    second = chat(gateway, account)
    assert second.status_code == 200
    before_again, after = gateway.usage(account)
    assert before_again.cost_nanos == old_cost  # never re-priced
    assert after.cost_nanos == prompt * NEW_IN + 5 * NEW_OUT
    assert gateway.balance(account) == gateway.ledger_sum(account)
    assert gateway.balance(account) == 1_000_000_000 - old_cost - after.cost_nanos

    # Restore the old price for the other tests of this module.
    restored = operator.client.post(
        f"/api/admin/models/{model_id(gateway)}/prices", json={"input": "1", "output": "2"}
    )
    assert restored.status_code == 201
    wait_until(lambda: current_price(gateway) == (OLD_IN, OLD_OUT), timeout=10)


def test_the_catalog_switches_price_at_the_scheduled_moment(gateway: Platform) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    identifier = model_id(gateway)

    async def schedule(session: AsyncSession) -> None:
        for offset, price in ((10, 7_000), (20, 9_000)):
            session.add(
                ModelPrice(
                    model_id=identifier,
                    input_price_per_million_tokens=price,
                    output_price_per_million_tokens=price * 2,
                    effective_from=t0 + timedelta(seconds=offset),
                )
            )

    gateway.run(schedule)
    now = [t0.timestamp()]
    catalog = ModelCatalog(gateway.sessions, clock=lambda: now[0])
    gateway.portal.call(catalog.refresh())
    held = catalog.get(MODEL)
    assert held is not None and held.input_price == OLD_IN
    now[0] += 9.999
    assert catalog.get(MODEL) == held
    now[0] = t0.timestamp() + 10
    switched = catalog.get(MODEL)
    assert switched == replace(held, input_price=7_000, output_price=14_000)
    assert held.cost(1, 1) == OLD_IN + OLD_OUT  # a request planned earlier keeps its price
    now[0] = t0.timestamp() + 3600
    assert [m.input_price for m in catalog.all() if m.internal_name == MODEL] == [9_000]
    # Refreshing later starts from the price in force, with nothing left to switch.
    gateway.portal.call(catalog.refresh())
    assert catalog.get(MODEL) == replace(held, input_price=9_000, output_price=18_000)
    now[0] += 365 * 86400
    assert catalog.get(MODEL) == replace(held, input_price=9_000, output_price=18_000)


def _batch(gateway: Platform, account: Account, count: int, at: datetime) -> list[UsageEntry]:
    return [
        UsageEntry(
            request_id=f"rollup-{account.key_id.hex[:8]}-{at.timestamp()}-{i}",
            organization_id=account.organization_id,
            api_key_id=account.key_id,
            user_id=account.user_id,
            model_id=model_id(gateway),
            model_name=MODEL,
            endpoint="/v1/chat/completions",
            prompt_tokens=10 + i,
            completion_tokens=i,
            cost_nanos=100 * (i + 1),
            status=200,
            outcome="completed",
            metered_by="upstream",
            latency_ms=1,
            upstream="",
            created_at=at + timedelta(minutes=i * 25),
        )
        for i in range(count)
    ]


def _write(gateway: Platform, entries: list[UsageEntry], *, replay: bool) -> None:
    gateway.portal.call(write_batch(gateway.engine, entries, replay=replay))


def _sums(gateway: Platform, account: Account) -> tuple[list[Any], list[Any]]:
    """Per hour: (rollup rows, the same sums computed from usage_logs)."""

    async def work(session: AsyncSession) -> tuple[list[Any], list[Any]]:
        rollup = await session.execute(
            select(
                UsageHourly.hour,
                UsageHourly.requests,
                UsageHourly.prompt_tokens,
                UsageHourly.completion_tokens,
                UsageHourly.cost_nanos,
            )
            .where(UsageHourly.organization_id == account.organization_id)
            .order_by(UsageHourly.hour)
        )
        logs = await session.scalars(
            select(UsageLog).where(UsageLog.organization_id == account.organization_id)
        )
        by_hour: dict[datetime, list[int]] = {}
        for row in logs:
            hour = row.created_at.replace(minute=0, second=0, microsecond=0)
            sums = by_hour.setdefault(hour, [hour, 0, 0, 0, 0])  # type: ignore[list-item]
            sums[1] += 1
            sums[2] += row.prompt_tokens
            sums[3] += row.completion_tokens
            sums[4] += row.cost_nanos
        return [tuple(r) for r in rollup], [tuple(v) for _, v in sorted(by_hour.items())]

    return gateway.run(work)


def test_the_rollup_matches_usage_and_a_replayed_batch_counts_once(gateway: Platform) -> None:
    account = gateway.account("1")
    at = datetime(2026, 5, 4, 10, 50, tzinfo=UTC)
    entries = _batch(gateway, account, 6, at)  # 10:50 … 12:55: three hours
    _write(gateway, entries[:4], replay=False)
    # The batch is retried after a commit nobody heard about, with two new entries.
    _write(gateway, entries, replay=True)
    _write(gateway, entries, replay=True)
    rollup, from_logs = _sums(gateway, account)
    assert rollup == from_logs
    assert [r[1] for r in rollup] == [1, 2, 3]
    assert chat(gateway, account).status_code == 200  # the live writer keeps it too
    rollup, from_logs = _sums(gateway, account)
    assert rollup == from_logs and sum(r[1] for r in rollup) == 7


def test_keys_of_suspended_organisations_and_users_stop_working(
    gateway: Platform, operator: Member
) -> None:
    account = gateway.account("1")
    assert chat(gateway, account).status_code == 200
    for kind, ident in (("orgs", account.organization_id), ("users", account.user_id)):
        assert operator.client.post(f"/api/admin/{kind}/{ident}/suspend").status_code == 200
        wait_until(lambda: chat(gateway, account).status_code == 401, timeout=10)
        assert operator.client.post(f"/api/admin/{kind}/{ident}/unsuspend").status_code == 200
        wait_until(lambda: chat(gateway, account).status_code == 200, timeout=10)
