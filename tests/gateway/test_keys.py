"""API keys: format and storage, revocation and expiry through the key cache, the batched
`last_used_at`, and what any malformed Authorization header gets (a 401, never a 500)."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text, update

from gptapi.gateway.keys import KeyCache, KeyContext
from gptapi.inference.launcher import LocalFleet
from gptapi.models import ApiKey
from tests.gateway.admission import (
    CHAT,
    assert_openai_error,
    chat_body,
    custom_platform,
    http,
    on_server_loop,
    post,
    raw_request,
)
from tests.support.platform import Account, Platform
from tests.support.threads import wait_until

KEY_FORMAT = re.compile(r"^gpt_live_[A-Za-z0-9_-]{43}$")  # 32 random bytes, url-safe base64


@pytest.fixture(scope="module")
def cached(
    backend: str, llama_fleet: LocalFleet, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """Keys trusted from memory for a minute, `last_used_at` flushed only on demand."""
    with custom_platform(
        backend,
        llama_fleet,
        tmp_path_factory,
        key_cache_ttl_seconds=60.0,
        last_used_flush_seconds=3600.0,
    ) as platform:
        yield platform


@pytest.fixture(scope="module")
def flushing(
    backend: str, llama_fleet: LocalFleet, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    with custom_platform(
        backend, llama_fleet, tmp_path_factory, last_used_flush_seconds=0.2
    ) as platform:
        yield platform


def models(platform: Platform, account: Account) -> httpx.Response:
    with http(platform, account) as client:
        return client.get("/v1/models")


def chat(platform: Platform, account: Account) -> httpx.Response:
    return post(platform, account, CHAT, chat_body(max_tokens=1))


# ---------------------------------------------------------------- format and storage


def test_key_format_and_only_its_hash_is_stored(platform: Platform) -> None:
    account = platform.account("1")
    secret = account.secret
    assert KEY_FORMAT.match(secret), secret

    key = platform.key(account)
    assert key.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert key.key_prefix == secret[:21]  # "gpt_live_" and 12 characters, for display

    async def raw_row() -> dict[str, object]:
        async with platform.sessions() as session:
            row = (
                await session.execute(
                    text("SELECT * FROM api_keys WHERE key_hash = :h"), {"h": key.key_hash}
                )
            ).one()
            return dict(row._mapping)

    row = platform.portal.call(raw_row())
    secret_part = secret[len("gpt_live_") :]
    for column, value in row.items():
        shown = str(value)
        assert secret not in shown, column
        # Only the display prefix may carry any of the random part, and never all of it.
        assert secret_part not in shown, column
        assert secret[21:] not in shown, column

    assert chat(platform, account).status_code == 200


def test_each_key_is_unique(platform: Platform) -> None:
    secrets = {platform.account("0").secret for _ in range(5)}
    assert len(secrets) == 5


# ---------------------------------------------------------------- revocation and expiry


def test_revoked_key_is_refused_within_the_cache_ttl(platform: Platform) -> None:
    account = platform.account("1")
    assert chat(platform, account).status_code == 200  # verified and now cached
    assert models(platform, account).status_code == 200

    platform.revoke(account)
    ttl = platform.settings.key_cache_ttl_seconds
    # The cached key may be honoured for up to the TTL; after that it must be refused.
    wait_until(lambda: models(platform, account).status_code == 401, timeout=ttl + 10)

    for response in (chat(platform, account), models(platform, account)):
        assert_openai_error(response, 401, "invalid_api_key")
    assert [r.status for r in platform.usage(account)] == [200]  # nothing after revocation
    assert platform.balance(account) == platform.ledger_sum(account)


def test_key_expired_in_the_past_is_refused(platform: Platform) -> None:
    account = platform.account("1", expires_at=datetime.now(UTC) - timedelta(minutes=1))
    assert_openai_error(chat(platform, account), 401, "invalid_api_key")
    assert_openai_error(models(platform, account), 401, "invalid_api_key")
    assert platform.usage(account) == []
    assert platform.balance(account) == 1_000_000_000


def test_key_expiring_while_cached_is_refused(cached: Platform) -> None:
    expires_at = datetime.now(UTC) + timedelta(seconds=3)
    account = cached.account("1", expires_at=expires_at)
    assert models(cached, account).status_code == 200  # verified; cached for 60 s from here

    delay = (expires_at - datetime.now(UTC)).total_seconds()
    time.sleep(max(0.0, delay) + 0.1)

    # Well inside the cache TTL: expiry is checked on every request, not at load.
    assert_openai_error(models(cached, account), 401, "invalid_api_key")
    assert_openai_error(chat(cached, account), 401, "invalid_api_key")
    assert cached.usage(account) == []


def test_revoked_key_stays_valid_only_while_cached(cached: Platform) -> None:
    """The other side of the TTL: with a 60 s cache, revocation is not seen at once, which
    is exactly the documented trade-off (no query per request)."""
    account = cached.account("1")
    assert models(cached, account).status_code == 200
    cached.revoke(account)
    assert models(cached, account).status_code == 200

    on_server_loop(cached, _forget(cached, account))  # what the TTL expiring does
    assert_openai_error(models(cached, account), 401, "invalid_api_key")


async def _forget(platform: Platform, account: Account) -> None:
    platform.runtime.serving.keys.forget(account.secret)


def test_fake_keys_cannot_grow_the_key_cache_without_bound(platform: Platform) -> None:
    """Unknown tokens are cached (so repeats cost no query), but well-formed fake keys are
    free to invent: past its bound the cache drops them, never a known key."""
    account = platform.account("1")

    async def work() -> tuple[int, KeyContext | None]:
        cache = KeyCache(
            platform.sessions,
            ttl=60,
            negative_ttl=60,
            default_rpm=0,
            default_tpm=0,
            test_rpm=1,
            test_tpm=1,
            max_entries=50,
        )
        assert await cache.authenticate(account.secret) is not None
        await _revoke(platform, account)  # from here on, only the cached entry says yes
        for _ in range(200):
            assert await cache.authenticate("gpt_live_" + secrets.token_urlsafe(32)) is None
        return cache.size, await cache.authenticate(account.secret)

    size, context = platform.portal.call(work())
    assert size <= 50
    assert context is not None and context.key_id == account.key_id  # still cached


async def _revoke(platform: Platform, account: Account) -> None:
    async with platform.sessions() as session, session.begin():
        await session.execute(
            update(ApiKey).where(ApiKey.id == account.key_id).values(revoked=True)
        )


# ---------------------------------------------------------------- last_used_at


def test_last_used_at_is_batched_not_written_per_request(cached: Platform) -> None:
    account = cached.account("1")
    before = datetime.now(UTC)
    for _ in range(3):
        assert chat(cached, account).status_code == 200
    assert models(cached, account).status_code == 200
    after = datetime.now(UTC)
    assert cached.key(account).last_used_at is None  # no write on the request path

    on_server_loop(cached, cached.runtime.serving.keys.flush_last_used())
    used = cached.key(account).last_used_at
    assert used is not None
    assert before <= used.astimezone(UTC) <= after


def test_last_used_at_is_flushed_periodically(flushing: Platform) -> None:
    account = flushing.account("1")
    before = datetime.now(UTC)
    assert chat(flushing, account).status_code == 200
    wait_until(lambda: flushing.key(account).last_used_at is not None, timeout=10)
    used = flushing.key(account).last_used_at
    assert used is not None and used.astimezone(UTC) >= before


def test_refused_keys_do_not_touch_last_used_at(cached: Platform) -> None:
    account = cached.account("1", expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert models(cached, account).status_code == 401
    on_server_loop(cached, cached.runtime.serving.keys.flush_last_used())
    assert cached.key(account).last_used_at is None


# ---------------------------------------------------------------- the Authorization header


MISSING = object()


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (MISSING, "missing_api_key"),
        (b"", "missing_api_key"),
        (b"Bearer", "invalid_api_key"),
        (b"Bearer ", "invalid_api_key"),
        (b"Bearer     ", "invalid_api_key"),
        (b"Basic dXNlcjpwYXNzd29yZA==", "invalid_api_key"),
        (b"gpt_live_" + b"a" * 43, "invalid_api_key"),  # no scheme
        (b"Token gpt_live_" + b"a" * 43, "invalid_api_key"),
        (b"Bearer gpt_live_short", "invalid_api_key"),
        (b"Bearer sk-" + b"a" * 48, "invalid_api_key"),  # an OpenAI key
        (b"Bearer gpt_live_" + b"a" * 43, "invalid_api_key"),  # well-formed, unknown
        (b"Bearer gpt_live_" + b"a" * 4000, "invalid_api_key"),  # too long
        (b"Bearer\tgpt_live_" + b"a" * 43, "invalid_api_key"),
        (b"Bearer gpt_live_" + "é".encode() * 30, "invalid_api_key"),  # UTF-8
        (b"Bearer gpt_live_" + bytes(range(0x80, 0xFF)), "invalid_api_key"),  # raw bytes
        (bytes(range(0x80, 0x100)) * 3, "invalid_api_key"),
        (b"Bearer \xff\xfe\xfd", "invalid_api_key"),
        ("Bearer gpt_live_ключ_ключ_ключ_ключ_ключ".encode(), "invalid_api_key"),
    ],
    ids=lambda v: repr(v)[:40] if isinstance(v, bytes) else None,
)
@pytest.mark.parametrize(("method", "path"), [("POST", CHAT), ("GET", "/v1/models")])
def test_malformed_authorization_is_a_401(
    platform: Platform, header: object, code: str, method: str, path: str
) -> None:
    account = platform.account("1")
    headers = [] if header is MISSING else [(b"authorization", header)]
    payload = chat_body(max_tokens=1) if method == "POST" else b""
    response = raw_request(platform, method, path, headers, payload)  # type: ignore[arg-type]
    error = assert_openai_error(response, 401, code)
    if code == "missing_api_key":
        assert "Bearer" in error["message"]
    assert platform.usage(account) == []


def test_valid_key_with_garbage_appended_is_refused(platform: Platform) -> None:
    account = platform.account("1")
    for token in (account.secret + "x", account.secret[:-1], account.secret.upper()):
        with httpx.Client(base_url=platform.url, timeout=30) as client:
            response = client.get("/v1/models", headers={"authorization": f"Bearer {token}"})
        assert_openai_error(response, 401, "invalid_api_key")


def test_bearer_scheme_is_case_insensitive(platform: Platform) -> None:
    account = platform.account("1")
    for scheme in ("bearer", "BEARER", "Bearer"):
        with httpx.Client(base_url=platform.url, timeout=30) as client:
            response = client.get(
                "/v1/models", headers={"authorization": f"{scheme} {account.secret}"}
            )
        assert response.status_code == 200


def test_authentication_comes_before_parsing(platform: Platform) -> None:
    """An anonymous caller learns nothing about the body: garbage without a key is a 401."""
    with httpx.Client(base_url=platform.url, timeout=30) as client:
        response = client.post(CHAT, content=b"{not json")
    assert_openai_error(response, 401, "missing_api_key")
