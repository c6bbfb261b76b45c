"""Only fields the gateway accounts for reach llama.cpp: each surface accepts its declared
fields and refuses anything else with a 400 naming it, before any credit is held.

llama.cpp obeys its own generation fields over OpenAI's (`n_predict` over `max_tokens`,
`n_cmpl` over `n`), so a forwarded one would run work the hold never reserved.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.gateway.admission import (
    CHAT,
    COMPLETIONS,
    EMBEDDINGS,
    HELLO,
    assert_books_balance,
    assert_openai_error,
    available_credit,
    chat_hold,
    post,
)
from tests.support.platform import Platform

BASE: dict[str, dict[str, Any]] = {
    CHAT: {"model": "gpt-fast", "messages": HELLO, "max_tokens": 1},
    COMPLETIONS: {"model": "gpt-fast", "prompt": "Once upon a time", "max_tokens": 1},
    EMBEDDINGS: {"model": "embed", "input": "hello"},
}

# (surface, extra fields, the field the 400 names)
SMUGGLED: dict[str, tuple[str, dict[str, Any], str]] = {
    # 200 tokens generated on a 1-token hold
    "chat-n-predict": (CHAT, {"n_predict": 200, "ignore_eos": True}, "n_predict"),
    "chat-ignore-eos": (CHAT, {"ignore_eos": True}, "ignore_eos"),
    # four answers billed as one
    "chat-n-cmpl": (CHAT, {"max_tokens": 32, "n_cmpl": 4}, "n_cmpl"),
    "chat-n-probs": (CHAT, {"n_probs": 10}, "n_probs"),
    "chat-slot": (CHAT, {"id_slot": 0}, "id_slot"),
    "chat-lora": (CHAT, {"lora": [{"id": 0, "scale": 1.0}]}, "lora"),
    "chat-best-of": (CHAT, {"best_of": 4}, "best_of"),
    "completions-n-predict": (COMPLETIONS, {"n_predict": 200}, "n_predict"),
    "completions-n-cmpl": (COMPLETIONS, {"n_cmpl": 4}, "n_cmpl"),
    "completions-n-probs": (COMPLETIONS, {"n_probs": 10}, "n_probs"),
    "completions-best-of": (COMPLETIONS, {"best_of": 4}, "best_of"),
    "embeddings-n-predict": (EMBEDDINGS, {"n_predict": 200}, "n_predict"),
    "embeddings-normalize": (EMBEDDINGS, {"embd_normalize": -1}, "embd_normalize"),
    "stream-options-extra": (
        CHAT,
        {"stream": True, "stream_options": {"include_usage": True, "n_predict": 9}},
        "stream_options.n_predict",
    ),
}


@pytest.mark.parametrize("case", list(SMUGGLED))
def test_fields_llama_cpp_would_obey_are_refused_before_any_hold(
    gateway: Platform, case: str
) -> None:
    path, extra, field = SMUGGLED[case]
    account = gateway.account("1")
    before = available_credit(gateway, account)
    response = post(gateway, account, path, orjson.dumps({**BASE[path], **extra}))
    error = assert_openai_error(response, 400, "unknown_parameter", param=field)
    assert field.rsplit(".", 1)[-1] in error["message"]
    assert available_credit(gateway, account) == before
    assert gateway.usage(account) == []
    assert_books_balance(gateway, account, 1_000_000_000)


def test_max_tokens_bounds_what_is_generated_and_billed(gateway: Platform) -> None:
    """The regression's own request without the smuggled fields: one token, within the hold."""
    account = gateway.account("1")
    raw = orjson.dumps(BASE[CHAT])
    response = post(gateway, account, CHAT, raw)
    assert response.status_code == 200, response.text
    assert response.json()["usage"]["completion_tokens"] <= 1
    [record] = gateway.usage(account)
    assert record.completion_tokens <= 1
    assert 0 < record.cost_nanos <= chat_hold(raw, 1)
    assert_books_balance(gateway, account, 1_000_000_000)
