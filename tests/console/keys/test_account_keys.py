"""Account keys: API keys with scopes drive /api/orgs/{org_id}/… without a browser session,
within their scopes and their creator's role, in their own organisation only."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.admin import service as admin
from gptapi.kit.secrets import generate_deployment_key
from gptapi.models import ApiKey, AuditLog, Organization, User
from tests.support.console import Member, sign_in
from tests.support.platform import Platform


def _create_key(member: Member, **body: Any) -> dict[str, Any]:
    response = member.client.post(f"/api/orgs/{member.org_id}/keys", json={"name": "ci", **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _call(console: Platform, method: str, path: str, secret: str, **kwargs: Any) -> httpx.Response:
    # No cookie and no CSRF header: a script with nothing but its key.
    headers = {"authorization": f"Bearer {secret}"}
    return httpx.request(method, console.url + path, headers=headers, timeout=30, **kwargs)


def _error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    return str(response.json()["error"]["code"])


def test_a_scoped_key_reaches_the_routes_of_its_scopes_only(
    console: Platform, member: Member
) -> None:
    key = _create_key(member, scopes=["deployments:read", "billing:read", "deployments:write"])
    assert key["scopes"] == ["billing:read", "deployments:read", "deployments:write"]
    secret, org = key["secret"], f"/api/orgs/{member.org_id}"

    listed = _call(console, "GET", f"{org}/deployments", secret)
    assert listed.status_code == 200, listed.text
    assert listed.json() == []
    assert _call(console, "GET", f"{org}/billing", secret).status_code == 200
    # A write without CSRF goes through to validation: the key is the whole credential.
    bad = _call(console, "POST", f"{org}/deployments", secret, json={"catalog_slug": "nope"})
    assert _error(bad, 400) == "invalid_value"

    assert _error(_call(console, "GET", f"{org}/usage/summary", secret), 403) == (
        "insufficient_scope"
    )
    assert _error(_call(console, "GET", f"{org}/keys", secret), 403) == "insufficient_scope"
    # Without the inference scope it is not a /v1 key.
    models = _call(console, "GET", "/v1/models", secret)
    assert models.status_code == 403
    assert models.json()["error"]["code"] == "insufficient_scope"

    async def last_used(session: AsyncSession) -> datetime | None:
        return await session.scalar(
            select(ApiKey.last_used_at).where(ApiKey.id == uuid.UUID(key["id"]))
        )

    assert console.run(last_used) is not None


def test_routes_for_people_refuse_keys_whatever_their_scopes(
    console: Platform, member: Member
) -> None:
    every = ["inference", "deployments:read", "deployments:write", "billing:read"]
    secret = _create_key(member, scopes=[*every, "usage:read", "keys:read", "keys:write"])["secret"]
    org = f"/api/orgs/{member.org_id}"
    for method, path in [
        ("GET", "/api/me"),
        ("GET", "/api/orgs"),
        ("GET", f"{org}/webhooks"),
        ("GET", f"{org}/members"),
        ("POST", f"{org}/playground/key"),
        ("PUT", f"{org}/billing/low-balance"),
    ]:
        assert _error(_call(console, method, path, secret, json={}), 403) == "key_not_allowed", (
            method,
            path,
        )


def test_a_key_of_one_organisation_finds_no_other(console: Platform, member: Member) -> None:
    other = sign_in(console)
    try:
        secret = _create_key(member, scopes=["deployments:read"])["secret"]
        # Even an organisation its creator belongs to: the key is bound to its own.
        shared = other.client.post("/api/orgs", json={"name": "Shared"})
        assert shared.status_code == 201, shared.text
        for org_id in (other.org_id, uuid.uuid4()):
            response = _call(console, "GET", f"/api/orgs/{org_id}/deployments", secret)
            assert _error(response, 404) == "not_found"
    finally:
        other.client.close()


def test_revoked_expired_and_unknown_keys_are_refused(console: Platform, member: Member) -> None:
    path = f"/api/orgs/{member.org_id}/deployments"
    revoked = _create_key(member, scopes=["deployments:read"])
    expired = _create_key(member, scopes=["deployments:read"])

    async def age(session: AsyncSession) -> None:
        await session.execute(
            update(ApiKey)
            .where(ApiKey.id == uuid.UUID(revoked["id"]))
            .values(revoked=True, revoked_at=datetime.now(UTC))
        )
        await session.execute(
            update(ApiKey)
            .where(ApiKey.id == uuid.UUID(expired["id"]))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session.commit()

    console.run(age)
    for secret in (revoked["secret"], expired["secret"], "gpt_live_" + "x" * 43):
        assert _error(_call(console, "GET", path, secret), 401) == "invalid_api_key"


def test_deployment_keys_are_not_account_keys(console: Platform, member: Member) -> None:
    async def mint(session: AsyncSession) -> str:
        organization = await session.get(Organization, member.org_id)
        user = await session.get(User, member.user_id)
        assert organization is not None and user is not None
        key, secret = await admin.create_key(
            session, organization, user, name="Deployment dep_x", secret=generate_deployment_key()
        )
        key.purpose = "deployment"
        key.scopes = ["deployments:read"]  # even if it somehow held one
        await session.commit()
        return secret

    secret = console.run(mint)
    response = _call(console, "GET", f"/api/orgs/{member.org_id}/deployments", secret)
    assert _error(response, 403) == "key_not_allowed"


def test_a_key_acts_within_its_creators_role(console: Platform, member: Member) -> None:
    developer = sign_in(console, org_id=member.org_id, role="developer")
    try:
        secret = _create_key(developer, scopes=["billing:read", "deployments:read"])["secret"]
        org = f"/api/orgs/{member.org_id}"
        assert _call(console, "GET", f"{org}/deployments", secret).status_code == 200
        # Developers do not see billing, so neither do their keys.
        billing = _call(console, "GET", f"{org}/billing", secret)
        assert _error(billing, 403) == "permission_denied"
        # Once the creator leaves, their keys are revoked with them.
        removed = member.client.delete(f"{org}/members/{developer.user_id}")
        assert removed.status_code == 204, removed.text
        gone = _call(console, "GET", f"{org}/deployments", secret)
        assert _error(gone, 401) == "invalid_api_key"
    finally:
        developer.client.close()


def test_keys_grant_no_more_than_they_hold(console: Platform, member: Member) -> None:
    secret = _create_key(member, scopes=["keys:write", "keys:read", "inference"])["secret"]
    url = f"/api/orgs/{member.org_id}/keys"
    made = _call(console, "POST", url, secret, json={"name": "child", "scopes": ["inference"]})
    assert made.status_code == 201, made.text
    assert made.json()["scopes"] == ["inference"]
    wider = _call(console, "POST", url, secret, json={"name": "x", "scopes": ["deployments:write"]})
    assert _error(wider, 403) == "insufficient_scope"
    child = made.json()["id"]
    widen = _call(console, "PATCH", f"{url}/{child}", secret, json={"scopes": ["billing:read"]})
    assert _error(widen, 403) == "insufficient_scope"
    # Revoking needs a person who confirmed it is them.
    revoke = _call(console, "POST", f"{url}/{child}/revoke", secret)
    assert _error(revoke, 403) == "key_not_allowed"

    async def audit(session: AsyncSession) -> list[dict[str, Any]]:
        rows = await session.scalars(
            select(AuditLog.data).where(
                AuditLog.organization_id == member.org_id, AuditLog.action == "api_key.create"
            )
        )
        return list(rows)

    created_by_key = [d for d in console.run(audit) if "via_api_key" in d]
    assert len(created_by_key) == 1
    assert secret.startswith(created_by_key[0]["via_api_key"])


def test_scopes_are_validated(console: Platform, member: Member) -> None:
    url = f"/api/orgs/{member.org_id}/keys"
    cases: list[tuple[dict[str, Any], int]] = [
        ({"scopes": []}, 422),
        ({"scopes": ["root"]}, 422),
        ({"scopes": ["billing:read"], "mode": "test"}, 400),
    ]
    for body, status in cases:
        response = member.client.post(url, json={"name": "k", **body})
        assert response.status_code == status, (body, response.text)
        assert response.json()["error"]["param"].startswith("scopes")
    key = _create_key(member)
    assert key["scopes"] == ["inference"]
    cleared = member.client.patch(f"{url}/{key['id']}", json={"scopes": None})
    assert cleared.status_code == 400 and cleared.json()["error"]["param"] == "scopes"
    changed = member.client.patch(f"{url}/{key['id']}", json={"scopes": ["usage:read"]})
    assert changed.status_code == 200 and changed.json()["scopes"] == ["usage:read"]


def test_keys_from_before_scopes_work_on_v1_as_before(console: Platform, member: Member) -> None:
    key = _create_key(member)

    async def legacy(session: AsyncSession) -> None:
        await session.execute(
            update(ApiKey).where(ApiKey.id == uuid.UUID(key["id"])).values(scopes=None)
        )
        await session.commit()

    console.run(legacy)
    assert _call(console, "GET", "/v1/models", key["secret"]).status_code == 200
    listed = member.client.get(f"/api/orgs/{member.org_id}/keys/{key['id']}").json()
    assert listed["scopes"] == ["inference"]
    path = f"/api/orgs/{member.org_id}/deployments"
    assert _error(_call(console, "GET", path, key["secret"]), 403) == "insufficient_scope"


def test_the_documented_sample_runs(console: Platform, member: Member) -> None:
    docs = (Path(__file__).parents[3] / "docs" / "organizations.md").read_text()
    section = docs.split("### Scopes: account keys for `/api`", 1)[1]
    sample = section.split("```bash\n", 1)[1].split("```", 1)[0]
    key = _create_key(member, scopes=["deployments:read"])
    env = {**os.environ, "BASE": console.url, "ORG": str(member.org_id), "KEY": key["secret"]}
    ran = subprocess.run(
        ["bash", "-c", sample], env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(ran.stdout) == []
