"""POST /v1/responses through the official SDK against real llama.cpp: the Responses API
over the chat pipeline, billed exactly as chat."""

from __future__ import annotations

import json
from typing import Any, cast

import httpx
import openai
import pytest
from openai.types.responses import FunctionToolParam, ResponseFormatTextJSONSchemaConfigParam

from tests.gateway.test_cost import START, dollars
from tests.gateway.test_openai_sdk import client
from tests.support.platform import Account, Platform

WEATHER: FunctionToolParam = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string", "maxLength": 40}},
        "required": ["city"],
    },
    "strict": True,
}

TIME: FunctionToolParam = {
    "type": "function",
    "name": "get_time",
    "parameters": None,
    "strict": False,
}

WORD: ResponseFormatTextJSONSchemaConfigParam = {
    "type": "json_schema",
    "name": "word",
    "schema": {
        "type": "object",
        "properties": {"word": {"type": "string", "maxLength": 12}},
        "required": ["word"],
        "additionalProperties": False,
    },
}


def assert_billed(platform: Platform, account: Account, request_id: str, usage: Any) -> None:
    """`usage` is what the ledger charged the one request, under the Responses names."""
    record = platform.usage_for(request_id)
    assert record is not None and record.outcome == "completed"
    assert record.endpoint == "responses"
    assert (usage.input_tokens, usage.output_tokens) == (
        record.prompt_tokens,
        record.completion_tokens,
    )
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    extra = usage.model_extra or {}
    assert extra["cost_nanos"] == record.cost_nanos > 0
    assert extra["cost"] == dollars(record.cost_nanos)
    assert platform.balance(account) == START - record.cost_nanos == platform.ledger_sum(account)


def test_text_response_is_billed_as_chat(platform: Platform) -> None:
    account = platform.account("1")
    raw = client(platform, account).responses.with_raw_response.create(
        model="gpt-fast",
        instructions="You answer in one short sentence.",
        input="Say hello.",
        max_output_tokens=8,
        temperature=0,
    )
    response = raw.parse()
    assert response.id.startswith("resp_") and response.object == "response"
    assert response.model == "gpt-fast"
    assert response.instructions == "You answer in one short sentence."
    assert response.status in ("completed", "incomplete")
    [message] = response.output
    assert message.type == "message" and message.role == "assistant"
    assert response.output_text and message.content[0].type == "output_text"
    assert response.usage is not None and 0 < response.usage.output_tokens <= 8
    if response.status == "incomplete":
        assert response.incomplete_details is not None
        assert response.incomplete_details.reason == "max_output_tokens"
    assert_billed(platform, account, raw.headers["x-request-id"], response.usage)


def test_input_items_carry_the_conversation(platform: Platform) -> None:
    sdk = client(platform, platform.account("1"))
    response = sdk.responses.create(
        model="gpt-fast",
        input=[
            {"role": "developer", "content": "Repeat the user's word exactly."},
            {"role": "user", "content": [{"type": "input_text", "text": "banana"}]},
            {"type": "message", "role": "assistant", "content": "banana"},
            {"role": "user", "content": "Again, the same word."},
        ],
        max_output_tokens=6,
        temperature=0,
    )
    assert "banana" in response.output_text.lower()


def test_json_schema_format_gives_structured_output(platform: Platform) -> None:
    sdk = client(platform, platform.account("1"))
    response = sdk.responses.create(
        model="gpt-fast",
        input="Name a colour.",
        text={
            "format": {
                "type": "json_schema",
                "name": "colour",
                "schema": {
                    "type": "object",
                    "properties": {"colour": {"type": "string", "maxLength": 20}},
                    "required": ["colour"],
                    "additionalProperties": False,
                },
                "strict": True,
            }
        },
        max_output_tokens=40,
        temperature=0,
    )
    assert isinstance(json.loads(response.output_text)["colour"], str)
    assert response.text is not None and response.text.format is not None
    assert response.text.format.type == "json_schema"


def test_function_call_and_its_output_fed_back(platform: Platform) -> None:
    account = platform.account("1")
    sdk = client(platform, account)
    raw = sdk.responses.with_raw_response.create(
        model="gpt-fast",
        input="What is the weather in Paris?",
        tools=[WEATHER],
        tool_choice="required",
        max_output_tokens=60,
        temperature=0,
    )
    response = raw.parse()
    [call] = response.output
    assert call.type == "function_call" and call.name == "get_weather"
    assert call.call_id.startswith("call_") and call.id and call.id.startswith("fc_")
    assert isinstance(json.loads(call.arguments)["city"], str)
    assert_billed(platform, account, raw.headers["x-request-id"], response.usage)

    # The call and its result go back as input items; tool_choice "none" asks for words.
    # (Sent back as they came: the SDK's types describe them as params, not output.)
    answer = sdk.responses.create(
        model="gpt-fast",
        input=cast(
            Any,
            [
                {"role": "user", "content": "What is the weather in Paris?"},
                *[item.model_dump(exclude_none=True) for item in response.output],
                {"type": "function_call_output", "call_id": call.call_id, "output": "Sunny, 21 C"},
            ],
        ),
        tools=[WEATHER],
        tool_choice="none",
        max_output_tokens=20,
        temperature=0,
    )
    assert answer.output_text
    assert all(item.type == "message" for item in answer.output)


def test_named_tool_choice(platform: Platform) -> None:
    sdk = client(platform, platform.account("1"))
    response = sdk.responses.create(
        model="gpt-fast",
        input="Hello",
        tools=[WEATHER, TIME],
        tool_choice={"type": "function", "name": "get_time"},
        max_output_tokens=40,
        temperature=0,
    )
    [call] = response.output
    assert call.type == "function_call" and call.name == "get_time"
    assert json.loads(call.arguments) == {}


def test_stream_is_the_typed_events(platform: Platform) -> None:
    account = platform.account("1")
    sdk = client(platform, account)
    # A short closed schema ends the answer well within its room: the SDK's final response
    # is the `response.completed` one.
    with sdk.responses.stream(
        model="gpt-fast",
        input="Say hello.",
        text={"format": WORD},
        max_output_tokens=60,
        temperature=0,
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert "response.output_text.delta" in kinds
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert isinstance(json.loads(final.output_text)["word"], str) and final.usage is not None
    [record] = platform.usage(account)
    assert_billed(platform, account, record.request_id, final.usage)


def test_text_streams_as_it_is_generated(platform: Platform) -> None:
    account = platform.account("1")
    sdk = client(platform, account)
    events = list(
        sdk.responses.create(
            model="gpt-fast", input="Tell me a story.", max_output_tokens=12, stream=True
        )
    )
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert len(deltas) > 1  # token by token, not one piece at the end
    created, final = events[0], events[-1]
    assert created.type == "response.created" and final.type == "response.incomplete"
    assert final.response.id == created.response.id
    assert final.response.output_text == "".join(deltas)
    assert final.response.incomplete_details is not None
    assert final.response.usage is not None and final.response.usage.output_tokens == 12
    [record] = platform.usage(account)
    assert_billed(platform, account, record.request_id, final.response.usage)
    # Stored as streamed, under the id the stream named.
    stored = sdk.responses.retrieve(created.response.id)
    assert stored.output_text == final.response.output_text


def test_streamed_function_call(platform: Platform) -> None:
    sdk = client(platform, platform.account("1"))
    events = list(
        sdk.responses.create(
            model="gpt-fast",
            input="What is the weather in Paris?",
            tools=[WEATHER],
            tool_choice="required",
            max_output_tokens=60,
            stream=True,
        )
    )
    kinds = [event.type for event in events]
    assert "response.function_call_arguments.delta" in kinds
    assert [e.sequence_number for e in events] == list(range(len(events)))
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    completed = events[-1]
    assert completed.type == "response.completed"
    [call] = completed.response.output
    assert call.type == "function_call" and call.arguments == done.arguments


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "hi", "reasoning": {"effort": "low"}}, "reasoning"),
        ({"input": "hi", "max_output_tokens": 0}, "max_output_tokens"),
        ({"input": "hi", "max_output_tokens": 10**9}, "max_output_tokens"),
        ({"input": [{"role": "user", "content": "hi", "colour": "red"}]}, "input[0].colour"),
        ({"input": [{"type": "input_image", "image_url": "x"}]}, "input[0]"),
        (
            {"input": [{"role": "user", "content": [{"type": "input_file"}]}]},
            "input[0].content[0].type",
        ),
        ({"input": "hi", "tools": [{"type": "web_search"}]}, "tools[0].type"),
        ({"input": "hi", "text": {"format": {"type": "json_schema"}}}, "text.format"),
        ({"input": "hi", "tool_choice": "required"}, "tool_choice"),
        ({}, "input"),
    ],
)
def test_bad_fields_are_a_400_naming_them(
    platform: Platform, body: dict[str, Any], param: str
) -> None:
    account = platform.account("1")
    answer = httpx.post(
        platform.url + "/v1/responses",
        json={"model": "gpt-fast", **body},
        headers={"authorization": f"Bearer {account.secret}"},
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["param"] == param
    assert platform.balance(account) == START


def test_sdk_raises_bad_request(platform: Platform) -> None:
    sdk = client(platform, platform.account("1"))
    with pytest.raises(openai.BadRequestError) as raised:
        sdk.responses.create(model="gpt-fast", input="hi", extra_body={"background": True})
    assert raised.value.param == "background"


def test_previous_response_continues_the_conversation(platform: Platform) -> None:
    account = platform.account("1")
    sdk = client(platform, account)
    first = sdk.responses.create(
        model="gpt-fast",
        instructions="Be brief.",
        input="My name is Zorblax and I live on the planet Quibbit.",
        max_output_tokens=20,
        temperature=0,
    )
    question = "What is my name?"
    alone = sdk.responses.create(model="gpt-fast", input=question, max_output_tokens=5, store=False)
    raw = sdk.responses.with_raw_response.create(
        model="gpt-fast", input=question, previous_response_id=first.id, max_output_tokens=5
    )
    followed = raw.parse()
    assert followed.previous_response_id == first.id
    # The earlier turn and its answer went upstream with the question (and were billed).
    assert first.usage is not None and alone.usage is not None and followed.usage is not None
    assert followed.usage.input_tokens >= alone.usage.input_tokens + first.usage.output_tokens
    record = platform.usage_for(raw.headers["x-request-id"])
    assert record is not None and record.prompt_tokens == followed.usage.input_tokens

    # A chain of three: the second's stored history includes the first turn.
    third = sdk.responses.create(
        model="gpt-fast", input="Thanks.", previous_response_id=followed.id, max_output_tokens=5
    )
    assert third.usage is not None
    assert third.usage.input_tokens > followed.usage.input_tokens


def test_stored_responses_are_retrieved_and_deleted_by_their_organisation(
    platform: Platform,
) -> None:
    owner = platform.account("1")
    other = platform.account("1")
    sdk, stranger = client(platform, owner), client(platform, other)
    created = sdk.responses.create(model="gpt-fast", input="Say hello.", max_output_tokens=6)
    assert created.to_dict()["store"] is True

    fetched = sdk.responses.retrieve(created.id)
    assert fetched.model_dump() == created.model_dump()

    # Another organisation can neither see, continue nor delete it.
    with pytest.raises(openai.NotFoundError):
        stranger.responses.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        stranger.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError) as raised:
        stranger.responses.create(
            model="gpt-fast", input="Hi", previous_response_id=created.id, max_output_tokens=4
        )
    assert raised.value.body["param"] == "previous_response_id"  # type: ignore[index]
    assert platform.balance(other) == START == platform.ledger_sum(other)

    sdk.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        sdk.responses.delete(created.id)


def test_store_false_keeps_nothing(platform: Platform) -> None:
    sdk = client(platform, platform.account("1"))
    created = sdk.responses.create(
        model="gpt-fast", input="Say hello.", max_output_tokens=4, store=False
    )
    assert created.to_dict()["store"] is False
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        sdk.responses.create(
            model="gpt-fast", input="Hi", previous_response_id=created.id, max_output_tokens=4
        )
