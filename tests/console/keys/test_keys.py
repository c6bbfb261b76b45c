"""API keys from the console: created once-shown, listed, changed, revoked; all validated."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.models import ApiKey, UserSession, WebhookEvent
from tests.console.usage.seeding import Call, ensure_model, record_calls
from tests.support.console import Member, sign_in
from tests.support.platform import Platform


def _keys_url(member: Member) -> str:
    return f"/api/orgs/{member.org_id}/keys"


def _create(member: Member, **body: object) -> dict[str, object]:
    response = member.client.post(_keys_url(member), json={"name": "key", **body})
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


def _events(console: Platform, org_id: uuid.UUID) -> list[tuple[str, dict[str, object]]]:
    async def work(session: AsyncSession) -> list[tuple[str, dict[str, object]]]:
        rows = await session.scalars(
            select(WebhookEvent).where(WebhookEvent.organization_id == org_id)
        )
        return [(row.event_type, row.data) for row in rows]

    return console.run(work)


def test_a_new_key_shows_its_secret_once(console: Platform, member: Member) -> None:
    model = f"m-{uuid.uuid4().hex[:8]}"
    ensure_model(console, model)
    expires = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    created = _create(
        member,
        name="  production ",
        expires_at=expires.isoformat(),
        rpm_limit=60,
        tpm_limit=0,
        monthly_spend_cap_nanos=5_000_000_000,
        allowed_models=[model, model],
    )
    secret = str(created["secret"])
    assert secret.startswith(str(created["prefix"]))
    assert created["name"] == "production"
    assert created["status"] == "active"
    assert created["created_by"] == str(member.user_id)
    assert created["allowed_models"] == [model]

    listed = member.client.get(_keys_url(member)).json()
    assert len(listed) == 1 and "secret" not in listed[0]
    shown = {k: v for k, v in created.items() if k != "secret"}
    assert listed[0] == shown
    assert datetime.fromisoformat(listed[0]["expires_at"]) == expires

    events = _events(console, member.org_id)
    assert [e for e, _ in events] == ["api_key.created"]
    assert events[0][1]["api_key_id"] == created["id"]
    assert (
        httpx.get(
            f"{console.url}/v1/models", headers={"authorization": f"Bearer {secret}"}
        ).status_code
        == 200
    )


def test_bad_keys_are_refused_and_nothing_is_created(console: Platform, member: Member) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    cases: list[tuple[dict[str, object], int, str]] = [
        ({"name": ""}, 422, "name"),
        ({"name": "x" * 201}, 422, "name"),
        ({"name": "k", "rpm_limit": -1}, 422, "rpm_limit"),
        ({"name": "k", "tpm_limit": "lots"}, 422, "tpm_limit"),
        ({"name": "k", "monthly_spend_cap_nanos": -5}, 422, "monthly_spend_cap_nanos"),
        ({"name": "k", "expires_at": past}, 400, "expires_at"),
        ({"name": "k", "expires_at": "2030-01-01T00:00:00"}, 422, "expires_at"),
        ({"name": "k", "allowed_models": ["no-such-model"]}, 400, "allowed_models"),
        ({"name": "k", "allowed_models": "all"}, 422, "allowed_models"),
        ({"name": "k", "allowed_models": []}, 422, "allowed_models"),
    ]
    for body, status, param in cases:
        response = member.client.post(_keys_url(member), json=body)
        assert response.status_code == status, (body, response.text)
        assert response.json()["error"]["param"] == param, body
    assert member.client.get(_keys_url(member)).json() == []
    assert _events(console, member.org_id) == []


def test_keys_are_renamed_and_limited(console: Platform, member: Member) -> None:
    model = f"m-{uuid.uuid4().hex[:8]}"
    ensure_model(console, model)
    key = _create(member, rpm_limit=10)
    url = f"{_keys_url(member)}/{key['id']}"
    changed = member.client.patch(
        url,
        json={
            "name": "renamed",
            "tpm_limit": 1000,
            "allowed_models": [model],
            "monthly_spend_cap_nanos": 7,
        },
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["name"], body["rpm_limit"], body["tpm_limit"]) == ("renamed", 10, 1000)
    assert (body["allowed_models"], body["monthly_spend_cap_nanos"]) == ([model], 7)

    cleared = member.client.patch(
        url, json={"rpm_limit": None, "allowed_models": None, "monthly_spend_cap_nanos": None}
    ).json()
    assert (
        cleared["rpm_limit"],
        cleared["allowed_models"],
        cleared["monthly_spend_cap_nanos"],
    ) == (
        None,
        None,
        None,
    )
    for bad in [
        {"name": None},
        {"rpm_limit": -1},
        {"allowed_models": ["ghost"]},
        {"expires_at": "2001-01-01T00:00:00Z"},
        {"monthly_spend_cap_nanos": 2**63},  # beyond the BIGINT column
    ]:
        assert member.client.patch(url, json=bad).status_code in (400, 422), bad
    too_big = member.client.post(
        _keys_url(member), json={"name": "capped", "monthly_spend_cap_nanos": 2**63}
    )
    assert too_big.status_code == 422
    assert too_big.json()["error"]["param"] == "monthly_spend_cap_nanos"
    assert member.client.get(url).json() == cleared

    audit = member.client.get(f"/api/orgs/{member.org_id}/audit-log").json()["data"]
    assert [e["action"] for e in audit] == ["api_key.update", "api_key.update", "api_key.create"]
    assert audit[1]["data"]["name"] == {"from": "key", "to": "renamed"}


def test_month_to_date_spend_is_shown_per_key(console: Platform, member: Member) -> None:
    key = _create(member)
    other = _create(member)
    now = datetime.now(UTC)
    last_month = now.replace(day=1) - timedelta(days=1)
    record_calls(
        console,
        member.org_id,
        member.user_id,
        [
            Call(at=now, model="spend-model", key=uuid.UUID(str(key["id"])), cost=300),
            Call(at=now, model="spend-model", key=uuid.UUID(str(key["id"])), cost=200),
            Call(at=last_month, model="spend-model", key=uuid.UUID(str(key["id"])), cost=9999),
        ],
    )
    spend = {
        k["id"]: k["month_to_date_spend_nanos"] for k in member.client.get(_keys_url(member)).json()
    }
    assert spend == {key["id"]: 500, other["id"]: 0}


def test_revoking_needs_a_recent_confirmation(console: Platform, member: Member) -> None:
    key = _create(member)

    async def stale(session: AsyncSession) -> None:
        await session.execute(
            update(UserSession)
            .where(UserSession.user_id == member.user_id)
            .values(reauthenticated_at=datetime.now(UTC) - timedelta(hours=1))
        )

    console.run(stale)
    response = member.client.post(f"{_keys_url(member)}/{key['id']}/revoke")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "reauthentication_required"
    assert member.client.get(_keys_url(member)).json()[0]["status"] == "active"


def test_a_revoked_key_is_refused_by_the_gateway(console: Platform, member: Member) -> None:
    key = _create(member)
    auth = {"authorization": f"Bearer {key['secret']}"}
    with httpx.Client(base_url=console.url) as gateway:
        assert gateway.get("/v1/models", headers=auth).status_code == 200  # now cached

        revoked = member.client.post(f"{_keys_url(member)}/{key['id']}/revoke")
        assert revoked.status_code == 200
        assert revoked.json()["status"] == "revoked"
        ttl = console.settings.key_cache_ttl_seconds
        assert _refused_within(gateway, auth, seconds=ttl * 10)

    assert member.client.post(f"{_keys_url(member)}/{key['id']}/revoke").status_code == 200
    assert sorted(e for e, _ in _events(console, member.org_id)) == [
        "api_key.created",
        "api_key.revoked",
    ]
    patched = member.client.patch(f"{_keys_url(member)}/{key['id']}", json={"name": "again"})
    assert patched.status_code == 409


def _refused_within(gateway: httpx.Client, auth: dict[str, str], *, seconds: float) -> bool:
    """Polls until the gateway answers 401; False if it never does in `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if gateway.get("/v1/models", headers=auth).status_code == 401:
            return True
        time.sleep(0.1)
    return False


def test_billing_members_cannot_touch_keys(console: Platform, member: Member) -> None:
    key = _create(member)
    billing = sign_in(console, org_id=member.org_id, role="billing")
    assert billing.client.get(_keys_url(member)).status_code == 403
    assert billing.client.post(_keys_url(member), json={"name": "x"}).status_code == 403
    assert billing.client.post(f"{_keys_url(member)}/{key['id']}/revoke").status_code == 403
    billing.client.close()

    async def still_active(session: AsyncSession) -> bool:
        row = await session.get(ApiKey, uuid.UUID(str(key["id"])))
        return row is not None and not row.revoked

    assert console.run(still_active)


def test_a_key_past_its_expiry_shows_as_expired(console: Platform, member: Member) -> None:
    key = _create(member, expires_at=(datetime.now(UTC) + timedelta(days=1)).isoformat())

    async def lapse(session: AsyncSession) -> None:
        await session.execute(
            update(ApiKey)
            .where(ApiKey.id == uuid.UUID(str(key["id"])))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )

    console.run(lapse)
    assert member.client.get(_keys_url(member)).json()[0]["status"] == "expired"
    renewed = member.client.patch(
        f"{_keys_url(member)}/{key['id']}",
        json={"expires_at": (datetime.now(UTC) + timedelta(days=7)).isoformat()},
    )
    assert renewed.json()["status"] == "active"


def test_a_test_mode_key_says_so(console: Platform, member: Member) -> None:
    created = member.client.post(_keys_url(member), json={"name": "ci", "mode": "test"})
    assert created.status_code == 201, created.text
    key = created.json()
    assert key["secret"].startswith("gpt_test_") and key["prefix"].startswith("gpt_test_")
    assert key["mode"] == "test"
    live = member.client.post(_keys_url(member), json={"name": "prod"}).json()
    assert live["mode"] == "live" and live["secret"].startswith("gpt_live_")
    listed = {k["name"]: k["mode"] for k in member.client.get(_keys_url(member)).json()}
    assert listed == {"ci": "test", "prod": "live"}
    refused = member.client.post(_keys_url(member), json={"name": "x", "mode": "sandbox"})
    assert refused.status_code == 422 and refused.json()["error"]["param"] == "mode"
