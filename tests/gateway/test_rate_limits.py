"""Per-key rate limits: RPM and TPM token buckets with OpenAI's x-ratelimit-* headers, 429s
that say when to retry (or that retrying cannot help), refunds of unused tokens, limits
inherited from the organisation and the platform, and no billing for refused requests.

Buckets refill continuously (limit/60 per second), so every expectation below either holds
whatever the refill, or leaves a margin of tens of seconds of refill."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from gptapi.inference.launcher import LocalFleet
from tests.gateway.admission import (
    CHAT,
    EMBEDDINGS,
    assert_openai_error,
    body,
    chat_body,
    chat_reservation,
    cost,
    custom_platform,
    padded,
    post,
    set_org_limits,
)
from tests.support.platform import Account, Platform
from tests.support.threads import wait_until

PLATFORM_RPM, PLATFORM_TPM = 37, 54_321
LIMIT_HEADERS = {
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-reset-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-tokens",
}
GO_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)(ms|s))?$")


@pytest.fixture(scope="module")
def gateway(
    backend: str, llama_fleet: LocalFleet, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """Distinctive platform defaults, so a key that inherits them is recognisable."""
    with custom_platform(
        backend,
        llama_fleet,
        tmp_path_factory,
        default_rpm_limit=PLATFORM_RPM,
        default_tpm_limit=PLATFORM_TPM,
    ) as platform:
        yield platform


def seconds(duration: str) -> float:
    match = GO_DURATION.match(duration)
    assert match and duration, duration
    hours, minutes, value, unit = match.groups()
    total = float(int(hours or 0) * 3600 + int(minutes or 0) * 60)
    if value:
        total += float(value) / (1000 if unit == "ms" else 1)
    return total


def limits(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("x-ratelimit-")}


def billed_exactly(platform: Platform, account: Account, initial: int, rows: int) -> None:
    usage = platform.usage(account)
    assert len(usage) == rows
    spent = sum(r.cost_nanos for r in usage)
    assert platform.balance(account) == platform.ledger_sum(account) == initial - spent


# ---------------------------------------------------------------- requests per minute


def test_rpm_headers_on_every_response_and_429_on_the_fourth(gateway: Platform) -> None:
    account = gateway.account("1", rpm=3, tpm=0)
    with httpx.Client(
        base_url=gateway.url, headers={"authorization": f"Bearer {account.secret}"}, timeout=60
    ) as client:
        responses = [
            client.post(CHAT, content=chat_body(max_tokens=2)),
            client.post(CHAT, content=chat_body(max_tokens=2, stream=True)),
            client.post(EMBEDDINGS, content=body(model="embed", input="hello")),
        ]
        fourth = client.post(CHAT, content=chat_body(max_tokens=2))

    for used, response in enumerate(responses, start=1):
        assert response.status_code == 200, response.text
        headers = limits(response)
        # A key with only an RPM limit reports requests, not tokens.
        assert set(headers) == {h for h in LIMIT_HEADERS if h.endswith("requests")}
        assert headers["x-ratelimit-limit-requests"] == "3"
        # One request comes back every 20 s; the three are sent well within that.
        assert headers["x-ratelimit-remaining-requests"] == str(3 - used)
        assert 0 < seconds(headers["x-ratelimit-reset-requests"]) <= used * 20
    assert responses[1].headers["content-type"].startswith("text/event-stream")
    assert responses[1].text.rstrip().endswith("data: [DONE]")

    error = assert_openai_error(fourth, 429, "rate_limit_exceeded", type="requests")
    assert "requests per min (RPM)" in error["message"] and "Limit 3" in error["message"]
    assert "x-should-retry" not in fourth.headers  # waiting helps
    retry_ms = int(fourth.headers["retry-after-ms"])
    assert 0 < retry_ms <= 20_000
    assert int(fourth.headers["retry-after"]) == max(1, -(-retry_ms // 1000))
    assert fourth.headers["x-ratelimit-limit-requests"] == "3"
    assert fourth.headers["x-ratelimit-remaining-requests"] == "0"
    assert 0 < seconds(fourth.headers["x-ratelimit-reset-requests"]) <= 60

    # The three admitted requests are billed; the refused one is logged with its reason, free.
    billed_exactly(gateway, account, 1_000_000_000, rows=3)
    wait_until(lambda: bool(gateway.refusals(account)))
    [refused] = gateway.refusals(account)
    assert (refused.status, refused.outcome, refused.cost_nanos) == (429, "rate_limited", 0)


def test_limits_are_per_key(gateway: Platform) -> None:
    first = gateway.account("1", rpm=1, tpm=0)
    assert post(gateway, first, CHAT, chat_body(max_tokens=1)).status_code == 200
    assert post(gateway, first, CHAT, chat_body(max_tokens=1)).status_code == 429
    second = gateway.account("1", rpm=1, tpm=0)
    assert post(gateway, second, CHAT, chat_body(max_tokens=1)).status_code == 200


# ---------------------------------------------------------------- tokens per minute


def test_tpm_reserves_estimate_plus_max_tokens_and_refunds_the_unused(gateway: Platform) -> None:
    tpm = 6000
    account = gateway.account("1", rpm=0, tpm=tpm)
    # 3000 bytes of JSON whitespace: the prompt estimate counts bytes, the model sees ~33
    # tokens, so nearly all of the reservation comes back once the response is metered.
    raw = padded(chat_body(max_tokens=5), 3000)
    reserved = chat_reservation(raw, 5)

    first = post(gateway, account, CHAT, raw)
    assert first.status_code == 200, first.text
    headers = limits(first)
    assert set(headers) == {h for h in LIMIT_HEADERS if h.endswith("tokens")}
    assert headers["x-ratelimit-limit-tokens"] == str(tpm)
    remaining = int(headers["x-ratelimit-remaining-tokens"])
    used = first.json()["usage"]["total_tokens"]
    # The whole reservation was taken at admission, not just what the model later used
    # (the 2,900-token gap is ~29 s of refill).
    assert tpm - reserved <= remaining < tpm - used
    assert 0 < seconds(headers["x-ratelimit-reset-tokens"]) <= 60

    second = post(gateway, account, CHAT, raw)
    assert second.status_code == 200, second.text  # 2 x 3 069 > 6 000 without the refund
    remaining_after = int(second.headers["x-ratelimit-remaining-tokens"])
    # The refund put the first request's unused ~3 000 tokens back: only `used` are gone.
    # Without it the bucket would hold `remaining` (+ refill) and go negative here.
    assert remaining_after >= tpm - used - reserved > remaining - reserved + 2000
    billed_exactly(gateway, account, 1_000_000_000, rows=2)


def test_tpm_exhausted_by_tokens_actually_used_is_a_retryable_429(gateway: Platform) -> None:
    # One token per digit: ~330 prompt tokens really used, which the refund cannot return.
    digits = "".join(str(i % 10) for i in range(300))
    raw = chat_body(max_tokens=1, messages=[{"role": "user", "content": digits}])
    reserved = chat_reservation(raw, 1)
    tpm = reserved  # the request fits the limit exactly: a later retry can succeed
    account = gateway.account("1", rpm=0, tpm=tpm)

    first = post(gateway, account, CHAT, raw)
    assert first.status_code == 200, first.text
    used = first.json()["usage"]["total_tokens"]
    assert used > 300

    second = post(gateway, account, CHAT, raw)
    # Only ~100 tokens are back (refund) and refill adds tpm/60 a second: the same request
    # needs ~45 s more.
    error = assert_openai_error(second, 429, "rate_limit_exceeded", type="tokens")
    assert "tokens per min (TPM)" in error["message"]
    assert f"Limit {tpm}" in error["message"] and f"Requested {reserved}" in error["message"]
    assert "x-should-retry" not in second.headers
    retry_ms = int(second.headers["retry-after-ms"])
    assert 0 < retry_ms <= used * 60_000 // tpm + 1
    assert int(second.headers["retry-after"]) == max(1, -(-retry_ms // 1000))
    assert second.headers["x-ratelimit-limit-tokens"] == str(tpm)
    assert int(second.headers["x-ratelimit-remaining-tokens"]) < reserved
    billed_exactly(gateway, account, 1_000_000_000, rows=1)


def test_request_larger_than_the_tpm_limit_is_never_retryable(gateway: Platform) -> None:
    tpm = 1000
    account = gateway.account("1", rpm=0, tpm=tpm)
    raw = chat_body(max_tokens=1200)
    response = post(gateway, account, CHAT, raw)
    error = assert_openai_error(response, 429, "rate_limit_exceeded", type="tokens")
    assert response.headers["x-should-retry"] == "false"
    assert "retry-after" not in response.headers and "retry-after-ms" not in response.headers
    assert f"Requested {chat_reservation(raw, 1200)}" in error["message"]
    assert "max_tokens" in error["message"]
    # The bucket is untouched: a request that fits goes straight through.
    assert post(gateway, account, CHAT, chat_body(max_tokens=1)).status_code == 200
    billed_exactly(gateway, account, 1_000_000_000, rows=1)


def test_n_multiplies_the_reservation(gateway: Platform) -> None:
    tpm = 1000
    account = gateway.account("1", rpm=0, tpm=tpm)
    raw = chat_body(max_tokens=300, n=3)  # 900 completion tokens reserved, plus the prompt
    response = post(gateway, account, CHAT, raw)
    assert_openai_error(response, 429, "rate_limit_exceeded", type="tokens")
    assert response.headers["x-should-retry"] == "false"
    assert gateway.usage(account) == []


def test_rpm_and_tpm_together(gateway: Platform) -> None:
    account = gateway.account("1", rpm=2, tpm=5000)
    raw = chat_body(max_tokens=2)
    first = post(gateway, account, CHAT, raw)
    assert first.status_code == 200
    assert set(limits(first)) == LIMIT_HEADERS
    assert post(gateway, account, CHAT, raw).status_code == 200
    third = post(gateway, account, CHAT, raw)
    assert_openai_error(third, 429, "rate_limit_exceeded", type="requests")
    # A refused request reserves no tokens.
    remaining = int(third.headers["x-ratelimit-remaining-tokens"])
    used = sum(r.prompt_tokens + r.completion_tokens for r in gateway.usage(account))
    assert remaining >= 5000 - used
    billed_exactly(gateway, account, 1_000_000_000, rows=2)


# ---------------------------------------------------------------- where limits come from


@pytest.mark.parametrize(
    ("key_limits", "org_limits", "expected"),
    [
        ((None, None), (None, None), (PLATFORM_RPM, PLATFORM_TPM)),
        ((None, None), (11, 22_222), (11, 22_222)),
        ((None, None), (11, None), (11, PLATFORM_TPM)),
        ((5, None), (11, 22_222), (5, 22_222)),
        ((None, 7_777), (None, None), (PLATFORM_RPM, 7_777)),
        ((5, 7_777), (11, 22_222), (5, 7_777)),
        ((0, 0), (11, 22_222), (0, 0)),  # 0 on the key: unlimited, whatever the defaults
        ((None, None), (0, 0), (0, 0)),  # 0 on the organisation: unlimited
    ],
)
def test_limits_fall_back_key_then_organisation_then_platform(
    gateway: Platform,
    key_limits: tuple[int | None, int | None],
    org_limits: tuple[int | None, int | None],
    expected: tuple[int, int],
) -> None:
    account = gateway.account("1", rpm=key_limits[0], tpm=key_limits[1])
    set_org_limits(gateway, account, *org_limits)
    response = post(gateway, account, CHAT, chat_body(max_tokens=1))
    assert response.status_code == 200, response.text
    rpm, tpm = expected
    headers = limits(response)
    if rpm:
        assert headers["x-ratelimit-limit-requests"] == str(rpm)
        assert headers["x-ratelimit-remaining-requests"] == str(rpm - 1)
    else:
        assert not any(h.endswith("-requests") for h in headers)
    if tpm:
        assert headers["x-ratelimit-limit-tokens"] == str(tpm)
    else:
        assert not any(h.endswith("-tokens") for h in headers)


def test_inherited_rpm_is_enforced(gateway: Platform) -> None:
    account = gateway.account("1", rpm=None, tpm=None)
    set_org_limits(gateway, account, 2, None)
    statuses = [post(gateway, account, CHAT, chat_body(max_tokens=1)).status_code for _ in "abc"]
    assert statuses == [200, 200, 429]
    billed_exactly(gateway, account, 1_000_000_000, rows=2)


def test_rate_limited_requests_cost_nothing(gateway: Platform) -> None:
    account = gateway.account("1", rpm=1, tpm=0)
    first = post(gateway, account, CHAT, chat_body(max_tokens=2))
    assert first.status_code == 200
    usage = first.json()["usage"]
    for raw in (chat_body(max_tokens=2), chat_body(max_tokens=2, stream=True)):
        assert post(gateway, account, CHAT, raw).status_code == 429
    [record] = gateway.usage(account)
    assert record.cost_nanos == cost("gpt-fast", usage["prompt_tokens"], usage["completion_tokens"])
    billed_exactly(gateway, account, 1_000_000_000, rows=1)
