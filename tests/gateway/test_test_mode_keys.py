"""Test-mode keys (gpt_test_…): answered by the same models exactly like live keys, but never
charged: no hold against the balance, no ledger entry, usage recorded as test, and limits of
their own. A live key of the same organisation with no credit is refused meanwhile."""

from __future__ import annotations

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.admin import service
from gptapi.billing.reconcile import reconcile
from gptapi.models import Organization, UsageLog, User
from tests.gateway.admission import CHAT, assert_openai_error, chat_body, post
from tests.support.platform import Account, Platform

HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Say hello."}]


def free_key(platform: Platform, live: Account, *, rpm: int | None = None) -> Account:
    async def work(session: AsyncSession) -> Account:
        organization = await session.get(Organization, live.organization_id)
        user = await session.get(User, live.user_id)
        assert organization is not None and user is not None
        key, secret = await service.create_key(
            session, organization, user, name="ci", rpm_limit=rpm, test_mode=True
        )
        return Account(secret, key.id, organization.id, user.id)

    return platform.run(work)


@pytest.fixture
def broke(platform: Platform) -> Account:
    """A live key of an organisation with no credit at all."""
    return platform.account("0")


def test_a_test_key_is_served_free_and_never_touches_the_books(
    platform: Platform, broke: Account
) -> None:
    free = free_key(platform, broke)
    assert free.secret.startswith("gpt_test_")
    refused = post(platform, broke, CHAT, chat_body(max_tokens=8))
    assert_openai_error(refused, 429, type="insufficient_quota", code="insufficient_quota")

    client = openai.OpenAI(base_url=f"{platform.url}/v1", api_key=free.secret, max_retries=0)
    reply = client.chat.completions.create(model="gpt-fast", messages=HELLO, max_tokens=8)
    assert reply.choices[0].message.content and reply.usage is not None
    stream = client.chat.completions.create(
        model="gpt-fast",
        messages=HELLO,
        max_tokens=8,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    # Both state what they were charged: nothing.
    for usage in (reply.usage, chunks[-1].usage):
        assert usage.model_extra == {"cost": "0.000000000", "cost_nanos": 0}

    rows = platform.usage(free)
    test_rows = [row for row in rows if row.api_key_id == free.key_id]
    assert len(test_rows) == 2
    assert all(row.test_mode and row.cost_nanos == 0 and row.status == 200 for row in test_rows)
    assert test_rows[0].prompt_tokens == reply.usage.prompt_tokens
    # The live key's refusal is in the log (at zero cost); the test requests never are.
    test_keys = {f"usage:{row.request_id}" for row in test_rows}
    entries = platform.ledger_entries(free)
    assert not [entry for entry in entries if entry.idempotency_key in test_keys]
    assert all(entry.amount_nanos == 0 for entry in entries)
    assert platform.balance(free) == 0

    async def books(session: AsyncSession) -> list[object]:
        return [d for d in await reconcile(session) if d.organization_id == free.organization_id]

    assert platform.run(books) == []


def test_test_keys_have_their_own_tight_limits(platform: Platform, broke: Account) -> None:
    settings = platform.settings
    free = free_key(platform, broke)
    tighter = free_key(platform, broke, rpm=2)
    answer = post(platform, free, CHAT, chat_body(max_tokens=4))
    assert answer.status_code == 200
    assert answer.headers["x-ratelimit-limit-requests"] == str(settings.test_key_rpm_limit)
    assert answer.headers["x-ratelimit-limit-tokens"] == str(settings.test_key_tpm_limit)
    statuses = [
        post(platform, tighter, CHAT, chat_body(max_tokens=4)).status_code for _ in range(3)
    ]
    assert statuses == [200, 200, 429]


def test_a_charged_test_request_shows_up_in_reconcile(platform: Platform, broke: Account) -> None:
    """The check that proves test mode stays free fails the day one is charged."""
    free = free_key(platform, broke)
    assert post(platform, free, CHAT, chat_body(max_tokens=4)).status_code == 200

    async def charge_it(session: AsyncSession) -> list[str]:
        await session.execute(
            update(UsageLog).where(UsageLog.api_key_id == free.key_id).values(cost_nanos=1)
        )
        await session.flush()
        return [
            d.check for d in await reconcile(session) if d.organization_id == free.organization_id
        ]

    assert "test-mode usage records that were charged" in platform.run(charge_it)

    async def undo(session: AsyncSession) -> None:
        await session.execute(
            update(UsageLog).where(UsageLog.api_key_id == free.key_id).values(cost_nanos=0)
        )

    platform.run(undo)
