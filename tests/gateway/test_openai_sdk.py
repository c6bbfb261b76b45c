"""The official OpenAI SDK against the gateway over real llama.cpp servers (SmolLM2)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import httpx2
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionStreamOptionsParam

from gptapi.kit.money import token_cost
from tests.support.platform import Account, Platform

HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Say hello."}]


def client(platform: Platform, account: Account, **kwargs: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=platform.url + "/v1", api_key=account.secret, **kwargs)


def test_chat_completion_is_billed_exactly(platform: Platform) -> None:
    account = platform.account("1")
    response = client(platform, account).chat.completions.with_raw_response.create(
        model="gpt-fast", messages=HELLO, max_tokens=8
    )
    completion = response.parse()
    assert completion.model == "gpt-fast"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content
    assert completion.usage is not None and completion.usage.prompt_tokens > 0
    assert 0 < completion.usage.completion_tokens <= 8
    request_id = response.headers["x-request-id"]
    assert request_id.startswith("req_")

    record = platform.usage_for(request_id)
    assert record is not None
    expected = token_cost(completion.usage.prompt_tokens, 250) + token_cost(
        completion.usage.completion_tokens, 500
    )
    assert (record.prompt_tokens, record.completion_tokens) == (
        completion.usage.prompt_tokens,
        completion.usage.completion_tokens,
    )
    assert record.cost_nanos == expected
    assert record.metered_by == "upstream" and record.outcome == "completed"
    assert platform.balance(account) == 1_000_000_000 - expected == platform.ledger_sum(account)


def test_gpt_full_is_priced_as_gpt_full(platform: Platform) -> None:
    account = platform.account("1")
    completion = client(platform, account).chat.completions.create(
        model="gpt-full", messages=HELLO, max_tokens=4
    )
    assert completion.model == "gpt-full"
    assert completion.usage is not None
    cost = completion.usage.prompt_tokens * 500 + completion.usage.completion_tokens * 1000
    assert platform.balance(account) == 1_000_000_000 - cost


def test_async_client_and_parameters_pass_through(platform: Platform) -> None:
    account = platform.account("1")

    async def run() -> openai.types.chat.ChatCompletion:
        async with openai.AsyncOpenAI(base_url=platform.url + "/v1", api_key=account.secret) as c:
            return await c.chat.completions.create(
                model="gpt-fast",
                messages=[{"role": "user", "content": "Give me a JSON object with key a."}],
                max_tokens=24,
                temperature=0,
                seed=7,
                response_format={"type": "json_object"},
            )

    completion = asyncio.run(run())
    content = completion.choices[0].message.content
    assert content is not None and content.lstrip().startswith("{")


@pytest.mark.parametrize("include_usage", [False, True])
def test_streaming_chat(platform: Platform, include_usage: bool) -> None:
    account = platform.account("1")
    options: ChatCompletionStreamOptionsParam | None = (
        {"include_usage": True} if include_usage else None
    )
    stream = client(platform, account).chat.completions.create(
        model="gpt-fast", messages=HELLO, max_tokens=8, stream=True, stream_options=options
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    usages = [c.usage for c in chunks if c.usage is not None]
    assert all(c.model == "gpt-fast" for c in chunks)
    [record] = platform.usage(account)
    assert record.metered_by == "upstream" and record.completion_tokens > 0
    if include_usage:
        assert [c.choices for c in chunks if c.usage is not None] == [[]]
        assert [(u.prompt_tokens, u.completion_tokens) for u in usages] == [
            (record.prompt_tokens, record.completion_tokens)
        ]
    else:
        # The gateway always asks upstream for usage, and strips it for this client.
        assert usages == []
    assert platform.balance(account) == 1_000_000_000 - record.cost_nanos


def test_async_streaming(platform: Platform) -> None:
    account = platform.account("1")

    async def run() -> str:
        async with openai.AsyncOpenAI(base_url=platform.url + "/v1", api_key=account.secret) as c:
            stream = await c.chat.completions.create(
                model="gpt-full", messages=HELLO, max_tokens=6, stream=True
            )
            return "".join([ch.choices[0].delta.content or "" async for ch in stream if ch.choices])

    assert asyncio.run(run())
    assert platform.usage(account)[0].outcome == "completed"


def test_tools_pass_through(platform: Platform) -> None:
    account = platform.account("1")
    completion = client(platform, account).chat.completions.create(
        model="gpt-fast",
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Weather for a city",
                    "parameters": {
                        "type": "object",
                        "properties": {"city": {"type": "string"}},
                        "required": ["city"],
                    },
                },
            }
        ],
        max_tokens=48,
    )
    # llama-server refuses `tools` unless it runs jinja templates, as ours do; the exact
    # body forwarded upstream is checked against the recording fake upstream.
    assert completion.choices[0].finish_reason in {"tool_calls", "stop", "length"}
    assert completion.usage is not None and completion.usage.completion_tokens > 0


def test_completions_sync_and_streaming(platform: Platform) -> None:
    account = platform.account("1")
    c = client(platform, account)
    completion = c.completions.create(model="gpt-fast", prompt="Once upon a time", max_tokens=5)
    assert completion.choices[0].text
    assert completion.model == "gpt-fast"
    chunks = list(
        c.completions.create(model="gpt-fast", prompt="Once upon a time", max_tokens=5, stream=True)
    )
    assert "".join(ch.choices[0].text for ch in chunks if ch.choices)
    assert all(ch.usage is None for ch in chunks)
    records = platform.usage(account)
    assert [r.endpoint for r in records] == ["completions", "completions"]
    assert all(r.completion_tokens > 0 and r.metered_by == "upstream" for r in records)


def test_completions_token_array_prompt(platform: Platform) -> None:
    account = platform.account("1")
    completion = client(platform, account).completions.create(
        model="gpt-fast", prompt=[19556, 905], max_tokens=3
    )
    assert completion.usage is not None and completion.usage.prompt_tokens == 2


@pytest.mark.parametrize(
    "value",
    [
        "Text to embed",
        ["one", "two words", "three little words"],
        [19556, 905],
        [[19556], [905, 19556]],
    ],
    ids=["string", "strings", "tokens", "token-arrays"],
)
def test_embeddings(platform: Platform, value: object) -> None:
    account = platform.account("1")
    result = client(platform, account).embeddings.create(model="embed", input=value)  # type: ignore[arg-type]
    count = len(value) if isinstance(value, list) and not isinstance(value[0], int) else 1
    assert len(result.data) == count
    assert len(result.data[0].embedding) == 576
    norm = sum(x * x for x in result.data[0].embedding) ** 0.5
    assert abs(norm - 1) < 1e-3  # llama-server normalises mean-pooled embeddings
    assert result.model == "embed"
    [record] = platform.usage(account)
    assert record.prompt_tokens == result.usage.prompt_tokens > 0
    assert record.completion_tokens == 0
    assert record.cost_nanos == result.usage.prompt_tokens * 50


def test_one_token_embedding_costs_exactly_fifty_nanodollars(platform: Platform) -> None:
    account = platform.account("1")
    result = client(platform, account).embeddings.create(model="embed", input=[905])
    assert result.usage.prompt_tokens == 1
    [record] = platform.usage(account)
    assert record.cost_nanos == 50  # $0.00000005
    assert platform.balance(account) == 1_000_000_000 - 50


def test_models_list_with_prices(platform: Platform) -> None:
    account = platform.account("1")
    models = client(platform, account).models.list()
    by_id = {m.id: m for m in models.data}
    assert set(by_id) == {"gpt-fast", "gpt-full", "embed"}
    pricing = {k: (m.model_extra or {})["pricing"] for k, m in by_id.items()}
    assert pricing["gpt-fast"]["input"] == "0.25" and pricing["gpt-fast"]["output"] == "0.5"
    assert pricing["gpt-full"]["input"] == "0.5" and pricing["gpt-full"]["output"] == "1"
    assert pricing["embed"]["input"] == "0.05"
    assert client(platform, account).models.retrieve("embed").id == "embed"


def test_models_report_capabilities_and_context_length(platform: Platform) -> None:
    sdk = client(platform, platform.account("1"), max_retries=0)
    listed = {m.id: m.model_extra or {} for m in sdk.models.list().data}
    retrieved = {name: sdk.models.retrieve(name).model_extra or {} for name in listed}
    assert listed == retrieved
    # The fleet runs SmolLM2 with 2048 tokens of context per slot, text only.
    assert {name: extra["context_length"] for name, extra in listed.items()} == {
        "gpt-fast": 2048,
        "gpt-full": 2048,
        "embed": 2048,
    }
    chat = {"chat", "completions", "tools", "structured_outputs"}
    expected = {
        "gpt-fast": chat,
        "gpt-full": chat,
        "embed": {"embeddings"},
    }
    for name, extra in listed.items():
        capabilities = extra["capabilities"]
        assert {k for k, on in capabilities.items() if on} == expected[name], name
        assert set(capabilities) >= {"tools", "vision", "embeddings", "audio"}
    with pytest.raises(openai.NotFoundError) as missing:
        sdk.models.retrieve("gpt-5")
    assert missing.value.code == "model_not_found"


def test_errors_map_to_sdk_exceptions(platform: Platform) -> None:
    account = platform.account("1")
    c = client(platform, account, max_retries=0)
    with pytest.raises(openai.NotFoundError) as not_found:
        c.chat.completions.create(model="gpt-5", messages=HELLO)
    assert not_found.value.code == "model_not_found"
    assert not_found.value.request_id and not_found.value.request_id.startswith("req_")
    with pytest.raises(openai.BadRequestError) as bad:
        c.chat.completions.create(model="gpt-fast", messages=[])
    assert bad.value.param == "messages"
    with pytest.raises(openai.BadRequestError):
        c.chat.completions.create(model="gpt-fast", messages=HELLO, max_tokens=10**9)
    with pytest.raises(openai.BadRequestError) as wrong_kind:
        c.embeddings.create(model="gpt-fast", input="x")
    assert wrong_kind.value.code == "model_not_supported"
    with pytest.raises(openai.AuthenticationError) as auth:
        openai.OpenAI(
            base_url=platform.url + "/v1", api_key="gpt_live_" + "x" * 43, max_retries=0
        ).models.list()
    assert auth.value.code == "invalid_api_key"
    assert platform.usage(account) == []  # nothing billed for any of them


def test_context_length_exceeded_is_a_400(platform: Platform) -> None:
    account = platform.account("5")
    long_prompt = "hello " * 2100  # more than the 2048-token slot
    with pytest.raises(openai.BadRequestError) as error:
        client(platform, account, max_retries=0).chat.completions.create(
            model="gpt-fast", messages=[{"role": "user", "content": long_prompt}], max_tokens=16
        )
    assert error.value.code == "context_length_exceeded"
    [record] = platform.usage(account)
    assert record.cost_nanos == 0 and record.status == 400


def test_insufficient_quota_is_not_retried(platform: Platform) -> None:
    account = platform.account("0")
    attempts: list[httpx2.Request] = []
    http = httpx2.Client(event_hooks={"request": [attempts.append]})
    c = openai.OpenAI(
        base_url=platform.url + "/v1", api_key=account.secret, http_client=http, max_retries=2
    )
    with pytest.raises(openai.RateLimitError) as error:
        c.chat.completions.create(model="gpt-fast", messages=HELLO)
    assert error.value.code == "insufficient_quota"
    assert error.value.response.headers["x-should-retry"] == "false"
    assert len(attempts) == 1
    assert platform.usage(account) == []


def test_metrics_expose_the_gateway(platform: Platform) -> None:
    account = platform.account("1")
    client(platform, account).chat.completions.create(
        model="gpt-fast", messages=HELLO, max_tokens=2
    )
    text = httpx.get(platform.url + "/metrics").text
    for name in (
        'gptapi_requests_total{endpoint="chat.completions",model="gpt-fast",status="200"}',
        "gptapi_request_duration_seconds_bucket",
        'gptapi_tokens_total{kind="completion",model="gpt-fast"}',
        'gptapi_cost_nanodollars_total{model="gpt-fast"}',
        "gptapi_upstream_healthy{",
        "gptapi_upstream_in_flight{",
        "gptapi_usage_queue_depth",
        "gptapi_ledger_batch_size_bucket",
    ):
        assert name in text, name


def test_every_response_has_a_request_id(platform: Platform) -> None:
    for response in (
        httpx.get(platform.url + "/healthz"),
        httpx.get(platform.url + "/nowhere"),
        httpx.post(platform.url + "/v1/chat/completions", content=b"{"),
    ):
        assert response.headers["x-request-id"].startswith("req_")


SERVED = {("GET", "/v1/models"), ("POST", "/v1/chat/completions")}
UNKNOWN_URLS = [
    (method, path)
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
    for path in (
        "/v1",
        "/v1/nowhere",
        "/v1/chat/completions/x",
        "/v1/chat/completions",
        "/v1/models",
    )
    if (method, path) not in SERVED
]


@pytest.mark.parametrize(("method", "path"), UNKNOWN_URLS)
def test_unknown_v1_urls_are_openai_404s(platform: Platform, method: str, path: str) -> None:
    response = httpx.request(method, platform.url + path)
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "message": f"Invalid URL ({method} {path})",
            "type": "invalid_request_error",
            "param": None,
            "code": "unknown_url",
        }
    }


def test_the_sdk_raises_not_found_for_an_unknown_url(platform: Platform) -> None:
    sdk = client(platform, platform.account("1"), max_retries=0)
    with pytest.raises(openai.NotFoundError) as raised:
        sdk.post("/assistants/nowhere", body={"a": 1}, cast_to=httpx.Response)
    assert raised.value.code == "unknown_url"
    with pytest.raises(openai.NotFoundError) as raised:
        sdk.get("/nowhere", cast_to=httpx.Response)
    assert raised.value.code == "unknown_url"
    with pytest.raises(openai.NotFoundError) as raised:
        sdk.delete("/chat/completions", cast_to=httpx.Response)
    assert raised.value.code == "unknown_url"
