"""Every admitted request settles its hold exactly once, whatever way it leaves: bodies the
gateway could not forward are refused before admission, and an unexpected failure after
admission releases the hold and records the request instead of leaking it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import orjson
import pytest

from gptapi.gateway.openai.serving import MAX_JSON_DEPTH
from tests.gateway.admission import (
    CHAT,
    COMPLETIONS,
    EMBEDDINGS,
    HELLO,
    assert_books_balance,
    assert_openai_error,
    available_credit,
    on_server_loop,
    post,
)
from tests.support.platform import Account, Platform
from tests.support.threads import wait_until

CREDIT = 1_000_000_000


def nested(levels: int) -> Any:
    """`levels` levels of alternating objects and arrays."""
    value: Any = "x"
    for level in range(levels):
        value = {"a": value} if level % 2 else [value]
    return value


def tool(parameters: Any) -> list[dict[str, Any]]:
    return [{"type": "function", "function": {"name": "f", "parameters": parameters}}]


# The body is level 1, so a field holding `nested(MAX_JSON_DEPTH)` is one level too deep.
TOO_DEEP = nested(MAX_JSON_DEPTH)

DEEP: dict[str, tuple[str, dict[str, Any], str]] = {
    "tools": (CHAT, {"tools": tool({"p": TOO_DEEP})}, "tools"),
    "response-format": (
        CHAT,
        {"response_format": {"type": "json_object", "schema": TOO_DEEP}},
        "response_format",
    ),
    "messages": (
        CHAT,
        {"messages": [{"role": "user", "content": "hi", "x": TOO_DEEP}]},
        "messages",
    ),
    "unknown-field": (CHAT, {"my_field": nested(300)}, "my_field"),
    "prompt": (COMPLETIONS, {"prompt": TOO_DEEP}, "prompt"),
    "input": (EMBEDDINGS, {"input": TOO_DEEP}, "input"),
}
BASE: dict[str, dict[str, Any]] = {
    CHAT: {"model": "gpt-fast", "messages": HELLO, "max_tokens": 1},
    COMPLETIONS: {"model": "gpt-fast", "prompt": "Hi", "max_tokens": 1},
    EMBEDDINGS: {"model": "embed", "input": "hi"},
}


@pytest.mark.parametrize("case", list(DEEP))
def test_json_nested_too_deep_is_refused_before_admission(gateway: Platform, case: str) -> None:
    path, fields, param = DEEP[case]
    account = gateway.account("1")
    before = available_credit(gateway, account)
    # The standard library's encoder: orjson's refuses what is nested this deep.
    response = post(gateway, account, path, json.dumps({**BASE[path], **fields}).encode())
    error = assert_openai_error(response, 400, "invalid_value", param=param)
    assert str(MAX_JSON_DEPTH) in error["message"]
    assert available_credit(gateway, account) == before
    assert gateway.usage(account) == []
    assert_books_balance(gateway, account, CREDIT)


def test_nesting_up_to_the_limit_is_served(gateway: Platform) -> None:
    """A message's content parts may carry nested metadata, which llama.cpp ignores."""
    account = gateway.account("1")
    part = {"type": "text", "text": "Say hello.", "meta": nested(MAX_JSON_DEPTH - 5)}
    raw = orjson.dumps({**BASE[CHAT], "messages": [{"role": "user", "content": [part]}]})
    response = post(gateway, account, CHAT, raw)
    assert response.status_code == 200, response.text
    assert len(gateway.usage(account)) == 1
    assert_books_balance(gateway, account, CREDIT)


# ---------------------------------------------------------------- failures after admission


@contextmanager
def patched(platform: Platform, target: Callable[[], Any], name: str, value: Any) -> Iterator[None]:
    """`target().name = value` on the gateway's loop for the block (an instance attribute
    shadowing the method, removed afterwards)."""

    async def set_() -> None:
        setattr(target(), name, value)

    async def unset() -> None:
        delattr(target(), name)

    on_server_loop(platform, set_())
    try:
        yield
    finally:
        on_server_loop(platform, unset())


async def boom(*_: Any, **__: Any) -> Any:
    raise RuntimeError("an exception nobody foresaw")


def settled_unbilled(platform: Platform, account: Account, status: int) -> None:
    wait_until(lambda: len(platform.usage(account)) == 1, timeout=15)
    [record] = platform.usage(account)
    assert record.outcome == "internal_error" and record.status == status
    assert record.cost_nanos == 0 and record.hold_nanos > 0
    wait_until(lambda: available_credit(platform, account) == CREDIT, timeout=15)
    assert_books_balance(platform, account, CREDIT)


@pytest.mark.parametrize("stream", [False, True])
def test_an_exception_after_admission_releases_the_hold(gateway: Platform, stream: bool) -> None:
    account = gateway.account("1")
    client = lambda: gateway.runtime.serving.client  # noqa: E731
    with patched(gateway, client, "post", boom):
        response = post(gateway, account, CHAT, orjson.dumps({**BASE[CHAT], "stream": stream}))
    assert_openai_error(response, 500, "internal_error", type="server_error")
    settled_unbilled(gateway, account, 500)
    # Nothing is left held: the organisation is served again at once.
    response = post(gateway, account, CHAT, orjson.dumps(BASE[CHAT]))
    assert response.status_code == 200, response.text


def test_an_exception_while_settling_a_stream_releases_the_hold(gateway: Platform) -> None:
    account = gateway.account("1")
    billing = lambda: gateway.runtime.serving.billing  # noqa: E731
    raw = orjson.dumps({**BASE[CHAT], "stream": True})
    with patched(gateway, billing, "settle_stream", boom), httpx.Client(timeout=60) as http:
        headers = {"authorization": f"Bearer {account.secret}"}
        with http.stream("POST", gateway.url + CHAT, content=raw, headers=headers) as response:
            assert response.status_code == 200
            with pytest.raises(httpx.HTTPError):  # the stream ends without its last chunk
                for _ in response.iter_bytes():
                    pass
    settled_unbilled(gateway, account, 200)
