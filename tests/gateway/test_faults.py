"""Fault injection: the gateway against fake llama-servers that fail on purpose.

Each test gets its own fakes (`tests.support.fake_upstream`) and points the model's pool at
them at run time; every test checks what the client saw and what was billed (the usage
record, and balance == ledger sum == credit minus recorded costs, with no hold left open).
Three gateways run per database backend: `gateway` with the usual test timeouts (and a
short queue), `impatient` with a one-second upstream read timeout and a half-second queue
wait, `hasty` with a one-second total upstream timeout.

No test sleeps or measures time: the fakes hold, stall or trickle until told otherwise, and
the tests wait for observable state (what a fake received, the registry's view of a server,
the pool's queue) with `wait_until`. The only clocks are the timeouts those gateways exist
to exercise.
"""

from __future__ import annotations

import concurrent.futures
import json
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import openai
import pytest

from gptapi.admin import service
from gptapi.gateway.upstream.registry import ServerSpec
from tests.support.databases import BACKENDS, fresh_database
from tests.support.fake_upstream import REPLY, FakeLlamaServer, prompt_tokens
from tests.support.platform import Account, Platform, test_settings as settings_for
from tests.support.threads import wait_until

T = TypeVar("T")

MODEL = "fake-chat"
INPUT_PRICE, OUTPUT_PRICE = 1000, 2000  # nano-dollars per token
CREDIT = 1_000_000_000  # $1
HELLO: Any = [{"role": "user", "content": "Say hello."}]  # Any: the SDK wants TypedDicts
SOURCE = "faults"
N_CTX = 2048
MAX_QUEUE = 3


def cost(prompt: int, completion: int) -> int:
    return prompt * INPUT_PRICE + completion * OUTPUT_PRICE


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module", params=BACKENDS)
def fault_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _platform(backend: str, tmp: Path, **overrides: Any) -> Iterator[Platform]:
    with fresh_database(backend, tmp) as url:
        platform = Platform(settings_for(url, tmp, **overrides))
        platform.add_model(MODEL, input_price=INPUT_PRICE, output_price=OUTPUT_PRICE)
        platform.start()
        try:
            yield platform
        finally:
            platform.stop()


@pytest.fixture(scope="module")
def gateway(fault_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    tmp = tmp_path_factory.mktemp(f"faults-{fault_backend}")
    yield from _platform(fault_backend, tmp, max_queue_per_model=MAX_QUEUE)


@pytest.fixture(scope="module")
def impatient(fault_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    tmp = tmp_path_factory.mktemp(f"faults-impatient-{fault_backend}")
    yield from _platform(
        fault_backend, tmp, upstream_read_timeout_seconds=1.0, queue_timeout_seconds=0.5
    )


@pytest.fixture(scope="module")
def hasty(fault_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    tmp = tmp_path_factory.mktemp(f"faults-hasty-{fault_backend}")
    yield from _platform(fault_backend, tmp, upstream_total_timeout_seconds=1.0)


# ---------------------------------------------------------------------------- the gateway


def on_gateway(platform: Platform, fn: Callable[[], T]) -> T:
    """Run `fn` on the gateway's event loop (its registry is not thread-safe) and wait."""
    loop = platform.runtime.tasks[0].get_loop()
    future: concurrent.futures.Future[T] = concurrent.futures.Future()

    def run() -> None:
        try:
            future.set_result(fn())
        except BaseException as exc:
            future.set_exception(exc)

    loop.call_soon_threadsafe(run)
    return future.result(10)


@dataclass(frozen=True)
class ServerState:
    healthy: bool
    failures: int
    in_flight: int
    slots: int
    draining: bool
    last_error: str


def state(platform: Platform, fake: FakeLlamaServer) -> ServerState:
    def read() -> ServerState:
        for server in platform.runtime.serving.registry.servers:
            if server.base_url == fake.url:
                return ServerState(
                    server.healthy,
                    server.consecutive_failures,
                    server.in_flight,
                    server.slots,
                    MODEL in server.draining_for,
                    server.last_error,
                )
        raise LookupError(fake.url)

    return on_gateway(platform, read)


def queue_depth(platform: Platform) -> int:
    def read() -> int:
        pool = platform.runtime.serving.registry.pool(MODEL)
        return len(pool.waiters) if pool else 0

    return on_gateway(platform, read)


def wait_for_queue(platform: Platform, depth: int) -> None:
    wait_until(lambda: queue_depth(platform) == depth, timeout=10)


def serve(platform: Platform, *fakes: FakeLlamaServer) -> None:
    """Make `fakes` (in this order) the model's pool and wait until the gateway uses them."""
    platform.set_servers(SOURCE, [ServerSpec(model=MODEL, base_url=f.url) for f in fakes])
    # A healthy server's slots come from its /props; an unhealthy one keeps the default.
    expected = [(f.url, f.health == "ok", f.slots if f.health == "ok" else 1) for f in fakes]

    def ready() -> bool:
        def read() -> list[tuple[str, bool, int]]:
            pool = platform.runtime.serving.registry.pool(MODEL)
            return [(s.base_url, s.healthy, s.slots) for s in (pool.servers if pool else [])]

        return on_gateway(platform, read) == expected

    wait_until(ready, timeout=15)


def set_server_state(platform: Platform, fake: FakeLlamaServer, value: str) -> None:
    async def work() -> None:
        async with platform.sessions() as session, session.begin():
            await service.set_server_state(session, fake.url, MODEL, value)

    platform.portal.call(work())
    wait_until(lambda: state(platform, fake).draining == (value == "draining"), timeout=10)


def wait_health_cycle(platform: Platform, witness: FakeLlamaServer) -> None:
    """Wait until a health-check round that started after now has finished probing.

    Rounds run one after another; the second probe `witness` receives from now on belongs
    to a round that began after the previous one (and every probe in it) had finished.
    """
    seen = witness.probes()
    wait_until(lambda: witness.probes() >= seen + 2, timeout=10)


@contextmanager
def frozen_health(platform: Platform, *fakes: FakeLlamaServer) -> Iterator[None]:
    """The health checker leaves `fakes` alone: only requests change what the gateway thinks
    of them (so an ejection is not undone by a probe racing the test)."""
    health = platform.runtime.health
    urls = {f.url for f in fakes}
    real_check = type(health).check

    async def check(server: Any) -> bool:
        if server.base_url in urls:
            return bool(server.healthy)
        return bool(await real_check(health, server))

    on_gateway(platform, lambda: setattr(health, "check", check))
    try:
        yield
    finally:
        on_gateway(platform, lambda: delattr(health, "check"))


def available(platform: Platform, account: Account) -> int | None:
    accounts = platform.runtime.serving.accounts
    value = on_gateway(platform, lambda: accounts.available(account.organization_id))
    return None if value is None else int(value)


def assert_books(platform: Platform, account: Account) -> None:
    """Balance == ledger sum == credit minus every recorded cost, and no hold left open."""
    records = platform.usage(account)
    balance = platform.balance(account)
    assert balance == platform.ledger_sum(account) == CREDIT - sum(r.cost_nanos for r in records)
    # None: the gateway never held anything for this organisation.
    wait_until(lambda: available(platform, account) in (None, balance), timeout=10)


def wait_records(platform: Platform, account: Account, count: int) -> list[Any]:
    wait_until(lambda: len(platform.usage(account)) >= count, timeout=15)
    records = platform.usage(account)
    assert len(records) == count
    return records


# ---------------------------------------------------------------------------- clients


def sdk(platform: Platform, account: Account, **kwargs: Any) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=platform.url + "/v1", api_key=account.secret, max_retries=0, **kwargs
    )


def chat_body(stream: bool = False, **fields: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": HELLO, "stream": stream, **fields}


def sse(platform: Platform, account: Account, body: dict[str, Any]) -> tuple[int, list[Any]]:
    """POST a streaming request; the status and every `data:` payload ("[DONE]" as is)."""
    headers = {"authorization": f"Bearer {account.secret}"}
    with (
        httpx.Client(timeout=30) as http,
        http.stream("POST", platform.url + "/v1/chat/completions", json=body, headers=headers) as r,
    ):
        events: list[Any] = []
        for line in r.iter_lines():
            if line.startswith("data: "):
                payload = line[len("data: ") :]
                events.append(payload if payload == "[DONE]" else json.loads(payload))
        return r.status_code, events


@contextmanager
def open_request(platform: Platform, account: Account, body: dict[str, Any]) -> Iterator[None]:
    """Send a request on a raw socket and hang up (without reading) when the block ends."""
    payload = json.dumps(body).encode()
    port = int(platform.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\n"
            + f"Authorization: Bearer {account.secret}\r\n".encode()
            + b"Content-Type: application/json\r\n"
            + f"Content-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        yield


def text_of(chunks: list[dict[str, Any]]) -> str:
    return "".join(
        c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices")
    )


def collect(stream: Any, into: list[str]) -> None:
    """Append each SDK chunk's text to `into` (kept when the stream raises midway)."""
    for chunk in stream:
        into.append(chunk.choices[0].delta.content or "" if chunk.choices else "")


def reply(tokens: int) -> str:
    return "".join(REPLY[:tokens])


# ---------------------------------------------------------------------------- 1. first byte


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("fault", ["unavailable", "reset"])
def test_failure_before_first_byte_is_retried_on_another_server(
    gateway: Platform, fakes: Any, fault: str, stream: bool
) -> None:
    bad, good = fakes(2)
    bad.mode = fault  # 503 "Loading model", or the connection closed without an answer
    serve(gateway, bad, good)
    account = gateway.account("1")
    client = sdk(gateway, account)

    if stream:
        chunks = list(
            client.chat.completions.create(
                model=MODEL,
                messages=HELLO,
                max_tokens=5,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        usage = chunks[-1].usage
    else:
        completion = client.chat.completions.create(
            model=MODEL,
            messages=HELLO,
            max_tokens=5,
        )
        text = completion.choices[0].message.content or ""
        usage = completion.usage
    assert text == reply(5)
    assert usage is not None

    assert len(bad.chat_requests) == 1  # tried first (idle pool, first server) …
    assert len(good.chat_requests) == 1  # … then once elsewhere
    [record] = gateway.usage(account)
    prompt = prompt_tokens(good.chat_requests[0].body)
    assert (usage.prompt_tokens, usage.completion_tokens) == (prompt, 5)
    assert (record.prompt_tokens, record.completion_tokens) == (prompt, 5)
    assert record.outcome == "completed" and record.metered_by == "upstream"
    assert record.status == 200 and record.upstream == good.url
    assert record.cost_nanos == cost(prompt, 5)
    assert_books(gateway, account)

    bad_state = state(gateway, bad)
    assert bad_state.failures == 1 and bad_state.last_error
    metrics = httpx.get(gateway.url + "/metrics").text
    assert f'gptapi_upstream_retries_total{{model="{MODEL}"}}' in metrics
    assert bad_state.healthy  # one failure is not enough to eject it


def test_dead_server_is_retried_around_ejected_and_readmitted(
    gateway: Platform, fakes: Any
) -> None:
    dead, good = fakes(2)
    serve(gateway, dead, good)
    account = gateway.account("1")
    client = sdk(gateway, account)
    eject_after = gateway.settings.eject_after_failures
    assert eject_after >= 2

    with frozen_health(gateway, dead):
        wait_health_cycle(gateway, good)  # no probe of `dead` is still in flight
        dead.stop()  # connection refused from now on
        for attempt in range(1, eject_after + 1):
            completion = client.chat.completions.create(model=MODEL, messages=HELLO)
            assert completion.choices[0].message.content == reply(len(REPLY))
            dead_state = state(gateway, dead)
            assert dead_state.failures == attempt
            assert dead_state.healthy == (attempt < eject_after)
        assert dead_state.last_error

        # Ejected: no longer tried at all.
        client.chat.completions.create(model=MODEL, messages=HELLO)
        assert state(gateway, dead).failures == eject_after

        dead.health = "loading"
        dead.start()  # back on the same URL, but still loading its model

    # Health checks apply to it again: a 503 from /health keeps it out …
    wait_health_cycle(gateway, dead)
    assert not state(gateway, dead).healthy
    client.chat.completions.create(model=MODEL, messages=HELLO)
    assert dead.chat_requests == []

    # … and a 200 brings it back, with a clean slate.
    dead.health = "ok"
    wait_until(lambda: state(gateway, dead).healthy, timeout=10)
    assert state(gateway, dead).failures == 0
    client.chat.completions.create(model=MODEL, messages=HELLO)
    assert len(dead.chat_requests) == 1

    records = gateway.usage(account)
    assert len(records) == eject_after + 3
    assert all(r.outcome == "completed" and r.metered_by == "upstream" for r in records)
    assert [r.upstream for r in records] == [good.url] * (eject_after + 2) + [dead.url]
    assert_books(gateway, account)


def test_loading_server_gets_no_traffic(gateway: Platform, fakes: Any) -> None:
    loading, good = fakes(2)
    loading.health = "loading"
    serve(gateway, loading, good)
    wait_health_cycle(gateway, loading)
    account = gateway.account("1")
    for _ in range(3):
        sdk(gateway, account).chat.completions.create(model=MODEL, messages=HELLO)
    assert loading.chat_requests == [] and len(good.chat_requests) == 3
    assert_books(gateway, account)


def test_no_healthy_server_is_a_503_and_free(gateway: Platform, fakes: Any) -> None:
    [down] = fakes(1)
    down.mode = "unavailable"
    serve(gateway, down)
    account = gateway.account("1")
    with pytest.raises(openai.InternalServerError) as error:
        sdk(gateway, account).chat.completions.create(model=MODEL, messages=HELLO)
    assert error.value.status_code == 503
    assert error.value.response.headers.get("retry-after")
    [record] = gateway.usage(account)
    assert record.cost_nanos == 0 and record.status == 503
    assert_books(gateway, account)


# ---------------------------------------------------------------------------- 2. mid-stream


@pytest.mark.parametrize("counted_by", ["itself", "peer"])
@pytest.mark.parametrize("fault", ["error_mid_stream", "drop_mid_stream"])
def test_failure_mid_stream_ends_with_an_error_and_bills_what_was_delivered(
    gateway: Platform, fakes: Any, fault: str, counted_by: str
) -> None:
    if counted_by == "peer":
        flaky, counter = fakes(2)
        flaky.counting = "broken"  # whatever broke it cannot count either: its peer does
        serve(gateway, flaky, counter)
    else:
        [flaky] = fakes(1)
        counter = flaky
        serve(gateway, flaky)
    flaky.mode = fault
    flaky.fault_after = 3
    account = gateway.account("1")

    status, events = sse(gateway, account, chat_body(stream=True))
    assert status == 200
    *chunks, error, done = events
    assert done == "[DONE]"
    assert set(error) == {"error"}
    assert error["error"]["type"] == "server_error" and error["error"]["code"] == "upstream_error"
    if fault == "error_mid_stream":
        assert error["error"]["message"] == "llama_decode failed: out of memory"
    assert text_of(chunks) == reply(3)
    assert all(c["model"] == MODEL and "usage" not in c for c in chunks)

    # The official SDK raises once it reaches the error event, after the delivered text.
    received: list[str] = []
    stream = sdk(gateway, account).chat.completions.create(
        model=MODEL,
        messages=HELLO,
        stream=True,
    )
    with pytest.raises(openai.APIError) as raised:
        collect(stream, received)
    assert "".join(received) == reply(3)
    assert raised.value.body == error["error"] or fault == "drop_mid_stream"

    records = gateway.usage(account)
    assert len(records) == 2
    prompt = prompt_tokens(flaky.chat_requests[0].body)
    for record in records:
        assert record.outcome == "upstream_error" and record.metered_by == "counted"
        assert record.upstream == flaky.url
        assert (record.prompt_tokens, record.completion_tokens) == (prompt, 3)
        assert record.cost_nanos == cost(prompt, 3) > 0
    tokenized = [r.body for r in counter.count_requests if r.path == "/tokenize"]
    assert {"content": reply(3), "add_special": False} in tokenized
    assert len(flaky.chat_requests) == 2  # a stream that has started is never retried
    assert state(gateway, flaky).failures == 2
    assert_books(gateway, account)


def test_server_that_breaks_every_stream_is_ejected(gateway: Platform, fakes: Any) -> None:
    flaky, steady = fakes(2)
    flaky.mode = "error_mid_stream"
    serve(gateway, flaky, steady)
    account = gateway.account("1")
    eject_after = gateway.settings.eject_after_failures

    with frozen_health(gateway, flaky):  # only requests judge it here
        wait_health_cycle(gateway, steady)
        for attempt in range(1, eject_after + 1):
            _, events = sse(gateway, account, chat_body(stream=True))
            assert "error" in events[-2] and events[-1] == "[DONE]"
            flaky_state = state(gateway, flaky)
            assert flaky_state.failures == attempt
            assert flaky_state.healthy == (attempt < eject_after)
        _, events = sse(gateway, account, chat_body(stream=True))
        assert text_of(events[:-1]) == reply(len(REPLY))
        assert all("error" not in e for e in events[:-1])

    assert len(flaky.chat_requests) == eject_after and len(steady.chat_requests) == 1
    records = gateway.usage(account)
    assert [r.outcome for r in records] == ["upstream_error"] * eject_after + ["completed"]
    assert [r.metered_by for r in records] == ["counted"] * eject_after + ["upstream"]
    assert all(r.cost_nanos > 0 for r in records)
    assert_books(gateway, account)


# ---------------------------------------------------------------------------- 3. hangs


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_upstream_that_never_answers_is_a_504_and_free(
    impatient: Platform, fakes: Any, stream: bool
) -> None:
    hung, spare = fakes(2)
    hung.mode = "hang"
    serve(impatient, hung, spare)
    account = impatient.account("1")

    with pytest.raises(openai.InternalServerError) as error:
        sdk(impatient, account).chat.completions.create(
            model=MODEL,
            messages=HELLO,
            stream=stream,
        )
    assert error.value.status_code == 504
    assert error.value.code == "timeout"

    # It gave up on the request: the connection is closed, so llama-server frees the slot.
    wait_until(lambda: hung.chat_requests[0].closed_early, timeout=5)
    # The upstream took the request and may still be working on it: it is not run twice.
    assert len(hung.chat_requests) == 1 and spare.chat_requests == []
    [record] = impatient.usage(account)
    assert record.outcome == "timeout" and record.status == 504
    assert (record.prompt_tokens, record.completion_tokens, record.cost_nanos) == (0, 0, 0)
    assert impatient.balance(account) == CREDIT
    assert_books(impatient, account)  # the hold was released
    assert state(impatient, hung).in_flight == 0


def test_stream_that_stalls_is_cut_and_billed_for_what_was_delivered(
    impatient: Platform, fakes: Any
) -> None:
    [stalled] = fakes(1)
    stalled.mode = "stall_mid_stream"
    stalled.fault_after = 3
    serve(impatient, stalled)
    account = impatient.account("1")

    status, events = sse(impatient, account, chat_body(stream=True))
    assert status == 200
    *chunks, error, done = events
    assert done == "[DONE]"
    assert error["error"]["code"] == "timeout"
    assert text_of(chunks) == reply(3)

    wait_until(lambda: stalled.chat_requests[0].closed_early, timeout=5)
    [record] = impatient.usage(account)
    prompt = prompt_tokens(stalled.chat_requests[0].body)
    assert record.outcome == "timeout" and record.metered_by == "counted"
    assert (record.prompt_tokens, record.completion_tokens) == (prompt, 3)
    assert record.cost_nanos == cost(prompt, 3)
    assert_books(impatient, account)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_total_timeout_before_the_first_byte_is_a_504(
    hasty: Platform, fakes: Any, stream: bool
) -> None:
    [hung] = fakes(1)
    hung.mode = "hang"
    serve(hasty, hung)
    account = hasty.account("1")
    with pytest.raises(openai.InternalServerError) as error:
        sdk(hasty, account).chat.completions.create(model=MODEL, messages=HELLO, stream=stream)
    assert error.value.status_code == 504 and error.value.code == "timeout"
    wait_until(lambda: hung.chat_requests[0].closed_early, timeout=5)
    [record] = hasty.usage(account)
    assert record.outcome == "timeout" and record.status == 504 and record.cost_nanos == 0
    assert state(hasty, hung).in_flight == 0
    assert_books(hasty, account)


def test_total_timeout_cuts_a_runaway_stream_and_bills_what_was_delivered(
    hasty: Platform, fakes: Any
) -> None:
    [runaway] = fakes(1)
    runaway.mode = "trickle"  # tokens keep coming, never a finish
    runaway.hold()
    serve(hasty, runaway)
    account = hasty.account("1")

    status, events = sse(hasty, account, chat_body(stream=True))
    assert status == 200
    *chunks, error, done = events
    assert done == "[DONE]" and error["error"]["code"] == "timeout"
    delivered = sum(1 for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content"))
    assert delivered > 0

    wait_until(lambda: runaway.chat_requests[0].closed_early, timeout=5)
    [record] = hasty.usage(account)
    prompt = prompt_tokens(runaway.chat_requests[0].body)
    assert record.outcome == "timeout" and record.metered_by == "counted"
    assert (record.prompt_tokens, record.completion_tokens) == (prompt, delivered)
    assert record.cost_nanos == cost(prompt, delivered)
    assert_books(hasty, account)


# ---------------------------------------------------------------------------- 4. client disconnects


def test_client_disconnect_mid_stream_cancels_upstream_and_bills_delivered(
    gateway: Platform, fakes: Any
) -> None:
    [fake] = fakes(1)
    fake.mode = "stall_mid_stream"  # three tokens, then the model "thinks" forever
    fake.fault_after = 3
    serve(gateway, fake)
    account = gateway.account("1")

    read = 0
    headers = {"authorization": f"Bearer {account.secret}"}
    with (
        httpx.Client(timeout=30) as http,
        http.stream(
            "POST",
            gateway.url + "/v1/chat/completions",
            json=chat_body(stream=True),
            headers=headers,
        ) as response,
    ):
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: ") and json.loads(line[6:])["choices"][0]["delta"].get(
                "content"
            ):
                read += 1
                if read == 2:
                    break
    # The client is gone: the gateway must close the upstream request too.
    wait_until(lambda: fake.chat_requests[0].closed_early, timeout=5)

    [record] = wait_records(gateway, account, 1)
    prompt = prompt_tokens(fake.chat_requests[0].body)
    assert record.outcome == "client_disconnect" and record.metered_by == "counted"
    assert record.completion_tokens >= read
    assert record.completion_tokens == 3  # everything that was relayed
    assert record.prompt_tokens == prompt
    assert record.cost_nanos == cost(prompt, 3) > 0
    assert state(gateway, fake).in_flight == 0
    assert_books(gateway, account)


def test_client_disconnect_while_waiting_for_a_completion(gateway: Platform, fakes: Any) -> None:
    [fake] = fakes(1)
    fake.mode = "hang"  # a long non-streaming generation
    serve(gateway, fake)
    account = gateway.account("1")

    with open_request(gateway, account, chat_body()):
        fake.wait_for_chats(1)
    # Socket closed while the upstream works: the gateway cancels the upstream request.
    wait_until(lambda: fake.chat_requests[0].closed_early, timeout=5)

    [record] = wait_records(gateway, account, 1)
    prompt = prompt_tokens(fake.chat_requests[0].body)
    assert record.outcome == "client_disconnect" and record.status == 499
    assert record.metered_by == "counted"
    assert (record.prompt_tokens, record.completion_tokens) == (prompt, 0)
    assert record.cost_nanos == cost(prompt, 0)
    assert state(gateway, fake).in_flight == 0
    assert_books(gateway, account)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_client_disconnect_while_queued_is_free_and_never_sent(
    gateway: Platform, fakes: Any, stream: bool
) -> None:
    [fake] = fakes(1, slots=1)
    serve(gateway, fake)
    account = gateway.account("1")
    fake.hold()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        client = sdk(gateway, account)
        busy = pool.submit(lambda: client.chat.completions.create(model=MODEL, messages=HELLO))
        fake.wait_for_chats(1)
        with open_request(gateway, account, chat_body(stream=stream)):
            wait_for_queue(gateway, 1)
        # Gone while waiting for a slot: it leaves the queue at once, unbilled.
        wait_for_queue(gateway, 0)
        [gone] = wait_records(gateway, account, 1)
        fake.release()
        assert busy.result(timeout=30).choices[0].message.content

    assert len(fake.chat_requests) == 1  # it never reached the model
    assert gone.outcome == "client_disconnect" and gone.status == 499
    assert (gone.prompt_tokens, gone.completion_tokens, gone.cost_nanos) == (0, 0, 0)
    records = wait_records(gateway, account, 2)
    assert records[1].outcome == "completed"
    assert_books(gateway, account)


# ---------------------------------------------------------------------------- 5. slots


@pytest.mark.parametrize("slots", [1, 2])
def test_requests_beyond_the_slots_wait_in_order_and_overflow_gets_503(
    gateway: Platform, fakes: Any, slots: int
) -> None:
    [fake] = fakes(1, slots=slots)
    serve(gateway, fake)
    account = gateway.account("1")
    client = sdk(gateway, account)
    fake.hold()
    total = slots + MAX_QUEUE

    def ask(i: int) -> Any:
        messages: Any = [{"role": "user", "content": f"request {i}"}]
        return client.chat.completions.create(model=MODEL, messages=messages, max_tokens=3)

    with concurrent.futures.ThreadPoolExecutor(total) as pool:
        futures = [pool.submit(ask, i) for i in range(slots)]
        fake.wait_for_chats(slots)
        for i in range(slots, total):
            futures.append(pool.submit(ask, i))
            wait_for_queue(gateway, i - slots + 1)
        # The queue is full: one more is turned away at once, with a hint when to retry.
        with pytest.raises(openai.InternalServerError) as overloaded:
            ask(total)
        assert overloaded.value.status_code == 503
        assert overloaded.value.code == "model_overloaded"
        assert int(overloaded.value.response.headers["retry-after"]) >= 1
        assert len(fake.chat_requests) == slots and fake.in_flight == slots
        fake.release()
        results = [f.result(timeout=30) for f in futures]

    assert all(r.choices[0].message.content == reply(3) for r in results)
    arrivals = [int(r.body["messages"][0]["content"].split()[1]) for r in fake.chat_requests]
    if slots == 1:
        assert arrivals == list(range(total))  # first come, first served
    else:
        assert sorted(arrivals[:slots]) == list(range(slots))
        assert sorted(arrivals[slots:]) == list(range(slots, total))
    assert fake.max_in_flight == slots  # never more than the server's slots
    records = gateway.usage(account)
    assert sorted(r.status for r in records) == [200] * total + [503]
    assert all(r.cost_nanos == 0 for r in records if r.status == 503)
    assert_books(gateway, account)


def test_queue_wait_is_bounded(impatient: Platform, fakes: Any) -> None:
    [fake] = fakes(1, slots=1)
    fake.mode = "trickle"  # a long generation: tokens keep coming until released
    serve(impatient, fake)
    account = impatient.account("1")
    fake.hold()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        long = pool.submit(sse, impatient, account, chat_body(stream=True))
        wait_until(lambda: fake.chat_requests and fake.chat_requests[0].chunks_sent > 0)
        with pytest.raises(openai.InternalServerError) as overloaded:
            sdk(impatient, account).chat.completions.create(model=MODEL, messages=HELLO)
        assert overloaded.value.status_code == 503
        assert overloaded.value.response.headers.get("retry-after")
        assert len(fake.chat_requests) == 1
        fake.release()
        status, events = long.result(timeout=30)

    assert status == 200 and events[-1] == "[DONE]"
    assert fake.max_in_flight == 1
    records = impatient.usage(account)
    assert sorted((r.status, r.outcome) for r in records) == [
        (200, "completed"),
        (503, "upstream_unavailable"),
    ]
    assert_books(impatient, account)


# ---------------------------------------------------------------------------- 6. drain


def test_drained_server_gets_no_new_requests_and_finishes_its_own(
    gateway: Platform, fakes: Any
) -> None:
    first, second = fakes(2)
    serve(gateway, first, second)
    account = gateway.account("1")
    client = sdk(gateway, account)

    def ask() -> Any:
        return client.chat.completions.create(model=MODEL, messages=HELLO)

    ask()
    assert (len(first.chat_requests), len(second.chat_requests)) == (1, 0)

    first.hold()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(ask)
        first.wait_for_chats(2)
        set_server_state(gateway, first, "draining")
        first.release()
        assert in_flight.result(timeout=30).choices[0].message.content  # finishes normally
    for _ in range(3):
        ask()
    assert (len(first.chat_requests), len(second.chat_requests)) == (2, 3)

    set_server_state(gateway, first, "active")
    ask()
    assert (len(first.chat_requests), len(second.chat_requests)) == (3, 3)

    records = gateway.usage(account)
    assert [r.upstream for r in records] == [first.url] * 2 + [second.url] * 3 + [first.url]
    assert all(r.outcome == "completed" for r in records)
    assert_books(gateway, account)


def test_models_report_what_every_server_of_the_pool_takes(gateway: Platform, fakes: Any) -> None:
    seeing, blind = fakes(2)
    seeing.modalities = {"vision": True, "audio": True}
    seeing.n_ctx, blind.n_ctx = 4096, 1024
    account = gateway.account("1")

    def described() -> tuple[dict[str, Any], int | None]:
        model = sdk(gateway, account).models.retrieve(MODEL).model_extra or {}
        return model["capabilities"], model["context_length"]

    serve(gateway, seeing)
    capabilities, context_length = described()
    assert capabilities["vision"] and capabilities["audio"] and context_length == 4096
    # A pool is as capable as its least capable server: any of them may get the request.
    serve(gateway, seeing, blind)
    capabilities, context_length = described()
    assert not capabilities["vision"] and not capabilities["audio"] and context_length == 1024
    assert capabilities["tools"] and capabilities["chat"] and not capabilities["embeddings"]


# ---------------------------------------------------------------------------- 7. pass-through

RESPONSE_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "answer",
        "schema": {"type": "object", "properties": {"a": {"type": "integer"}}},
    },
}


def test_parameters_pass_through_unchanged(gateway: Platform, fakes: Any) -> None:
    # (Tools are not among them: the gateway constrains tool calls itself, see test_tools.)
    [fake] = fakes(1)
    serve(gateway, fake)
    account = gateway.account("1")
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
    ]
    sent: dict[str, Any] = {
        "model": MODEL,
        "messages": messages,
        "response_format": RESPONSE_FORMAT,
        "temperature": 0.3,
        "top_p": 0.9,
        "seed": 7,
        "stop": ["\n\n", "END"],
        "presence_penalty": 0.5,
        "frequency_penalty": 0.25,
        "user": "user-1",
    }
    raw = sdk(gateway, account).chat.completions.with_raw_response.create(**sent)
    completion = raw.parse()

    [seen] = fake.chat_requests
    upstream = seen.body
    # Exactly what was sent, plus the capped max_tokens: nothing added, nothing dropped.
    assert upstream == {**sent, "max_tokens": N_CTX}
    assert "stream_options" not in upstream and not upstream.get("stream")
    assert seen.headers["x-request-id"] == raw.headers["x-request-id"]
    assert "authorization" not in seen.headers  # the client's key never reaches upstream

    assert completion.model == MODEL  # not the upstream's GGUF name
    assert completion.system_fingerprint == "b0-fake"
    assert "timings" not in (completion.model_extra or {})
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == prompt_tokens(upstream)
    [record] = gateway.usage(account)
    assert record.metered_by == "upstream"
    assert record.cost_nanos == cost(completion.usage.prompt_tokens, len(REPLY))
    assert_books(gateway, account)


@pytest.mark.parametrize(
    "client_options", [None, {"include_usage": False}, {"include_usage": True}]
)
def test_stream_always_asks_upstream_for_usage_and_shows_it_only_when_asked(
    gateway: Platform, fakes: Any, client_options: dict[str, Any] | None
) -> None:
    [fake] = fakes(1)
    serve(gateway, fake)
    account = gateway.account("1")
    body = chat_body(stream=True, max_completion_tokens=4, temperature=0)
    if client_options is not None:
        body["stream_options"] = client_options

    status, events = sse(gateway, account, body)
    assert status == 200 and events[-1] == "[DONE]"
    chunks = events[:-1]

    upstream = fake.chat_requests[0].body
    assert upstream["stream_options"] == {"include_usage": True}
    assert upstream["max_tokens"] == 4 and "max_completion_tokens" not in upstream
    assert upstream["temperature"] == 0

    assert text_of(chunks) == reply(4)
    assert all(c["model"] == MODEL for c in chunks)
    assert all("timings" not in c for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    finish = [c for c in chunks if c["choices"] and c["choices"][0].get("finish_reason")]
    assert [c["choices"][0]["finish_reason"] for c in finish] == ["length"]
    usage_chunks = [c for c in chunks if "usage" in c]
    prompt = prompt_tokens(upstream)
    if client_options and client_options["include_usage"]:
        [usage_chunk] = usage_chunks
        assert usage_chunk is chunks[-1] and usage_chunk["choices"] == []
        assert usage_chunk["usage"]["prompt_tokens"] == prompt
        assert usage_chunk["usage"]["completion_tokens"] == 4
        assert usage_chunk["usage"]["cost_nanos"] == cost(prompt, 4)
    else:
        assert usage_chunks == []
    [record] = gateway.usage(account)
    assert record.metered_by == "upstream" and record.outcome == "completed"
    assert (record.prompt_tokens, record.completion_tokens) == (prompt, 4)
    assert_books(gateway, account)


def test_max_tokens_above_the_context_is_refused_before_upstream(
    gateway: Platform, fakes: Any
) -> None:
    [fake] = fakes(1)
    serve(gateway, fake)
    account = gateway.account("1")
    with pytest.raises(openai.BadRequestError) as error:
        sdk(gateway, account).chat.completions.create(
            model=MODEL,
            messages=HELLO,
            max_tokens=N_CTX + 1,
        )
    assert error.value.param == "max_tokens"
    assert fake.chat_requests == []
    assert gateway.usage(account) == []
    assert_books(gateway, account)


# ---------------------------------------------------------------------------- 8. context overflow


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_context_overflow_is_a_400_and_free(gateway: Platform, fakes: Any, stream: bool) -> None:
    small, other = fakes(2)
    small.mode = "context_overflow"
    serve(gateway, small, other)
    account = gateway.account("1")
    with pytest.raises(openai.BadRequestError) as error:
        sdk(gateway, account).chat.completions.create(
            model=MODEL,
            messages=HELLO,
            stream=stream,
        )
    assert error.value.code == "context_length_exceeded"
    assert error.value.param == "messages"
    n_prompt = prompt_tokens(small.chat_requests[0].body) + 9000
    assert f"maximum context length is {N_CTX} tokens" in error.value.message
    assert f"resulted in {n_prompt} tokens" in error.value.message
    assert other.chat_requests == []  # the request is too long everywhere: not retried
    assert state(gateway, small).failures == 0  # and the server did nothing wrong
    [record] = gateway.usage(account)
    assert record.status == 400 and record.outcome == "upstream_rejected"
    assert record.cost_nanos == 0
    assert_books(gateway, account)


# ---------------------------------------------------------------------------- 9. usage never comes


@pytest.mark.parametrize("input_tokens_endpoint", [True, False], ids=["input-tokens", "old"])
@pytest.mark.parametrize("include_usage", [False, True])
def test_stream_without_usage_is_billed_from_counted_tokens(
    gateway: Platform, fakes: Any, include_usage: bool, input_tokens_endpoint: bool
) -> None:
    [fake] = fakes(1)
    fake.mode = "no_usage"
    fake.input_tokens_endpoint = input_tokens_endpoint  # an old build counts via /apply-template
    serve(gateway, fake)
    account = gateway.account("1")
    body = chat_body(stream=True, max_tokens=5)
    if include_usage:
        body["stream_options"] = {"include_usage": True}

    status, events = sse(gateway, account, body)
    assert status == 200 and events[-1] == "[DONE]"
    assert text_of(events[:-1]) == reply(5)

    [record] = gateway.usage(account)
    prompt = prompt_tokens(fake.chat_requests[0].body)
    assert record.outcome == "completed" and record.metered_by == "counted"
    assert (record.prompt_tokens, record.completion_tokens) == (prompt, 5)
    assert record.cost_nanos == cost(prompt, 5) > 0
    paths = {r.path for r in fake.count_requests}
    assert "/tokenize" in paths
    assert ("/apply-template" in paths) == (not input_tokens_endpoint)
    usage_chunks = [e for e in events[:-1] if e.get("usage")]
    if include_usage:
        # The client asked for usage: it gets the counted figures it was billed for.
        charged = cost(prompt, 5)
        assert [(c["choices"], c["usage"]) for c in usage_chunks] == [
            (
                [],
                {
                    "prompt_tokens": prompt,
                    "completion_tokens": 5,
                    "total_tokens": prompt + 5,
                    "cost": f"{charged // 10**9}.{charged % 10**9:09d}",
                    "cost_nanos": charged,
                },
            )
        ]
        assert usage_chunks[0]["model"] == MODEL and usage_chunks[0]["id"] == events[0]["id"]
    else:
        assert usage_chunks == []
    assert_books(gateway, account)


def test_completion_without_usage_is_counted_and_reported(gateway: Platform, fakes: Any) -> None:
    [fake] = fakes(1)
    fake.mode = "no_usage"
    serve(gateway, fake)
    account = gateway.account("1")

    completion = sdk(gateway, account).chat.completions.create(
        model=MODEL, messages=HELLO, max_tokens=5
    )
    assert completion.choices[0].message.content == reply(5)
    prompt = prompt_tokens(fake.chat_requests[0].body)
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (prompt, 5)
    [record] = gateway.usage(account)
    assert (record.outcome, record.metered_by, record.status) == ("completed", "counted", 200)
    assert record.cost_nanos == cost(prompt, 5)
    assert_books(gateway, account)


def test_stream_that_nobody_can_count_is_estimated_never_free(
    gateway: Platform, fakes: Any
) -> None:
    [fake] = fakes(1)
    fake.mode = "no_usage"
    fake.counting = "broken"
    serve(gateway, fake)
    account = gateway.account("1")

    status, events = sse(gateway, account, chat_body(stream=True, max_tokens=5))
    assert status == 200 and text_of(events[:-1]) == reply(5)

    [record] = gateway.usage(account)
    assert record.outcome == "completed" and record.metered_by == "estimated"
    assert record.completion_tokens == 5  # one token per content chunk
    assert record.prompt_tokens > 0
    assert record.cost_nanos == cost(record.prompt_tokens, 5) > 0
    assert_books(gateway, account)


def test_responses_stream_broken_midway_is_response_failed_and_billed(
    gateway: Platform, fakes: Any
) -> None:
    """The Responses stream sends text as it comes; a break after three tokens ends it with
    `response.failed`, billed for the three, and nothing is stored."""
    [flaky] = fakes(1)
    serve(gateway, flaky)
    flaky.mode = "drop_mid_stream"
    flaky.fault_after = 3
    account = gateway.account("1")
    events = list(
        sdk(gateway, account).responses.create(model=MODEL, input="Say hello.", stream=True)
    )
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert "".join(deltas) == reply(3)
    failed = events[-1]
    assert failed.type == "response.failed" and failed.response.status == "failed"
    assert failed.response.error is not None
    [record] = gateway.usage(account)
    assert record.outcome == "upstream_error" and record.completion_tokens == 3
    assert record.cost_nanos > 0
    with pytest.raises(openai.NotFoundError):
        sdk(gateway, account).responses.retrieve(failed.response.id)
    assert_books(gateway, account)
