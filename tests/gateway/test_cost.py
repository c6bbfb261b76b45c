"""The exact charge of every request in its `usage`, as the ledger records it, through the
official SDK against real llama.cpp."""

from __future__ import annotations

from typing import Any

from openai.types.chat import ChatCompletionMessageParam

from tests.gateway.test_openai_sdk import client
from tests.gateway.test_tools import ASK, WEATHER
from tests.support.platform import Account, Platform

HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Say hello."}]
START = 1_000_000_000  # the accounts' $1 of credit


def dollars(nanos: int) -> str:
    return f"{nanos // 10**9}.{nanos % 10**9:09d}"


def assert_charged(platform: Platform, account: Account, usage: Any) -> None:
    """`usage` states what the one request of `account` was charged, to the nano-dollar."""
    extra = usage.model_extra or {}
    [record] = platform.usage(account)
    assert extra["cost_nanos"] == record.cost_nanos > 0
    assert extra["cost"] == dollars(record.cost_nanos)
    assert (usage.prompt_tokens, getattr(usage, "completion_tokens", 0)) == (
        record.prompt_tokens,
        record.completion_tokens,
    )
    assert platform.balance(account) == START - record.cost_nanos == platform.ledger_sum(account)


def test_chat_completion_states_its_cost(platform: Platform) -> None:
    account = platform.account("1")
    completion = client(platform, account).chat.completions.create(
        model="gpt-full", messages=HELLO, max_tokens=6
    )
    assert_charged(platform, account, completion.usage)


def test_several_generations_state_their_total_cost(platform: Platform) -> None:
    account = platform.account("1")
    completion = client(platform, account).chat.completions.create(
        model="gpt-fast", messages=HELLO, max_tokens=4, n=2
    )
    assert len(completion.choices) == 2
    assert_charged(platform, account, completion.usage)


def test_final_stream_chunk_states_the_cost(platform: Platform) -> None:
    account = platform.account("1")
    chunks = list(
        client(platform, account).chat.completions.create(
            model="gpt-fast",
            messages=HELLO,
            max_tokens=6,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[-1].choices == [] and all(c.usage is None for c in chunks[:-1])
    assert_charged(platform, account, chunks[-1].usage)


def test_completions_state_their_cost_streamed_or_not(platform: Platform) -> None:
    account = platform.account("1")
    sdk = client(platform, account)
    completion = sdk.completions.create(model="gpt-fast", prompt="Once upon", max_tokens=4)
    assert_charged(platform, account, completion.usage)
    other = platform.account("1")
    chunks = list(
        client(platform, other).completions.create(
            model="gpt-fast",
            prompt="Once upon",
            max_tokens=4,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert [c.usage is not None for c in chunks].count(True) == 1
    assert chunks[-1].choices == []
    assert_charged(platform, other, chunks[-1].usage)


def test_embeddings_state_their_cost(platform: Platform) -> None:
    account = platform.account("1")
    result = client(platform, account).embeddings.create(model="embed", input=["a", "b c"])
    assert_charged(platform, account, result.usage)


def test_streamed_tool_calls_state_their_cost(platform: Platform) -> None:
    account = platform.account("1")
    chunks = list(
        client(platform, account).chat.completions.create(
            model="gpt-fast",
            messages=ASK,
            tools=[WEATHER],
            tool_choice="required",
            max_tokens=60,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert_charged(platform, account, chunks[-1].usage)
