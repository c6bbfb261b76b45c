"""Credit holds: a request is admitted only if its maximum cost (prompt estimate + max_tokens
at the model's prices) fits the balance less what is pending and held. Under 1,000
concurrent requests the balance never goes below zero, and the books always balance."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import orjson
import pytest

from gptapi.admin import service
from gptapi.inference.launcher import LocalFleet
from gptapi.kit.money import format_usd
from gptapi.models import Organization, User
from tests.gateway.admission import (
    CHAT,
    COMPLETIONS,
    EMBEDDING_OVERHEAD_TOKENS,
    EMBEDDINGS,
    TEMPLATE_OVERHEAD_TOKENS,
    Reply,
    assert_books_balance,
    assert_openai_error,
    body,
    chat_body,
    chat_hold,
    chat_reservation,
    cost,
    custom_platform,
    dollars,
    fire,
    padded,
    post,
)
from tests.support.platform import Account, Platform
from tests.support.threads import wait_until

# A request a small model answers at length: greedy (temperature 0), it never stops within
# a few tokens, so each generation is exactly max_tokens.
STORY = [{"role": "user", "content": "Write a long story about a lighthouse keeper."}]
EXACT_MODEL = "output-only"  # served by the chat llama.cpp server, billed for output only


@pytest.fixture(scope="module")
def roomy(
    backend: str, llama_fleet: LocalFleet, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """Room for bursts: requests may queue for the four llama.cpp slots for up to 2 min."""
    with custom_platform(
        backend,
        llama_fleet,
        tmp_path_factory,
        extra_chat_models={EXACT_MODEL: (0, 500)},
        queue_timeout_seconds=120.0,
    ) as platform:
        yield platform


def insufficient(response: object, required: int, available: int) -> str:
    error = assert_openai_error(
        response,  # type: ignore[arg-type]
        429,
        "insufficient_quota",
        type="insufficient_quota",
    )
    assert response.headers["x-should-retry"] == "false"  # type: ignore[attr-defined]
    message: str = error["message"]
    assert f"may cost up to {format_usd(required)}" in message, message
    assert f"available balance is {format_usd(available)}" in message, message
    return message


# ---------------------------------------------------------------- single requests


def test_max_cost_above_the_balance_is_refused_and_lower_max_tokens_succeeds(
    platform: Platform,
) -> None:
    balance = 100_000  # $0.0001
    account = platform.account(dollars(balance))
    big = chat_body(max_tokens=200)
    required = chat_hold(big, 200)
    assert required > balance

    message = insufficient(post(platform, account, CHAT, big), required, balance)
    prompt_estimate = len(big) + TEMPLATE_OVERHEAD_TOKENS
    assert f"({prompt_estimate} prompt tokens at most + 200 completion tokens)" in message
    assert "lower max_tokens" in message
    assert platform.usage(account) == []
    assert platform.balance(account) == balance

    small = chat_body(max_tokens=8)
    assert chat_hold(small, 8) <= balance
    response = post(platform, account, CHAT, small)
    assert response.status_code == 200, response.text
    usage = response.json()["usage"]
    [record] = platform.usage(account)
    assert record.cost_nanos == cost("gpt-fast", usage["prompt_tokens"], usage["completion_tokens"])
    assert assert_books_balance(platform, account, balance) == record.cost_nanos


@pytest.mark.parametrize("stream", [False, True])
def test_hold_boundary_is_exact(platform: Platform, stream: bool) -> None:
    raw = chat_body(max_tokens=4, stream=stream)
    hold = chat_hold(raw, 4)

    short = platform.account(dollars(hold - 1))
    insufficient(post(platform, short, CHAT, raw), hold, hold - 1)
    assert platform.usage(short) == []

    exact = platform.account(dollars(hold))
    response = post(platform, exact, CHAT, raw)
    assert response.status_code == 200, response.text
    spent = assert_books_balance(platform, exact, hold)
    assert 0 < spent <= hold


def test_hold_multiplies_max_tokens_by_n(platform: Platform) -> None:
    one = chat_body(max_tokens=8, n=1)
    three = chat_body(max_tokens=8, n=3)
    balance = chat_hold(one, 8) + 1000  # one choice fits; three do not
    assert chat_hold(three, 24) > balance
    account = platform.account(dollars(balance))
    insufficient(post(platform, account, CHAT, three), chat_hold(three, 24), balance)
    assert post(platform, account, CHAT, one).status_code == 200


def test_completions_hold_counts_every_prompt(platform: Platform) -> None:
    raw = body(model="gpt-fast", prompt=["a", "b", "c"], max_tokens=10)
    hold = (len(raw) + TEMPLATE_OVERHEAD_TOKENS) * 250 + 3 * 10 * 500  # 3 prompts x 10
    short = platform.account(dollars(hold - 1))
    insufficient(post(platform, short, COMPLETIONS, raw), hold, hold - 1)
    exact = platform.account(dollars(hold))
    response = post(platform, exact, COMPLETIONS, raw)
    assert response.status_code == 200, response.text
    assert len(response.json()["choices"]) == 3
    assert 0 < assert_books_balance(platform, exact, hold) <= hold


def test_embeddings_hold_is_the_input_estimate(platform: Platform) -> None:
    raw = body(model="embed", input=["one", "two", "three"])
    hold = (len(raw) + 3 * EMBEDDING_OVERHEAD_TOKENS) * 50
    short = platform.account(dollars(hold - 1))
    insufficient(post(platform, short, EMBEDDINGS, raw), hold, hold - 1)
    exact = platform.account(dollars(hold))
    response = post(platform, exact, EMBEDDINGS, raw)
    assert response.status_code == 200, response.text
    assert (
        assert_books_balance(platform, exact, hold)
        == response.json()["usage"]["prompt_tokens"] * 50
    )


def test_grant_from_another_process_is_seen_within_the_refresh(platform: Platform) -> None:
    account = platform.account("0")
    raw = chat_body(max_tokens=4)
    insufficient(post(platform, account, CHAT, raw), chat_hold(raw, 4), 0)

    platform.grant(account, "1")  # straight into the database, as `gptapi admin grant` does
    refresh = platform.settings.balance_refresh_seconds
    wait_until(lambda: post(platform, account, CHAT, raw).status_code == 200, timeout=refresh + 10)
    assert assert_books_balance(platform, account, 1_000_000_000) > 0


def test_credit_refusal_gives_back_its_tpm_reservation(platform: Platform) -> None:
    account = platform.account("0", rpm=0, tpm=1000)
    raw = chat_body(max_tokens=500)
    assert 500 < chat_reservation(raw, 500) <= 1000  # two would not fit the bucket
    for _ in range(4):
        response = post(platform, account, CHAT, raw)
        insufficient(response, chat_hold(raw, 500), 0)
        assert response.headers["x-ratelimit-limit-tokens"] == "1000"
        assert int(response.headers["x-ratelimit-remaining-tokens"]) < 1000


@pytest.mark.parametrize(
    ("path", "raw", "prompt_at_least", "completion"),
    [
        (CHAT, chat_body(max_tokens=6, n=3, messages=STORY, temperature=0), 30, 18),
        (
            COMPLETIONS,
            body(model="gpt-fast", prompt=["hi " * 100, "yo " * 50], max_tokens=6, temperature=0),
            150,
            12,
        ),
    ],
    ids=["chat-n3", "completions-two-prompts"],
)
def test_every_choice_is_billed(
    platform: Platform, path: str, raw: bytes, prompt_at_least: int, completion: int
) -> None:
    """The hold reserves max_tokens for every choice; the bill counts every choice (each
    goes upstream on its own, since llama.cpp's usage covers one generation only)."""
    account = platform.account("1")
    response = post(platform, account, path, raw)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert [c["index"] for c in answer["choices"]] == list(range(len(answer["choices"])))
    [record] = platform.usage(account)
    assert record.prompt_tokens >= prompt_at_least
    assert record.completion_tokens == completion  # greedy, far from done: max_tokens each
    assert (answer["usage"]["prompt_tokens"], answer["usage"]["completion_tokens"]) == (
        record.prompt_tokens,
        record.completion_tokens,
    )
    assert_books_balance(platform, account, 1_000_000_000)


@pytest.mark.parametrize(
    ("path", "raw", "choices"),
    [
        (CHAT, chat_body(max_tokens=6, n=3, messages=STORY, temperature=0, stream=True), 3),
        (
            COMPLETIONS,
            body(model="gpt-fast", prompt=["hi " * 100, "yo " * 50], n=2, max_tokens=6),
            4,
        ),
    ],
    ids=["chat-n3", "completions-two-prompts-n2"],
)
def test_several_generations_stream_merged_and_billed_each(
    platform: Platform, path: str, raw: bytes, choices: int
) -> None:
    """As OpenAI streams them: one id, each generation's chunks at its own index, one
    usage chunk for all of them, billed from every generation's own usage."""
    account = platform.account("1")
    fields = {**orjson.loads(raw), "stream": True, "stream_options": {"include_usage": True}}
    response = post(platform, account, path, orjson.dumps(fields))
    assert response.status_code == 200, response.text
    chunks = [
        orjson.loads(line.removeprefix("data: "))
        for line in response.text.splitlines()
        if line.startswith("data: ") and line != "data: [DONE]"
    ]
    assert response.text.rstrip().endswith("data: [DONE]")
    assert len({chunk["id"] for chunk in chunks}) == 1
    texts: dict[int, str] = {}
    for chunk in chunks[:-1]:
        for choice in chunk["choices"]:
            delta = choice.get("delta", {}).get("content") or choice.get("text") or ""
            texts[choice["index"]] = texts.get(choice["index"], "") + delta
    assert sorted(texts) == list(range(choices)) and all(texts.values())
    usage = chunks[-1]["usage"]
    [record] = platform.usage(account)
    assert record.outcome == "completed" and record.metered_by == "upstream"
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (
        record.prompt_tokens,
        record.completion_tokens,
    )
    assert record.completion_tokens == 6 * choices  # greedy, far from done: max_tokens each
    assert usage["cost_nanos"] == record.cost_nanos
    assert_books_balance(platform, account, 1_000_000_000)


# ---------------------------------------------------------------- 1,000 at once


def test_thousand_concurrent_requests_never_overdraw(roomy: Platform) -> None:
    """Credit for exactly ten holds; a thousand requests at once, half of them streamed."""
    plain = chat_body(max_tokens=16, stream=False)
    streamed = padded(chat_body(max_tokens=16, stream=True), len(plain))  # the same hold
    hold = chat_hold(plain, 16)  # (body bytes + 64) x 250 + 16 x 500
    assert chat_hold(streamed, 16) == hold
    initial = 10 * hold
    account = roomy.account(dollars(initial))

    replies = fire(roomy, [(CHAT, account, plain if i % 2 else streamed) for i in range(1000)])

    ok = [r for r in replies if r.status == 200]
    refused = [r for r in replies if r.status == 429]
    assert len(ok) + len(refused) == 1000, Counter(r.status for r in replies)
    for reply in refused:
        assert reply.json()["error"]["code"] == "insufficient_quota"
        assert reply.headers["x-should-retry"] == "false"
    assert ok
    # Until ten holds are taken the balance covers one more: at least ten get in.
    assert len(ok) >= 10

    admitted = _ids(ok)
    wait_until(lambda: len(roomy.usage(account)) >= len(admitted), timeout=30)  # see test_burst
    usage = roomy.usage(account)
    # Every admitted request has exactly one usage row; refused ones have none.
    assert len(usage) == len(admitted)
    assert {r.request_id for r in usage} == admitted
    assert admitted.isdisjoint(_ids(refused))
    completed = [r for r in usage if r.request_id in _ids(ok)]
    assert all(r.status == 200 and r.outcome == "completed" for r in completed)
    assert all(0 < r.cost_nanos <= hold for r in completed)
    spent = assert_books_balance(roomy, account, initial)
    assert spent <= initial
    assert roomy.balance(account) >= 0
    # No more successes than the balance could pay for, even at the cheapest real cost.
    assert len(ok) <= initial // min(r.cost_nanos for r in completed)


def test_exact_holds_admit_exactly_ten_of_a_thousand(roomy: Platform) -> None:
    """When the real cost equals the hold, the books leave no slack at all: a model billed
    only for output, asked greedily for a story, so every request generates exactly
    max_tokens. Two keys of one organisation share its balance."""
    raw = body(model=EXACT_MODEL, messages=STORY, max_tokens=2, temperature=0)
    streamed = body(model=EXACT_MODEL, messages=STORY, max_tokens=2, temperature=0, stream=True)
    hold = 2 * 500  # 0 per prompt token, 500 per completion token
    account = roomy.account(dollars(10 * hold))
    other = _second_key(roomy, account)
    requests = [
        (CHAT, account if i % 2 else other, streamed if i % 3 == 0 else raw) for i in range(1000)
    ]

    replies = fire(roomy, requests)

    ok = [r for r in replies if r.status == 200]
    refused = [r for r in replies if r.status == 429]
    assert len(ok) + len(refused) == 1000, Counter(r.status for r in replies)
    assert all(r.json()["error"]["code"] == "insufficient_quota" for r in refused)
    assert len(ok) <= 10  # the balance pays for ten, to the nano-dollar
    assert len(ok) == 10
    wait_until(lambda: len(roomy.usage(account)) >= len(ok), timeout=30)
    usage = roomy.usage(account)
    assert {r.request_id for r in usage} == _ids(ok)
    assert sorted(r.cost_nanos for r in usage if r.status == 200) == [hold] * len(ok)
    assert assert_books_balance(roomy, account, 10 * hold) == len(ok) * hold
    assert roomy.balance(account) == (10 - len(ok)) * hold  # zero once ten completed


def _ids(replies: list[Reply]) -> set[str]:
    return {r.headers["x-request-id"] for r in replies}


def _second_key(platform: Platform, account: Account) -> Account:
    async def work() -> Account:
        async with platform.sessions() as session, session.begin():
            organization = await session.get(Organization, account.organization_id)
            user = await session.get(User, account.user_id)
            assert organization is not None and user is not None
            key, secret = await service.create_key(
                session, organization, user, name="second", rpm_limit=0, tpm_limit=0
            )
            return Account(secret, key.id, organization.id, user.id)

    return platform.portal.call(work())
