"""One request runs at most 16 generations (n, times the prompts of /v1/completions): each
is an upstream request of its own holding a slot, so a bigger one is refused with a 400
naming what to lower, before anything is held."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from gptapi.gateway.openai.protocol import MAX_GENERATIONS
from tests.gateway.admission import (
    CHAT,
    COMPLETIONS,
    HELLO,
    assert_books_balance,
    assert_openai_error,
    available_credit,
    post,
)
from tests.support.platform import Platform

CREDIT = 1_000_000_000


def prompts(count: int) -> list[str]:
    return [f"Count to {i}:" for i in range(count)]


TOO_MANY: dict[str, tuple[str, dict[str, Any], str]] = {
    "250-prompts": (COMPLETIONS, {"prompt": prompts(250)}, "prompt"),
    "17-prompts": (COMPLETIONS, {"prompt": prompts(MAX_GENERATIONS + 1)}, "prompt"),
    "17-token-prompts": (COMPLETIONS, {"prompt": [[1, 2]] * (MAX_GENERATIONS + 1)}, "prompt"),
    "prompts-times-n": (COMPLETIONS, {"prompt": prompts(5), "n": 4}, "prompt"),
    "completions-n": (COMPLETIONS, {"prompt": "Hi", "n": MAX_GENERATIONS + 1}, "n"),
    "chat-n": (CHAT, {"messages": HELLO, "n": MAX_GENERATIONS + 1}, "n"),
}


@pytest.mark.parametrize("case", list(TOO_MANY))
def test_more_generations_than_the_bound_are_refused(gateway: Platform, case: str) -> None:
    path, fields, param = TOO_MANY[case]
    account = gateway.account("1")
    raw = orjson.dumps({"model": "gpt-fast", "max_tokens": 1, **fields})
    assert_openai_error(post(gateway, account, path, raw), 400, "invalid_value", param=param)
    assert available_credit(gateway, account) == CREDIT
    assert gateway.usage(account) == []
    assert_books_balance(gateway, account, CREDIT)


def test_the_bound_itself_is_served_and_every_generation_billed(gateway: Platform) -> None:
    account = gateway.account("1")
    raw = orjson.dumps(
        {"model": "gpt-fast", "max_tokens": 1, "prompt": prompts(MAX_GENERATIONS // 2), "n": 2}
    )
    response = post(gateway, account, COMPLETIONS, raw)
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["choices"]) == MAX_GENERATIONS
    [record] = gateway.usage(account)
    assert record.completion_tokens == body["usage"]["completion_tokens"] == MAX_GENERATIONS
    assert 0 < record.cost_nanos <= record.hold_nanos
    assert_books_balance(gateway, account, CREDIT)
