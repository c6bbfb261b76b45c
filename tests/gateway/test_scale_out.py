"""Three real `gptapi gateway` processes on one PostgreSQL and one Redis: together they never
admit more than a balance or a key's spend cap covers, enforce one key's RPM as one limit,
all refuse a revoked key and charge a new price at once (their key caches trust a key for a
minute and their catalogs refresh every ten seconds, so only the Redis announcements can
explain it), and `gptapi admin reconcile` agrees with the books afterwards. `gptapi gateway
--workers` runs such processes on one port."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.inference.launcher import free_port
from gptapi.models import ApiKey, Model
from tests.gateway.load import fire, reconcile, statuses
from tests.support.console import sign_in
from tests.support.databases import fresh_database
from tests.support.fake_upstream import REPLY, FakeLlamaServer
from tests.support.gateway_process import GPTAPI, Gateway
from tests.support.platform import Platform, test_settings as settings_for
from tests.support.redis_store import REDIS_URL, redis_prefix
from tests.support.threads import wait_until

MODEL = "fake-chat"
OUTPUT_PRICE = 100  # nanos a token ($0.1 per million); prompts are free, so a request costs:
COST = len(REPLY) * OUTPUT_PRICE  # (the fake's reply is len(REPLY) tokens; max_tokens caps
# the hold at the same figure, so each admitted request holds exactly what it will cost)
COVERED = 10
DOLLARS_COVERED = f"{COST * COVERED / 1e9:.9f}"


@dataclass
class Cluster:
    platform: Platform  # in this process: the operator's console, and the books
    gateways: list[Gateway]
    env: dict[str, str]
    upstream_url: str

    @property
    def urls(self) -> list[str]:
        return [gateway.url for gateway in self.gateways]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with fresh_database("postgresql", tmp_path) as url, redis_prefix() as prefix:
        env = {"REDIS_URL": REDIS_URL, "REDIS_PREFIX": prefix}
        slow_caches = {"KEY_CACHE_TTL_SECONDS": "60", "SERVER_SYNC_SECONDS": "60"}
        platform = Platform(settings_for(url, tmp_path, redis_url=REDIS_URL, redis_prefix=prefix))
        platform.add_model(MODEL, input_price=0, output_price=OUTPUT_PRICE)
        platform.start()
        gateways: list[Gateway] = []
        with FakeLlamaServer(slots=64) as upstream:
            try:
                for index in range(3):
                    home = tmp_path / f"gateway-{index}"
                    home.mkdir()
                    gateways.append(Gateway(url, home, upstream.url, MODEL, **slow_caches, **env))
                yield Cluster(platform, gateways, {"DATABASE_URL": url, **env}, upstream.url)
            finally:
                for gateway in gateways:
                    gateway.signal()
                for gateway in gateways:
                    gateway.wait()
                platform.stop()


def test_a_thousand_requests_on_three_gateways_admit_exactly_what_the_balance_covers(
    cluster: Cluster,
) -> None:
    platform = cluster.platform
    payer = platform.account(DOLLARS_COVERED)

    outcomes = fire(cluster.urls, payer.secret, 1000, MODEL, max_tokens=len(REPLY))
    counted = statuses(outcomes)
    others = [o for o in outcomes if o.status not in (200, 429)][:3]
    assert counted == {200: COVERED, 429: 1000 - COVERED}, (counted, others)
    assert {o.code for o in outcomes if o.status == 429} == {"insufficient_quota"}
    wait_until(lambda: len(platform.usage(payer)) == COVERED)
    assert platform.balance(payer) == 0  # spent to the last nano-dollar, never below
    assert sum(usage.cost_nanos for usage in platform.usage(payer)) == COST * COVERED

    # A key's monthly spend cap is one figure too: this balance covers far more than it.
    capped = platform.account("1")

    async def cap(session: AsyncSession) -> None:
        key = update(ApiKey).where(ApiKey.id == capped.key_id)
        await session.execute(key.values(monthly_spend_cap_nanos=COST * 5))

    platform.run(cap)
    outcomes = fire(cluster.urls, capped.secret, 200, MODEL, max_tokens=len(REPLY))
    assert statuses(outcomes) == {200: 5, 429: 195}
    assert {o.code for o in outcomes if o.status == 429} == {"insufficient_quota"}
    wait_until(lambda: len(platform.usage(capped)) == 5)
    reconcile(cluster.env)


def test_rpm_revocations_and_prices_reach_every_gateway(cluster: Cluster) -> None:
    platform, gateways = cluster.platform, cluster.gateways

    # One key's RPM is one limit, wherever its requests land: 30 at once, 2 admitted (the
    # bucket refills one request every 30 seconds).
    limited = platform.account("1", rpm=2)
    assert statuses(fire(cluster.urls, limited.secret, 30, MODEL, max_tokens=4)) == {
        200: 2,
        429: 28,
    }

    # Revoked: every gateway had the key cached, and every one refuses it.
    revoked = platform.account("1")
    assert [gateway.chat(revoked).status_code for gateway in gateways] == [200, 200, 200]
    _admin(cluster, "keys", "revoke", str(revoked.key_id))
    # Generous for a busy machine, and far below the 60 s the caches would wait.
    wait_until(lambda: {g.chat(revoked).status_code for g in gateways} == {401}, timeout=5)

    # An operator's price change, made on another process's console, is charged everywhere
    # well before the catalogs' own ten-second refresh.
    operator = sign_in(platform, admin=True)
    model_id = platform.rows(select(Model.id).where(Model.internal_name == MODEL))[0]
    changed = operator.client.post(
        f"/api/admin/models/{model_id}/prices", json={"input": "0", "output": "0.2"}
    )
    assert changed.status_code == 201, changed.text
    operator.client.close()
    payer = platform.account("1")

    def charged_new_price() -> bool:
        ids = [g.chat(payer, max_tokens=len(REPLY)).headers["x-request-id"] for g in gateways]
        wait_until(lambda: all(platform.usage_for(i) is not None for i in ids))
        return all(platform.usage_for(i).cost_nanos == 2 * COST for i in ids)  # type: ignore[union-attr]

    wait_until(charged_new_price, timeout=5)

    # A server drained with the admin command takes no new request on any gateway, though
    # they re-read their servers only every minute here.
    upstream = cluster.upstream_url
    _admin(cluster, "servers", "drain", upstream)
    wait_until(lambda: {g.chat(payer).status_code for g in gateways} == {503}, timeout=5)
    _admin(cluster, "servers", "undrain", upstream)
    wait_until(lambda: {g.chat(payer).status_code for g in gateways} == {200}, timeout=5)
    assert all(httpx.get(url + "/readyz").status_code == 200 for url in cluster.urls)
    reconcile(cluster.env)


def _admin(cluster: Cluster, *command: str) -> None:
    """`gptapi admin …` as an operator runs it, against the cluster's database and Redis."""
    env = {**os.environ, **cluster.env}
    command = (GPTAPI, "admin", *command)
    subprocess.run(command, env=env, capture_output=True, timeout=60, check=True)


def test_workers_share_one_port_and_need_redis(tmp_path: Path) -> None:
    with (
        fresh_database("postgresql", tmp_path) as url,
        redis_prefix() as prefix,
        FakeLlamaServer(slots=16) as upstream,
    ):
        platform = Platform(settings_for(url, tmp_path))
        platform.add_model(MODEL, input_price=0, output_price=OUTPUT_PRICE)
        without_redis = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        refused = subprocess.run(
            [GPTAPI, "gateway", "--workers", "2"],
            env={**without_redis, "DATABASE_URL": url, "PORT": str(free_port())},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert refused.returncode == 2
        assert "without REDIS_URL" in refused.stderr, refused.stdout + refused.stderr

        payer = platform.account(DOLLARS_COVERED)
        gateway = Gateway(
            url, tmp_path, upstream.url, MODEL, "--workers", "3", REDIS_URL=REDIS_URL,
            REDIS_PREFIX=prefix,
        )  # fmt: skip
        try:
            wait_until(lambda: len(gateway.children()) == 3)
            outcomes = fire([gateway.url], payer.secret, 300, MODEL, max_tokens=len(REPLY))
            assert statuses(outcomes) == {200: COVERED, 429: 300 - COVERED}
            log = gateway.log.read_text()
            assert log.count("Application startup complete") == 3, log
            assert "background workers in process 0" in log

            # A process that dies is started again; the port never stops answering.
            victim = gateway.children()[1]
            os.kill(victim, signal.SIGKILL)
            wait_until(lambda: victim not in gateway.children(), timeout=30)
            assert gateway.chat(payer).status_code == 429  # spent, and still answered
            wait_until(lambda: len(gateway.children()) == 3, timeout=60)
            wait_until(lambda: gateway.log.read_text().count("startup complete") == 4, timeout=60)
        finally:
            gateway.signal()
            assert gateway.wait() == 0
            platform.stop()


def test_no_credit_is_served_while_redis_is_unreachable(tmp_path: Path) -> None:
    with fresh_database("sqlite", tmp_path) as url, FakeLlamaServer() as upstream:
        platform = Platform(settings_for(url, tmp_path))
        platform.add_model(MODEL, input_price=0, output_price=OUTPUT_PRICE)
        account = platform.account("1", rpm=5)
        gateway = Gateway(
            url, tmp_path, upstream.url, MODEL, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"
        )
        try:
            response = gateway.chat(account)
            assert response.status_code == 503, response.text
            assert response.json()["error"]["code"] == "service_unavailable"
            assert response.headers["retry-after"] == "1"
            assert upstream.chat_requests == []  # nothing was served on credit
            assert platform.balance(account) == 1_000_000_000
        finally:
            gateway.signal()
            gateway.wait()
            platform.stop()
