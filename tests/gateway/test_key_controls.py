"""Per-key controls set in the console and enforced by the gateway: allowed models and the
monthly spend cap. Keys are made through /api, exactly as a customer would, and changes
reach a running gateway within the key cache's TTL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.admin import service
from gptapi.gateway.upstream.registry import ServerSpec
from gptapi.kit.money import dollars_to_nanos
from gptapi.models import Organization, UsageLog
from tests.gateway.admission import assert_openai_error
from tests.support.console import Member, sign_in
from tests.support.databases import fresh_database
from tests.support.fake_upstream import FakeLlamaServer
from tests.support.platform import Platform, test_settings as settings_for
from tests.support.threads import wait_until

SERVED = "fake-chat"
OTHER = "other-chat"  # in the catalog, never served: a refusal must come before routing
HELLO = [{"role": "user", "content": "Say hello."}]


@pytest.fixture(scope="module")
def gateway(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    tmp = tmp_path_factory.mktemp(f"key-controls-{backend}")
    fake = FakeLlamaServer().start()
    with fresh_database(backend, tmp) as url:
        platform = Platform(settings_for(url, tmp))
        platform.add_model(SERVED, input_price=1000, output_price=2000)
        platform.add_model(OTHER, input_price=1000, output_price=2000)
        platform.start()
        try:
            platform.set_servers("key-controls", [ServerSpec(model=SERVED, base_url=fake.url)])
            probe = platform.account()
            wait_until(lambda: _chat(platform, probe.secret, SERVED).status_code == 200, 15)
            yield platform
        finally:
            platform.stop()
            fake.stop()


@pytest.fixture
def owner(gateway: Platform) -> Iterator[Member]:
    member = sign_in(gateway)

    async def fund(session: AsyncSession) -> None:
        organization = await session.get(Organization, member.org_id)
        assert organization is not None
        await service.grant_credit(session, organization, dollars_to_nanos("5"), reason="test")

    gateway.run(fund)
    yield member
    member.client.close()


def _chat(platform: Platform, secret: str, model: str, **fields: Any) -> httpx.Response:
    return httpx.post(
        f"{platform.url}/v1/chat/completions",
        headers={"authorization": f"Bearer {secret}"},
        json={"model": model, "messages": HELLO, "max_tokens": 8, **fields},
        timeout=30,
    )


def _models(platform: Platform, secret: str) -> list[str]:
    response = httpx.get(f"{platform.url}/v1/models", headers={"authorization": f"Bearer {secret}"})
    return [m["id"] for m in response.json()["data"]]


def _key(owner: Member, **body: Any) -> dict[str, Any]:
    response = owner.client.post(f"/api/orgs/{owner.org_id}/keys", json={"name": "k", **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _usage_rows(platform: Platform, key_id: str) -> int:
    async def work(session: AsyncSession) -> int:
        count = await session.scalar(
            select(func.count())
            .select_from(UsageLog)
            .where(UsageLog.api_key_id == uuid.UUID(key_id), UsageLog.metered_by != "refused")
        )
        return int(count or 0)

    return platform.run(work)


def test_a_key_calls_only_its_allowed_models(gateway: Platform, owner: Member) -> None:
    key = _key(owner, allowed_models=[SERVED])
    secret = key["secret"]

    refused = _chat(gateway, secret, OTHER)
    error = assert_openai_error(refused, 403, "model_not_found", param="model")
    assert OTHER in error["message"]
    assert _chat(gateway, secret, SERVED).status_code == 200
    assert _models(gateway, secret) == [SERVED]
    hidden = httpx.get(
        f"{gateway.url}/v1/models/{OTHER}", headers={"authorization": f"Bearer {secret}"}
    )
    assert_openai_error(hidden, 404, "model_not_found")

    widened = owner.client.patch(
        f"/api/orgs/{owner.org_id}/keys/{key['id']}", json={"allowed_models": None}
    )
    assert widened.status_code == 200
    wait_until(lambda: OTHER in _models(gateway, secret), 15)
    assert _chat(gateway, secret, OTHER).status_code != 403


def test_a_key_stops_at_its_monthly_spend_cap(gateway: Platform, owner: Member) -> None:
    key = _key(owner, monthly_spend_cap_nanos=1)
    secret = key["secret"]
    assert _chat(gateway, secret, SERVED).status_code == 200

    refused = _chat(gateway, secret, SERVED)
    error = assert_openai_error(
        refused, 429, "insufficient_quota", type="insufficient_quota", param=None
    )
    assert "monthly spend cap" in error["message"]
    assert refused.headers["x-should-retry"] == "false"
    # The refusal is in the request log with its reason, at no cost.
    wait_until(lambda: gateway.usage_for(refused.headers["x-request-id"]) is not None, 15)
    logged = gateway.usage_for(refused.headers["x-request-id"])
    assert logged is not None
    assert (logged.outcome, logged.status, logged.cost_nanos) == ("spend_cap_reached", 429, 0)
    # Once its usage row is in, the recorded spend alone keeps the key stopped.
    wait_until(lambda: _usage_rows(gateway, key["id"]) == 1, 15)
    listed = owner.client.get(f"/api/orgs/{owner.org_id}/keys/{key['id']}").json()
    assert listed["month_to_date_spend_nanos"] > 1

    raised = owner.client.patch(
        f"/api/orgs/{owner.org_id}/keys/{key['id']}",
        json={"monthly_spend_cap_nanos": dollars_to_nanos("1")},
    )
    assert raised.status_code == 200
    wait_until(lambda: _chat(gateway, secret, SERVED).status_code == 200, 15)
    assert _usage_rows(gateway, key["id"]) >= 2


def test_keys_without_controls_are_unaffected(gateway: Platform, owner: Member) -> None:
    secret = _key(owner)["secret"]
    assert {SERVED, OTHER} <= set(_models(gateway, secret))
    for _ in range(3):
        assert _chat(gateway, secret, SERVED).status_code == 200
