"""The playground's short-lived keys and the model list it picks from."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from tests.support.console import Member, sign_in
from tests.support.platform import Platform


def test_a_playground_key_works_alone_expires_and_stays_out_of_the_list(
    console: Platform, member: Member
) -> None:
    path = f"/api/orgs/{member.org_id}/playground/key"
    first = member.client.post(path)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["secret"].startswith("gpt_live_")
    lifetime = datetime.fromisoformat(body["expires_at"]) - datetime.now(
        datetime.fromisoformat(body["expires_at"]).tzinfo
    )
    assert timedelta(minutes=55) < lifetime <= timedelta(hours=1)
    second = member.client.post(path).json()
    assert second["secret"] != body["secret"]
    # Not among the organisation's keys; a new one revokes the last.
    assert member.client.get(f"/api/orgs/{member.org_id}/keys").json() == []
    old = member.client.get(f"/api/orgs/{member.org_id}/keys/{body['key_id']}").json()
    assert old["status"] == "revoked"
    new = member.client.get(f"/api/orgs/{member.org_id}/keys/{second['key_id']}").json()
    assert new["status"] == "active" and new["name"] == "Playground"
    # The gateway knows it: a model list comes back.
    models = httpx.get(
        f"{console.url}/v1/models", headers={"Authorization": f"Bearer {second['secret']}"}
    )
    assert models.status_code == 200
    # Billing members cannot call the API, so they get no playground key either.
    billing = sign_in(console, org_id=member.org_id, role="billing")
    assert billing.client.post(path).status_code == 403
    billing.client.close()


def test_models_describe_context_capabilities_prices_and_health(
    console: Platform, member: Member
) -> None:
    # Other tests add models to the shared catalog, which may refresh between two calls.
    for _ in range(5):
        public = httpx.get(f"{console.url}/api/models").json()["data"]
        mine = member.client.get(f"/api/orgs/{member.org_id}/models").json()["data"]
        if [m["id"] for m in mine] == [m["id"] for m in public]:
            break
    assert [m["id"] for m in mine] == [m["id"] for m in public]
    fast = next(m for m in public if m["id"] == "gpt-fast")
    assert fast["pricing"] == {
        "currency": "USD",
        "unit": "1M tokens",
        "input": "0.25",
        "output": "0.5",
        "per_image": None,  # priced per token
        "per_image_by_size": {},
    }
    assert {"chat", "streaming", "tools", "json_schema"} <= set(fast["capabilities"])
    assert fast["endpoint"] == "/v1/chat/completions" and fast["owned_by"] == "platform"
    # No inference server runs here: the model is down and its context unknown.
    assert fast["status"] == "major_outage" and fast["context_length"] is None
    embed = next(m for m in public if m["id"] == "embed")
    assert embed["capabilities"] == ["embeddings"]
    stranger = sign_in(console)
    assert stranger.client.get(f"/api/orgs/{member.org_id}/models").status_code == 404
    stranger.client.close()


def test_operators_see_who_owns_like_named_organisations(console: Platform) -> None:
    admin = sign_in(console, admin=True)
    first, second = sign_in(console), sign_in(console)
    for owner in (first, second):
        owner.client.patch(f"/api/orgs/{owner.org_id}", json={"name": "Acme"})
    page = admin.client.get("/api/admin/orgs", params={"query": "Acme"}).json()["data"]
    owners = {row["id"]: row["owner_email"] for row in page}
    assert owners[str(first.org_id)] == first.email
    assert owners[str(second.org_id)] == second.email
    for member in (admin, first, second):
        member.client.close()
