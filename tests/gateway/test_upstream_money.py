"""Money against misbehaving upstreams: a server's usage figures never charge more than the
request reserved, and a 200 the gateway cannot read is not billed.

Fake llama-servers (`tests.support.fake_upstream`) misbehave on purpose; the gateway and the
helpers are those of the fault-injection tests.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from typing import Any

import openai
import orjson
import pytest

from tests.gateway.admission import CHAT, assert_books_balance, post
from tests.gateway.test_faults import (
    CREDIT,
    HELLO,
    MODEL,
    _platform,
    assert_books,
    cost,
    frozen_health,
    on_gateway,
    sdk,
    serve,
    state,
    wait_for_queue,
    wait_records,
)
from tests.support.databases import BACKENDS
from tests.support.fake_upstream import OVER_REPORTED, REPLY, FakeLlamaServer, prompt_tokens
from tests.support.platform import Platform


@pytest.fixture(scope="module", params=BACKENDS)
def money_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def gateway(money_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    tmp = tmp_path_factory.mktemp(f"upstream-money-{money_backend}")
    yield from _platform(money_backend, tmp)


@pytest.fixture(scope="module")
def hasty(money_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """A gateway that gives a whole request one second upstream."""
    tmp = tmp_path_factory.mktemp(f"upstream-money-hasty-{money_backend}")
    yield from _platform(money_backend, tmp, upstream_total_timeout_seconds=1.0)


def suspicion(platform: Platform, fake: FakeLlamaServer) -> str:
    def read() -> str:
        servers = platform.runtime.serving.registry.servers
        return next(str(s.suspect) for s in servers if s.base_url == fake.url)

    return on_gateway(platform, read)


def test_usage_above_the_hold_charges_the_hold_and_marks_the_server(
    gateway: Platform, fakes: Any
) -> None:
    liar, honest = fakes(2)
    liar.mode = "over_usage"
    serve(gateway, liar, honest)  # both idle: the first request goes to the liar
    account = gateway.account("1")
    client = sdk(gateway, account)

    client.chat.completions.create(model=MODEL, messages=HELLO, max_tokens=4)
    [seen] = liar.chat_requests
    [record] = wait_records(gateway, account, 1)
    assert record.upstream == liar.url
    assert 0 < record.cost_nanos == record.hold_nanos
    assert (
        record.over_hold_nanos == cost(prompt_tokens(seen.body), OVER_REPORTED) - record.hold_nanos
    )
    assert gateway.balance(account) == CREDIT - record.hold_nanos > 0
    assert "over its hold" in suspicion(gateway, liar)
    assert suspicion(gateway, honest) == ""

    # With a trusted server free, the suspect one is passed over.
    client.chat.completions.create(model=MODEL, messages=HELLO, max_tokens=4)
    records = wait_records(gateway, account, 2)
    assert records[1].upstream == honest.url and records[1].over_hold_nanos == 0
    assert records[1].cost_nanos <= records[1].hold_nanos
    assert len(liar.chat_requests) == 1
    assert_books(gateway, account)


def test_a_lying_server_cannot_overdraw_a_small_balance(gateway: Platform, fakes: Any) -> None:
    [liar] = fakes(1)
    liar.mode = "over_usage"
    serve(gateway, liar)  # the only server: suspect, but still serving
    account = gateway.account("0.01")
    client = sdk(gateway, account)
    for _ in range(5):
        client.chat.completions.create(model=MODEL, messages=HELLO, max_tokens=4)
    records = wait_records(gateway, account, 5)
    assert all(r.cost_nanos == r.hold_nanos and r.over_hold_nanos > 0 for r in records)
    assert gateway.balance(account) == 10_000_000 - sum(r.hold_nanos for r in records) >= 0
    assert_books_balance(gateway, account, 10_000_000)


def test_a_200_that_is_not_json_is_a_502_and_free(gateway: Platform, fakes: Any) -> None:
    """Nothing was delivered: as any failure before output, it costs nothing."""
    [broken] = fakes(1)
    broken.mode = "not_json"
    serve(gateway, broken)
    account = gateway.account("1")
    with pytest.raises(openai.InternalServerError) as raised:
        sdk(gateway, account).chat.completions.create(model=MODEL, messages=HELLO, max_tokens=4)
    assert raised.value.status_code == 502
    [record] = wait_records(gateway, account, 1)
    assert record.status == 502 and record.outcome == "upstream_error"
    assert record.cost_nanos == 0 and record.prompt_tokens == record.completion_tokens == 0
    assert_books(gateway, account)


def test_generations_that_ran_are_billed_when_another_fails(hasty: Platform, fakes: Any) -> None:
    """n=2: the first generation completes on one server, the second hangs on another until
    the request times out. The client gets a 504; the generation that ran is billed."""
    steady, hung = fakes(2)
    hung.mode = "hang"
    serve(hasty, steady, hung)  # both idle: the first generation goes to `steady`
    account = hasty.account("1")
    with pytest.raises(openai.APIStatusError) as raised:
        sdk(hasty, account).chat.completions.create(model=MODEL, messages=HELLO, n=2)
    assert raised.value.status_code == 504
    [ran] = steady.chat_requests
    assert len(hung.chat_requests) == 1
    [record] = wait_records(hasty, account, 1)
    assert record.status == 504 and record.outcome == "timeout"
    assert (record.prompt_tokens, record.completion_tokens) == (prompt_tokens(ran.body), len(REPLY))
    assert record.cost_nanos == cost(prompt_tokens(ran.body), len(REPLY)) <= record.hold_nanos
    assert hasty.balance(account) == hasty.ledger_sum(account) == CREDIT - record.cost_nanos


def test_the_last_server_of_a_pool_is_not_ejected(gateway: Platform, fakes: Any) -> None:
    """Failures past `eject_after_failures` on the only server: it stays in, so the request
    after the blip is served rather than refused until the next health check."""
    [only] = fakes(1)
    serve(gateway, only)
    account = gateway.account("1")
    client = sdk(gateway, account)
    eject_after = gateway.settings.eject_after_failures
    with frozen_health(gateway, only):
        only.mode = "not_json"
        for _ in range(eject_after + 2):
            with pytest.raises(openai.InternalServerError):
                client.chat.completions.create(model=MODEL, messages=HELLO, max_tokens=4)
        server = state(gateway, only)
        assert server.healthy and server.failures == eject_after + 2
        only.mode = "ok"
        client.chat.completions.create(model=MODEL, messages=HELLO, max_tokens=4)
    assert state(gateway, only).failures == 0
    records = wait_records(gateway, account, eject_after + 3)
    assert [r.status for r in records] == [502] * (eject_after + 2) + [200]
    assert_books(gateway, account)


def test_a_server_with_a_healthy_peer_is_still_ejected(gateway: Platform, fakes: Any) -> None:
    flaky, steady = fakes(2)
    serve(gateway, flaky, steady)
    account = gateway.account("1")
    eject_after = gateway.settings.eject_after_failures
    with frozen_health(gateway, flaky):
        flaky.mode = "not_json"
        for _ in range(eject_after):
            with pytest.raises(openai.InternalServerError):  # each goes to the idle `flaky`
                sdk(gateway, account).chat.completions.create(
                    model=MODEL, messages=HELLO, max_tokens=4
                )
        assert not state(gateway, flaky).healthy
    assert_books(gateway, account)


def test_the_queue_takes_organisations_in_turn(gateway: Platform, fakes: Any) -> None:
    """One slot, busy; five requests of one organisation queue, then one of another. The
    second organisation's request is served after one more of the first's, not after all."""
    [server] = fakes(1, slots=1)
    serve(gateway, server)
    busy, other = gateway.account("1"), gateway.account("1")
    server.hold()
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        sent = []
        for index in range(5):
            body = {"model": MODEL, "messages": HELLO, "max_tokens": 4, "user": f"busy-{index}"}
            sent.append(pool.submit(post, gateway, busy, CHAT, orjson.dumps(body)))
            if index == 0:
                server.wait_for_chats(1)
            else:
                wait_for_queue(gateway, index)
        body = {"model": MODEL, "messages": HELLO, "max_tokens": 4, "user": "other"}
        sent.append(pool.submit(post, gateway, other, CHAT, orjson.dumps(body)))
        wait_for_queue(gateway, 5)
        server.release()
        assert [future.result().status_code for future in sent] == [200] * 6
    order = [seen.body["user"] for seen in server.chat_requests]
    assert order == ["busy-0", "busy-1", "other", "busy-2", "busy-3", "busy-4"]
    assert_books(gateway, busy)
    assert_books(gateway, other)


@pytest.fixture(scope="module")
def narrow(money_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """A queue of four per model, two per organisation."""
    tmp = tmp_path_factory.mktemp(f"upstream-money-narrow-{money_backend}")
    yield from _platform(money_backend, tmp, max_queue_per_model=4, max_queue_per_organization=2)


def test_one_organisation_cannot_fill_the_queue(narrow: Platform, fakes: Any) -> None:
    [server] = fakes(1, slots=1)
    serve(narrow, server)
    busy, other = narrow.account("1"), narrow.account("1")
    raw = orjson.dumps({"model": MODEL, "messages": HELLO, "max_tokens": 4})
    server.hold()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        running = [pool.submit(post, narrow, busy, CHAT, raw)]
        server.wait_for_chats(1)
        for depth in (1, 2):
            running.append(pool.submit(post, narrow, busy, CHAT, raw))
            wait_for_queue(narrow, depth)
        # Its line is full: its next request is turned away at once…
        refused = post(narrow, busy, CHAT, raw)
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["code"] == "rate_limit_exceeded"
        assert refused.headers["retry-after"] == "1"
        # … while another organisation still gets a place.
        running.append(pool.submit(post, narrow, other, CHAT, raw))
        wait_for_queue(narrow, 3)
        server.release()
        assert [future.result().status_code for future in running] == [200] * 4
    assert len(narrow.usage(other)) == 1
    assert_books(narrow, busy)
    assert_books(narrow, other)
