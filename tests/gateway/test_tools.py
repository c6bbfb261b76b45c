"""Tool calls through the official SDK against real llama.cpp (SmolLM2, whose chat template
has no tool support): the gateway constrains the answer and returns real `tool_calls`."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from openai.types.chat import (
    ChatCompletionMessageParam,
    ChatCompletionToolChoiceOptionParam,
    ChatCompletionToolParam,
)

from gptapi.gateway.openai.tools import ToolCalling
from tests.gateway.test_openai_sdk import client
from tests.support.platform import Platform

WEATHER: ChatCompletionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "maxLength": 40}},
            "required": ["city"],
        },
    },
}
TIME: ChatCompletionToolParam = {
    "type": "function",
    "function": {"name": "get_time", "description": "The current time in UTC."},
}
ASK: list[ChatCompletionMessageParam] = [
    {"role": "user", "content": "What is the weather in Paris?"}
]


def _arguments(call: Any) -> dict[str, Any]:
    arguments = json.loads(call.function.arguments)
    assert isinstance(arguments, dict)
    return arguments


@pytest.mark.parametrize(
    ("tool_choice", "name"),
    [
        ("required", None),
        ({"type": "function", "function": {"name": "get_weather"}}, "get_weather"),
        ({"type": "function", "function": {"name": "get_time"}}, "get_time"),
    ],
)
def test_required_and_named_calls_are_real_tool_calls(
    platform: Platform, tool_choice: ChatCompletionToolChoiceOptionParam, name: str | None
) -> None:
    account = platform.account("1")
    response = client(platform, account).chat.completions.with_raw_response.create(
        model="gpt-fast",
        messages=ASK,
        tools=[WEATHER, TIME],
        tool_choice=tool_choice,
        max_tokens=60,
        temperature=0,
    )
    completion = response.parse()
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    [call] = choice.message.tool_calls or []
    assert call.type == "function" and call.id.startswith("call_")
    assert call.function.name in ({name} if name else {"get_weather", "get_time"})
    arguments = _arguments(call)
    if call.function.name == "get_weather":
        assert isinstance(arguments["city"], str)
    else:
        assert arguments == {}
    # Billed as chat: the tokens upstream reported, at the model's prices.
    assert completion.usage is not None
    record = platform.usage_for(response.headers["x-request-id"])
    assert record is not None and record.outcome == "completed"
    assert (record.prompt_tokens, record.completion_tokens) == (
        completion.usage.prompt_tokens,
        completion.usage.completion_tokens,
    )
    assert platform.balance(account) == 1_000_000_000 - record.cost_nanos > 0


def test_auto_answers_with_a_call_or_with_text(platform: Platform) -> None:
    sdk = client(platform, platform.account("1"))
    completion = sdk.chat.completions.create(
        model="gpt-fast", messages=ASK, tools=[WEATHER], max_tokens=60, temperature=0
    )
    choice = completion.choices[0]
    if choice.message.tool_calls:
        assert choice.finish_reason == "tool_calls"
        [call] = choice.message.tool_calls
        assert call.type == "function" and call.function.name == "get_weather"
        _arguments(call)
    else:
        # A text answer is the model's own words, not the JSON it was constrained to.
        assert choice.message.content and not choice.message.content.lstrip().startswith("{")


def test_none_gives_text_and_no_calls(platform: Platform) -> None:
    sdk = client(platform, platform.account("1"))
    completion = sdk.chat.completions.create(
        model="gpt-fast", messages=ASK, tools=[WEATHER], tool_choice="none", max_tokens=12
    )
    choice = completion.choices[0]
    assert choice.message.tool_calls is None and choice.message.content
    assert choice.finish_reason in ("stop", "length")


@pytest.mark.parametrize("include_usage", [False, True])
def test_streamed_tool_calls(platform: Platform, include_usage: bool) -> None:
    account = platform.account("1")
    stream = client(platform, account).chat.completions.create(
        model="gpt-fast",
        messages=ASK,
        tools=[WEATHER],
        tool_choice="required",
        max_tokens=60,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True} if include_usage else None,
    )
    chunks = list(stream)
    deltas = [call for c in chunks if c.choices for call in c.choices[0].delta.tool_calls or ()]
    assert deltas[0].id and deltas[0].id.startswith("call_")
    assert deltas[0].function and deltas[0].function.name == "get_weather"
    assert {d.index for d in deltas} == {0}
    arguments = "".join(d.function.arguments or "" for d in deltas if d.function)
    assert isinstance(json.loads(arguments)["city"], str)
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "tool_calls" and set(finishes[:-1]) == {None}
    [record] = platform.usage(account)
    usages = [c.usage for c in chunks if c.usage is not None]
    if include_usage:
        assert [(u.prompt_tokens, u.completion_tokens) for u in usages] == [
            (record.prompt_tokens, record.completion_tokens)
        ]
    else:
        assert usages == []
    assert platform.balance(account) == 1_000_000_000 - record.cost_nanos


def test_the_sdk_stream_helper_assembles_the_call(platform: Platform) -> None:
    sdk = client(platform, platform.account("1"))
    with sdk.chat.completions.stream(
        model="gpt-fast",
        messages=ASK,
        tools=[WEATHER],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        max_tokens=60,
        temperature=0,
    ) as stream:
        final = stream.get_final_completion()
    [call] = final.choices[0].message.tool_calls or []
    assert call.function.name == "get_weather"
    assert isinstance(_arguments(call)["city"], str)


def test_tool_results_are_fed_back_in_a_multi_turn_loop(platform: Platform) -> None:
    sdk = client(platform, platform.account("1"))
    messages: list[ChatCompletionMessageParam] = list(ASK)
    first = sdk.chat.completions.create(
        model="gpt-fast",
        messages=messages,
        tools=[WEATHER],
        tool_choice="required",
        max_tokens=60,
        temperature=0,
    )
    [call] = first.choices[0].message.tool_calls or []
    messages.append(first.choices[0].message.model_dump(exclude_none=True))  # type: ignore[arg-type]
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "Sunny, 24 C"})
    # The loop goes on with the same tools: the model may call again or answer.
    second = sdk.chat.completions.create(
        model="gpt-fast", messages=messages, tools=[WEATHER], max_tokens=40, temperature=0
    )
    assert second.choices[0].message.content or second.choices[0].message.tool_calls
    # Without tools too, the tool turns reach a model whose template has no tool support:
    # rendered into the prompt, not dropped.
    third = sdk.chat.completions.create(model="gpt-fast", messages=messages, max_tokens=4)
    alone = sdk.chat.completions.create(model="gpt-fast", messages=ASK, max_tokens=4)
    assert third.usage is not None and alone.usage is not None
    assert third.usage.prompt_tokens > alone.usage.prompt_tokens + 10


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"tool_choice": "required"}, "tool_choice"),
        ({"tools": [WEATHER], "tool_choice": "sometimes"}, "tool_choice"),
        (
            {"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "x"}}},
            "tool_choice",
        ),
        ({"tools": [WEATHER, WEATHER]}, "tools"),
        ({"tools": [WEATHER], "parallel_tool_calls": "yes"}, "parallel_tool_calls"),
        ({"tools": [WEATHER], "response_format": {"type": "json_object"}}, "response_format"),
    ],
)
def test_bad_tool_fields_are_400s_naming_them(
    platform: Platform, fields: dict[str, Any], param: str
) -> None:
    sdk = client(platform, platform.account("1"), max_retries=0)
    with pytest.raises(openai.BadRequestError) as raised:
        sdk.chat.completions.create(model="gpt-fast", messages=ASK, max_tokens=4, **fields)
    assert raised.value.param == param


def test_parallel_tool_calls_false_gives_one_call(platform: Platform) -> None:
    sdk = client(platform, platform.account("1"))
    completion = sdk.chat.completions.create(
        model="gpt-fast",
        messages=ASK,
        tools=[WEATHER, TIME],
        tool_choice="required",
        parallel_tool_calls=False,
        max_tokens=60,
        temperature=0,
    )
    assert len(completion.choices[0].message.tool_calls or []) == 1


@pytest.mark.parametrize(
    ("text", "content"),
    [
        ('{"content": "Hello there"}', "Hello there"),
        ('{"content": "Once upon a', "Once upon a"),  # ran out of tokens mid-answer
        ('{"name": "get_weather", "arguments": {"ci', '{"name": "get_weather", "arguments": {"ci'),
    ],
)
def test_auto_text_answers_are_unwrapped_even_when_cut_short(text: str, content: str) -> None:
    calling = ToolCalling("auto", ("get_weather",))
    answer = calling.answer(
        {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}
    )
    [choice] = answer["choices"]
    assert choice["message"]["content"] == content and "tool_calls" not in choice["message"]
