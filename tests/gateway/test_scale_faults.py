"""Faults under load, on three real `gptapi gateway` processes sharing a PostgreSQL cluster
and a Redis of this module's own: a gateway killed with SIGKILL, Redis stopped and started
again empty, PostgreSQL stopped and started. Whatever happens, every answered request is
billed once, nothing is served on credit that was not there, refusals say they are
retryable, and the books balance afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gptapi.kit.migrate import upgrade
from tests.gateway.load import Outcome, SteadyLoad, reconcile
from tests.support.fake_upstream import REPLY, FakeLlamaServer
from tests.support.gateway_process import Gateway
from tests.support.platform import Account, Platform, test_settings as settings_for
from tests.support.private_servers import PrivatePostgres, PrivateRedis
from tests.support.threads import wait_until

MODEL = "fake-chat"
OUTPUT_PRICE = 100  # nanos a token; prompts are free
COST = len(REPLY) * OUTPUT_PRICE  # what each request costs, and holds


@dataclass
class Servers:
    postgres: PrivatePostgres
    redis: PrivateRedis
    upstream: FakeLlamaServer
    platform: Platform  # in this process: the books

    @property
    def env(self) -> dict[str, str]:
        return {"DATABASE_URL": self.postgres.url, "REDIS_URL": self.redis.url}


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    tmp = tmp_path_factory.mktemp("scale-faults")
    postgres = PrivatePostgres().start()
    redis = PrivateRedis(tmp).start()
    upstream = FakeLlamaServer(slots=64).start()
    try:
        upgrade(postgres.url)
        platform = Platform(settings_for(postgres.url, tmp))
        platform.add_model(MODEL, input_price=0, output_price=OUTPUT_PRICE)
        yield Servers(postgres, redis, upstream, platform)
        platform.stop()
    finally:
        upstream.stop()
        redis.stop()
        postgres.close()


@pytest.fixture
def gateways(servers: Servers, tmp_path: Path) -> Iterator[list[Gateway]]:
    started: list[Gateway] = []
    try:
        for index in range(3):
            home = tmp_path / f"gateway-{index}"
            home.mkdir()
            started.append(
                Gateway(
                    servers.postgres.url,
                    home,
                    servers.upstream.url,
                    MODEL,
                    REDIS_URL=servers.redis.url,
                    RUN_WORKERS="false",
                    # Keys stay cached through a database restart.
                    KEY_CACHE_TTL_SECONDS="60",
                )
            )
        yield started
    finally:
        for gateway in started:
            gateway.signal()
        for gateway in started:
            gateway.wait()


def _load(gateways: list[Gateway], account: Account) -> SteadyLoad:
    urls = [gateway.url for gateway in gateways]
    return SteadyLoad(urls, account.secret, MODEL, clients=6, max_tokens=len(REPLY))


def _billed_once(servers: Servers, account: Account, start: int, outcomes: list[Outcome]) -> None:
    """Every answered request has its one usage row and ledger entry; the balance is what
    it was less exactly their cost; `gptapi admin reconcile` agrees."""
    platform = servers.platform
    answered = {o.request_id for o in outcomes if o.status == 200}
    wait_until(lambda: answered <= {u.request_id for u in platform.usage(account)}, timeout=60)
    usage = platform.usage(account)
    assert len({u.request_id for u in usage}) == len(usage)
    spent = sum(u.cost_nanos for u in usage)
    assert platform.balance(account) == start - spent >= 0
    assert platform.ledger_sum(account) == start - spent
    reconcile(servers.env)


def _retryable(outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        if outcome.status == 503:
            assert outcome.code == "service_unavailable" and outcome.retry_after, outcome


def test_a_gateway_killed_mid_load_loses_and_doubles_nothing(
    servers: Servers, gateways: list[Gateway]
) -> None:
    payer = servers.platform.account("1")
    start = servers.platform.balance(payer)
    victim, survivors = gateways[1], {gateways[0].url, gateways[2].url}
    with _load(gateways, payer) as load:
        wait_until(lambda: load.count(200) >= 30, timeout=60)
        victim.process.kill()
        victim.process.wait()
        mark = len(load.outcomes)

        def survivors_answered() -> int:
            later = load.outcomes[mark:]
            return sum(1 for o in later if o.status == 200 and o.url in survivors)

        wait_until(lambda: survivors_answered() >= 30, timeout=60)  # the others carry on
    outcomes = load.outcomes
    assert {o.status for o in outcomes} <= {200, 503, None}, outcomes
    assert all(o.url == victim.url for o in outcomes if o.status is None)
    _retryable(outcomes)
    _billed_once(servers, payer, start, outcomes)


def test_redis_stopped_and_started_empty_mid_load(
    servers: Servers, gateways: list[Gateway]
) -> None:
    covered = 60
    payer = servers.platform.account(f"{COST * covered / 1e9:.9f}")
    with _load(gateways, payer) as load:
        wait_until(lambda: load.count(200) >= 10, timeout=60)
        servers.redis.stop()
        mark = len(load.outcomes)
        wait_until(lambda: load.count(503, mark) >= 6, timeout=60)
        servers.redis.start()  # with nothing in it
        # The same gateways, never restarted, spend the rest and then refuse.
        wait_until(lambda: load.count(429, mark) >= 12, timeout=120)
    outcomes = load.outcomes
    assert {o.status for o in outcomes} <= {200, 429, 503}, outcomes
    assert load.count(200) == covered  # never more than the balance covers
    assert {o.code for o in outcomes if o.status == 429} == {"insufficient_quota"}
    _retryable(outcomes)
    _billed_once(servers, payer, COST * covered, outcomes)
    assert servers.platform.balance(payer) == 0


def test_postgres_stopped_and_started_mid_load(servers: Servers, gateways: list[Gateway]) -> None:
    payer = servers.platform.account("1")
    newcomer = servers.platform.account("1")  # no gateway has seen its key
    start = servers.platform.balance(payer)
    for gateway in gateways:  # each has the key and the balance before the outage
        assert gateway.chat(payer, max_tokens=len(REPLY)).status_code == 200
    with _load(gateways, payer) as load:
        wait_until(lambda: load.count(200) >= 20, timeout=60)
        servers.postgres.stop()
        mark = len(load.outcomes)
        refused = gateways[0].chat(newcomer)
        # Admitted and answered meanwhile, each once its wait for the commit gives up.
        wait_until(lambda: load.count(200, mark) >= 6, timeout=60)
        servers.postgres.start()
        mark = len(load.outcomes)
        wait_until(lambda: load.count(200, mark) >= 30, timeout=60)
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "service_unavailable"
    assert refused.headers["retry-after"] == "1"
    outcomes = load.outcomes
    assert {o.status for o in outcomes} <= {200, 503}, [o for o in outcomes if o.status != 200]
    _retryable(outcomes)
    _billed_once(servers, payer, start, outcomes)
