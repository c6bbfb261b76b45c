"""Bad input: every malformed request gets the right 4xx in OpenAI's error envelope, with
the request id, before anything is reserved or forwarded. Never a 5xx, never billed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from gptapi.inference.launcher import LocalFleet
from tests.gateway.admission import (
    CHAT,
    COMPLETIONS,
    EMBEDDINGS,
    HELLO,
    assert_openai_error,
    body,
    chat_body,
    custom_platform,
    padded,
    post,
)
from tests.support.platform import Account, Platform

LIMIT = 64 * 1024  # max_request_body_bytes of this module's gateway


@pytest.fixture(scope="module")
def gateway(
    backend: str, llama_fleet: LocalFleet, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    with custom_platform(
        backend, llama_fleet, tmp_path_factory, max_request_body_bytes=LIMIT
    ) as platform:
        yield platform


def not_billed(platform: Platform, account: Account) -> None:
    assert platform.usage(account) == []
    assert platform.balance(account) == platform.ledger_sum(account) == 1_000_000_000


def chat(**fields: Any) -> bytes:
    return orjson.dumps({"model": "gpt-fast", "messages": HELLO, "max_tokens": 4, **fields})


def chat_without(field: str) -> bytes:
    fields: dict[str, Any] = {"model": "gpt-fast", "messages": HELLO, "max_tokens": 4}
    del fields[field]
    return orjson.dumps(fields)


def message(**fields: Any) -> bytes:
    return chat(messages=[{"role": "user", "content": "hi", **fields}])


def assistant_call(**fields: Any) -> dict[str, Any]:
    call: dict[str, Any] = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
        **fields,
    }
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [{k: v for k, v in call.items() if v is not None}],
    }


TOOL_TURN = [HELLO[0], assistant_call()]


# (path, body, status, code, param); param None is checked as null, ... is not checked.
CASES: dict[str, tuple[str, bytes, int, str | None, Any]] = {
    # -- not a JSON object
    "malformed-json": (CHAT, b'{"model": "gpt-fast",', 400, None, None),
    "json-array": (CHAT, b'[{"model": "gpt-fast"}]', 400, None, None),
    "json-string": (CHAT, b'"gpt-fast"', 400, None, None),
    "json-null": (CHAT, b"null", 400, None, None),
    "json-number": (CHAT, b"42", 400, None, None),
    "empty-body": (CHAT, b"", 400, None, None),
    "whitespace-body": (CHAT, b"  \n\t ", 400, None, None),
    "invalid-utf8": (
        CHAT,
        b'{"model":"gpt-fast","messages":[{"role":"user","content":"\xff\xfe\xc3"}]}',
        400,
        None,
        None,
    ),
    "utf8-bom": (CHAT, b"\xef\xbb\xbf" + chat(), 400, None, None),
    "nan": (CHAT, b'{"model":"gpt-fast","messages":[],"temperature":NaN}', 400, None, None),
    "integer-overflow": (  # beyond 64 bits orjson reads a float
        CHAT,
        b'{"model":"gpt-fast","messages":[],"max_tokens":100000000000000000000000}',
        400,
        "invalid_value",
        "max_tokens",
    ),
    "deeply-nested": (CHAT, b'{"model":"gpt-fast","x":' + b"[" * 20_000, 400, None, None),
    "trailing-garbage": (CHAT, chat() + b"}", 400, None, None),
    # -- model
    "missing-model": (CHAT, chat_without("model"), 400, None, "model"),
    "model-null": (CHAT, chat(model=None), 400, None, "model"),
    "model-empty": (CHAT, chat(model=""), 400, None, "model"),
    "model-number": (CHAT, chat(model=4), 400, None, "model"),
    "model-list": (CHAT, chat(model=["gpt-fast"]), 400, None, "model"),
    "unknown-model": (CHAT, chat(model="gpt-5"), 404, "model_not_found", "model"),
    "embedding-model-on-chat": (CHAT, chat(model="embed"), 400, "model_not_supported", "model"),
    "chat-model-on-embeddings": (
        EMBEDDINGS,
        body(model="gpt-fast", input="x"),
        400,
        "model_not_supported",
        "model",
    ),
    # -- messages
    "missing-messages": (CHAT, chat_without("messages"), 400, None, "messages"),
    "messages-string": (CHAT, chat(messages="Say hello."), 400, "invalid_value", "messages"),
    "messages-object": (CHAT, chat(messages={"role": "user"}), 400, "invalid_value", "messages"),
    "messages-empty": (CHAT, chat(messages=[]), 400, "invalid_value", "messages"),
    "message-not-object": (CHAT, chat(messages=["hi"]), 400, "invalid_value", "messages[0]"),
    "message-without-role": (
        CHAT,
        chat(messages=[{"content": "hi"}]),
        400,
        None,
        "messages[0].role",
    ),
    "message-unknown-role": (
        CHAT,
        chat(messages=[{"role": "wizard", "content": "hi"}]),
        400,
        "invalid_value",
        "messages[0].role",
    ),
    "message-content-number": (
        CHAT,
        chat(messages=[{"role": "user", "content": 5}]),
        400,
        "invalid_value",
        "messages[0].content",
    ),
    # -- the shape of messages and tools: llama.cpp answers these with a 500 of its own
    "content-part-without-text": (
        CHAT,
        chat(messages=[{"role": "user", "content": [{"type": "text"}]}]),
        400,
        "invalid_value",
        "messages[0].content[0]",
    ),
    "content-part-text-number": (
        CHAT,
        chat(messages=[{"role": "user", "content": [{"type": "text", "text": 5}]}]),
        400,
        "invalid_value",
        "messages[0].content[0].text",
    ),
    "content-part-without-type": (
        CHAT,
        chat(messages=[{"role": "user", "content": [{"text": "hi"}]}]),
        400,
        None,
        "messages[0].content[0].type",
    ),
    "content-part-not-object": (
        CHAT,
        chat(messages=[{"role": "user", "content": ["hi"]}]),
        400,
        "invalid_value",
        "messages[0].content[0]",
    ),
    "message-name-number": (CHAT, message(name=5), 400, "invalid_value", "messages[0].name"),
    "tool-call-id-number": (
        CHAT,
        chat(messages=[*TOOL_TURN, {"role": "tool", "content": "sunny", "tool_call_id": 5}]),
        400,
        "invalid_value",
        "messages[2].tool_call_id",
    ),
    "tool-calls-not-list": (
        CHAT,
        chat(messages=[HELLO[0], {"role": "assistant", "tool_calls": {"id": "c"}}]),
        400,
        "invalid_value",
        "messages[1].tool_calls",
    ),
    "tool-call-without-type": (
        CHAT,
        chat(messages=[HELLO[0], assistant_call(type=None)]),
        400,
        None,
        "messages[1].tool_calls[0].type",
    ),
    "tool-call-without-name": (
        CHAT,
        chat(messages=[HELLO[0], assistant_call(function={"arguments": "{}"})]),
        400,
        None,
        "messages[1].tool_calls[0].function.name",
    ),
    "tool-call-without-arguments": (
        CHAT,
        chat(messages=[HELLO[0], assistant_call(function={"name": "weather"})]),
        400,
        None,
        "messages[1].tool_calls[0].function.arguments",
    ),
    "tool-call-arguments-object": (
        CHAT,
        chat(messages=[HELLO[0], assistant_call(function={"name": "f", "arguments": {}})]),
        400,
        "invalid_value",
        "messages[1].tool_calls[0].function.arguments",
    ),
    "tools-not-objects": (CHAT, chat(tools=["weather"]), 400, "invalid_value", "tools[0]"),
    "tool-without-type": (CHAT, chat(tools=[{"x": 1}]), 400, None, "tools[0].type"),
    "tool-not-a-function": (
        CHAT,
        chat(tools=[{"type": "custom", "custom": {"name": "f"}}]),
        400,
        "invalid_value",
        "tools[0].type",
    ),
    "tool-function-without-name": (
        CHAT,
        chat(tools=[{"type": "function", "function": {"parameters": {}}}]),
        400,
        None,
        "tools[0].function.name",
    ),
    "tool-function-name-number": (
        CHAT,
        chat(tools=[{"type": "function", "function": {"name": 5}}]),
        400,
        "invalid_value",
        "tools[0].function.name",
    ),
    # -- max_tokens and friends
    "max-tokens-string": (CHAT, chat(max_tokens="5"), 400, "invalid_value", "max_tokens"),
    "max-tokens-float": (CHAT, chat(max_tokens=5.0), 400, "invalid_value", "max_tokens"),
    "max-tokens-bool": (CHAT, chat(max_tokens=True), 400, "invalid_value", "max_tokens"),
    "max-tokens-zero": (CHAT, chat(max_tokens=0), 400, "invalid_value", "max_tokens"),
    "max-tokens-negative": (CHAT, chat(max_tokens=-1), 400, "invalid_value", "max_tokens"),
    "max-tokens-absurd": (CHAT, chat(max_tokens=10**9), 400, "invalid_value", "max_tokens"),
    "max-tokens-int64": (CHAT, chat(max_tokens=2**63 - 1), 400, "invalid_value", "max_tokens"),
    "max-completion-tokens-zero": (
        CHAT,
        chat(max_completion_tokens=0),
        400,
        "invalid_value",
        "max_completion_tokens",
    ),
    "max-completion-tokens-absurd": (
        CHAT,
        chat(max_completion_tokens=10**7),
        400,
        "invalid_value",
        "max_completion_tokens",
    ),
    "n-zero": (CHAT, chat(n=0), 400, "invalid_value", "n"),
    "n-too-many": (CHAT, chat(n=100), 400, "invalid_value", "n"),
    "n-string": (CHAT, chat(n="2"), 400, "invalid_value", "n"),
    # -- sampling and streaming
    "stream-yes": (CHAT, chat(stream="yes"), 400, "invalid_value", "stream"),
    "stream-one": (CHAT, chat(stream=1), 400, "invalid_value", "stream"),
    "stream-options-string": (
        CHAT,
        chat(stream=True, stream_options="usage"),
        400,
        "invalid_value",
        "stream_options",
    ),
    "temperature-5": (CHAT, chat(temperature=5), 400, "invalid_value", "temperature"),
    "temperature-negative": (CHAT, chat(temperature=-0.1), 400, "invalid_value", "temperature"),
    "temperature-string": (CHAT, chat(temperature="hot"), 400, "invalid_value", "temperature"),
    "top-p-2": (CHAT, chat(top_p=2), 400, "invalid_value", "top_p"),
    "presence-penalty-3": (
        CHAT,
        chat(presence_penalty=3),
        400,
        "invalid_value",
        "presence_penalty",
    ),
    "stop-five": (CHAT, chat(stop=["a", "b", "c", "d", "e"]), 400, "invalid_value", "stop"),
    "stop-number": (CHAT, chat(stop=5), 400, "invalid_value", "stop"),
    "top-logprobs-99": (CHAT, chat(logprobs=True, top_logprobs=99), 400, "invalid_value", ...),
    # -- /v1/completions
    "completions-missing-prompt": (
        COMPLETIONS,
        body(model="gpt-fast", max_tokens=4),
        400,
        None,
        "prompt",
    ),
    "completions-empty-prompt": (
        COMPLETIONS,
        body(model="gpt-fast", prompt="", max_tokens=4),
        400,
        "invalid_value",
        "prompt",
    ),
    "completions-empty-list": (
        COMPLETIONS,
        body(model="gpt-fast", prompt=[], max_tokens=4),
        400,
        "invalid_value",
        "prompt",
    ),
    "completions-negative-token": (
        COMPLETIONS,
        body(model="gpt-fast", prompt=[-1], max_tokens=4),
        400,
        "invalid_value",
        "prompt",
    ),
    "completions-mixed-prompt": (
        COMPLETIONS,
        body(model="gpt-fast", prompt=["a", 1], max_tokens=4),
        400,
        "invalid_value",
        "prompt",
    ),
    "completions-max-tokens-zero": (
        COMPLETIONS,
        body(model="gpt-fast", prompt="hi", max_tokens=0),
        400,
        "invalid_value",
        "max_tokens",
    ),
    "completions-malformed-json": (COMPLETIONS, b"{", 400, None, None),
    # -- /v1/embeddings
    "embeddings-missing-input": (EMBEDDINGS, body(model="embed"), 400, None, "input"),
    "embeddings-empty-string": (
        EMBEDDINGS,
        body(model="embed", input=""),
        400,
        "invalid_value",
        "input",
    ),
    "embeddings-empty-list": (
        EMBEDDINGS,
        body(model="embed", input=[]),
        400,
        "invalid_value",
        "input",
    ),
    "embeddings-empty-item": (
        EMBEDDINGS,
        body(model="embed", input=["a", ""]),
        400,
        "invalid_value",
        "input",
    ),
    "embeddings-too-many": (
        EMBEDDINGS,
        body(model="embed", input=["a"] * 2049),
        400,
        "invalid_value",
        "input",
    ),
    "embeddings-object": (
        EMBEDDINGS,
        body(model="embed", input={"text": "a"}),
        400,
        "invalid_value",
        "input",
    ),
    "embeddings-encoding-hex": (
        EMBEDDINGS,
        body(model="embed", input="a", encoding_format="hex"),
        400,
        "invalid_value",
        "encoding_format",
    ),
    "embeddings-malformed-json": (EMBEDDINGS, b"[1,", 400, None, None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_a_4xx_and_not_billed(gateway: Platform, case: str) -> None:
    path, raw, status, code, param = CASES[case]
    account = gateway.account("1")
    response = post(gateway, account, path, raw, headers={"content-type": "application/json"})
    if param is ...:
        assert_openai_error(response, status, code)
    else:
        assert_openai_error(response, status, code, param=param)
    not_billed(gateway, account)


def test_validation_messages_name_the_parameter(gateway: Platform) -> None:
    account = gateway.account("1")
    error = assert_openai_error(post(gateway, account, CHAT, chat_without("model")), 400)
    assert error["message"] == "you must provide a model parameter"
    error = assert_openai_error(post(gateway, account, CHAT, chat_without("messages")), 400)
    assert error["message"] == "Missing required parameter: 'messages'."
    response = post(gateway, account, CHAT, chat(max_tokens="5"))
    error = assert_openai_error(response, 400, "invalid_value")
    assert "'max_tokens'" in error["message"] and "'5'" in error["message"]
    response = post(gateway, account, CHAT, chat(model="gpt-5"))
    error = assert_openai_error(response, 404, "model_not_found")
    assert "`gpt-5`" in error["message"]
    not_billed(gateway, account)


# ---------------------------------------------------------------- body size


def test_body_at_the_limit_is_accepted(gateway: Platform) -> None:
    account = gateway.account("1")
    raw = padded(chat_body(max_tokens=1), LIMIT)
    response = post(gateway, account, CHAT, raw)
    assert response.status_code == 200, response.text
    assert len(gateway.usage(account)) == 1


def test_body_over_the_limit_with_content_length_is_a_413(gateway: Platform) -> None:
    account = gateway.account("1")
    raw = padded(chat_body(max_tokens=1), LIMIT + 1)
    response = post(gateway, account, CHAT, raw)
    assert response.request.headers["content-length"] == str(LIMIT + 1)
    error = assert_openai_error(response, 413, "request_too_large")
    assert str(LIMIT) in error["message"]
    not_billed(gateway, account)


@pytest.mark.parametrize("size", [LIMIT + 1, 4 * LIMIT])
def test_body_over_the_limit_chunked_is_a_413(gateway: Platform, size: int) -> None:
    account = gateway.account("1")
    raw = padded(chat_body(max_tokens=1), size)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(raw), 4096):
            yield raw[start : start + 4096]

    with httpx.Client(base_url=gateway.url, timeout=30) as client:
        response = client.post(
            CHAT, content=chunks(), headers={"authorization": f"Bearer {account.secret}"}
        )
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in response.request.headers
    assert_openai_error(response, 413, "request_too_large")
    not_billed(gateway, account)


def test_chunked_body_within_the_limit_is_accepted(gateway: Platform) -> None:
    account = gateway.account("1")
    raw = chat_body(max_tokens=1)
    with httpx.Client(base_url=gateway.url, timeout=30) as client:
        response = client.post(
            CHAT,
            content=iter([raw[:10], raw[10:]]),
            headers={"authorization": f"Bearer {account.secret}"},
        )
    assert response.status_code == 200, response.text
    assert len(gateway.usage(account)) == 1


def test_oversized_body_without_a_key_is_refused_before_it_is_read(gateway: Platform) -> None:
    raw = padded(chat_body(max_tokens=1), LIMIT + 1)
    with httpx.Client(base_url=gateway.url, timeout=30) as client:
        response = client.post(CHAT, content=raw)
    assert_openai_error(response, 413, "request_too_large")


# ---------------------------------------------------------------- rejected by llama.cpp


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        # Longer than llama.cpp's physical batch (512): "input (N tokens) is too large to
        # process. increase the physical batch size", a 500.
        (EMBEDDINGS, body(model="embed", input="hello " * 1000)),
        # The model has no vision or audio projector: "image input is not supported", a 500.
        (
            CHAT,
            chat(
                messages=[
                    {
                        "role": "user",
                        "content": [{"type": "image_url", "image_url": {"url": "http://x/y.png"}}],
                    }
                ]
            ),
        ),
        (
            CHAT,
            chat(
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "input_audio",
                                "input_audio": {"data": "AAAA", "format": "wav"},
                            }
                        ],
                    }
                ]
            ),
        ),
    ],
    ids=["embedding-too-long", "image-to-text-model", "audio-to-text-model"],
)
def test_input_the_model_cannot_take_is_a_400(gateway: Platform, path: str, raw: bytes) -> None:
    account = gateway.account("1")
    response = post(gateway, account, path, raw)
    assert response.status_code == 400, response.text
    assert_openai_error(response, 400, response.json()["error"]["code"])
    [record] = gateway.usage(account)
    assert record.cost_nanos == 0 and record.status == 400
