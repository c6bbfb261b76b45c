"""Helpers shared by the admission-control tests: gateways with their own settings, exact
request bodies (holds and TPM reservations are computed from the body's size), raw HTTP
and concurrent fire, and checks of OpenAI's error envelope."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import httpx
import orjson
import pytest
from sqlalchemy import update

from gptapi.gateway.upstream.registry import ServerSpec
from gptapi.inference.launcher import LocalFleet
from gptapi.kit.money import NANOS_PER_DOLLAR
from gptapi.models import Organization
from tests.support.databases import fresh_database
from tests.support.platform import Account, Platform, test_settings
from tests.support.threads import wait_until

T = TypeVar("T")

CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"
EMBEDDINGS = "/v1/embeddings"

# Prices of the seeded models, in nano-dollars per token.
PRICES = {"gpt-fast": (250, 500), "gpt-full": (500, 1000), "embed": (50, 0)}
TEMPLATE_OVERHEAD_TOKENS = 64  # what the gateway adds to a chat/completions body's size
EMBEDDING_OVERHEAD_TOKENS = 4  # per input

HELLO = [{"role": "user", "content": "Say hello."}]


@contextmanager
def custom_platform(
    backend: str,
    llama_fleet: LocalFleet,
    tmp_path_factory: pytest.TempPathFactory,
    *,
    extra_chat_models: dict[str, tuple[int, int]] | None = None,
    **overrides: Any,
) -> Iterator[Platform]:
    """A gateway with its own settings on a fresh database, over the session's llama servers.

    `extra_chat_models` adds models (name: input and output price in nano-dollars per
    token) served by the chat llama.cpp server, which answers to any model name."""
    tmp: Path = tmp_path_factory.mktemp(f"custom-{backend}")
    with fresh_database(backend, tmp) as url:
        platform = Platform(test_settings(url, tmp, **overrides))
        specs = llama_fleet.specs()
        chat_server = next(s.base_url for s in specs if s.model == "gpt-fast")
        for name, (input_price, output_price) in (extra_chat_models or {}).items():
            platform.add_model(name, input_price=input_price, output_price=output_price)
            specs.append(ServerSpec(model=name, base_url=chat_server))
        platform.set_servers("local", specs)
        platform.start()
        try:
            registry = platform.runtime.serving.registry
            wait_until(lambda: all(s.healthy for s in registry.servers), timeout=30)
            yield platform
        finally:
            platform.stop()


def on_server_loop(platform: Platform, coroutine: Awaitable[T], timeout: float = 30) -> T:
    """Run `coroutine` on the gateway's own event loop (its state is not thread-safe)."""
    loop = platform.runtime.tasks[0].get_loop()
    return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout)  # type: ignore[arg-type]


def set_org_limits(platform: Platform, account: Account, rpm: int | None, tpm: int | None) -> None:
    async def work() -> None:
        async with platform.sessions() as session, session.begin():
            await session.execute(
                update(Organization)
                .where(Organization.id == account.organization_id)
                .values(default_rpm_limit=rpm, default_tpm_limit=tpm)
            )

    platform.portal.call(work())


def dollars(nanos: int) -> str:
    return f"{Decimal(nanos) / NANOS_PER_DOLLAR:.9f}"


# ---------------------------------------------------------------- bodies and their prices


def body(**fields: Any) -> bytes:
    return orjson.dumps(fields)


def chat_body(
    max_tokens: int | None = 4, model: str = "gpt-fast", messages: Any = None, **extra: Any
) -> bytes:
    fields: dict[str, Any] = {"model": model, "messages": messages or HELLO}
    if max_tokens is not None:
        fields["max_tokens"] = max_tokens
    return orjson.dumps({**fields, **extra})


def padded(raw: bytes, size: int) -> bytes:
    """`raw` grown to exactly `size` bytes with JSON whitespace (same request, bigger body)."""
    assert len(raw) <= size
    return raw + b" " * (size - len(raw))


def chat_reservation(raw: bytes, max_output: int) -> int:
    """TPM tokens the gateway reserves: the prompt estimate plus max_tokens x n."""
    return len(raw) + TEMPLATE_OVERHEAD_TOKENS + max_output


def chat_hold(raw: bytes, max_output: int, model: str = "gpt-fast") -> int:
    """The credit hold of a chat request: its maximum cost at the model's prices."""
    input_price, output_price = PRICES[model]
    return (len(raw) + TEMPLATE_OVERHEAD_TOKENS) * input_price + max_output * output_price


def cost(model: str, prompt_tokens: int, completion_tokens: int) -> int:
    input_price, output_price = PRICES[model]
    return prompt_tokens * input_price + completion_tokens * output_price


# ---------------------------------------------------------------- HTTP


def http(platform: Platform, account: Account | None = None) -> httpx.Client:
    headers = {"authorization": f"Bearer {account.secret}"} if account else {}
    return httpx.Client(base_url=platform.url, headers=headers, timeout=120)


def post(
    platform: Platform, account: Account | None, path: str, content: bytes, **kwargs: Any
) -> httpx.Response:
    with http(platform, account) as client:
        return client.post(path, content=content, **kwargs)


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


async def _fire(
    url: str, requests: list[tuple[str, Account, bytes]], connections: int
) -> list[Reply]:
    timeout = aiohttp.ClientTimeout(total=300)
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = asyncio.Event()

        async def one(path: str, account: Account, raw: bytes) -> Reply:
            await start.wait()
            async with session.post(
                url + path,
                data=raw,
                headers={
                    "authorization": f"Bearer {account.secret}",
                    "content-type": "application/json",
                },
            ) as response:
                payload = await response.read()
                headers = {k.lower(): v for k, v in response.headers.items()}
                return Reply(response.status, headers, payload)

        tasks = [asyncio.create_task(one(*request)) for request in requests]
        await asyncio.sleep(0)
        start.set()
        return await asyncio.gather(*tasks)


def raw_request(
    platform: Platform, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes
) -> Reply:
    """One HTTP/1.1 exchange over a plain socket: headers go out byte for byte, as a client
    that does not validate them (unlike httpx) would send them."""
    host, port = platform.url.removeprefix("http://").split(":")
    lines = [f"{method} {path} HTTP/1.1".encode(), f"host: {host}:{port}".encode()]
    lines += [name + b": " + value for name, value in headers]
    lines += [f"content-length: {len(body)}".encode(), b"connection: close"]
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, payload = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        parsed[name.strip().lower()] = value.strip()
    return Reply(int(status_line.split()[1]), parsed, payload)


def fire(
    platform: Platform, requests: list[tuple[str, Account, bytes]], connections: int = 1000
) -> list[Reply]:
    """Send every request at once (one connection each, up to `connections`)."""
    return asyncio.run(_fire(platform.url, requests, connections))


# ---------------------------------------------------------------- checks


ANY: Any = object()  # `param` not checked


def status_of(response: httpx.Response | Reply) -> int:
    return response.status_code if isinstance(response, httpx.Response) else response.status


def assert_openai_error(
    response: httpx.Response | Reply,
    status: int,
    code: str | None = None,
    *,
    type: str = "invalid_request_error",
    param: str | None = ANY,
) -> dict[str, Any]:
    """`{"error": {"message", "type", "param", "code"}}` with the request id header."""
    raw = response.content if isinstance(response, httpx.Response) else response.body
    assert status_of(response) == status, (status_of(response), raw[:500])
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-request-id"].startswith("req_")
    payload = orjson.loads(raw)
    assert set(payload) == {"error"}
    error = payload["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    assert error["type"] == type, error
    assert error["code"] == code, error
    if param is not ANY:
        assert error["param"] == param, error
    return dict(error)


def assert_books_balance(platform: Platform, account: Account, initial: int) -> int:
    """balance == ledger sum == initial - Σ usage cost, and one ledger row per usage row."""
    usage = platform.usage(account)
    spent = sum(r.cost_nanos for r in usage)
    assert platform.balance(account) == platform.ledger_sum(account) == initial - spent
    debits = {
        e.idempotency_key: e.amount_nanos
        for e in platform.ledger_entries(account)
        if e.kind == "usage"
    }
    # Refusals are usage rows too, each with its (zero) ledger entry.
    logged = [*usage, *platform.refusals(account)]
    assert debits == {f"usage:{r.request_id}": -r.cost_nanos for r in logged}
    return spent


def available_credit(platform: Platform, account: Account) -> int:
    """What the gateway would let the organisation reserve now: its balance minus open holds
    and unsettled costs (the balance itself before the gateway first held anything)."""
    accounts = platform.runtime.serving.accounts

    async def read() -> int | None:
        value: int | None = accounts.available(account.organization_id)
        return value

    value = on_server_loop(platform, read())
    return platform.balance(account) if value is None else value
