"""/v1/models lists an organisation's own deployments (ready, or serverless at zero) as its
private models, owned by it and invisible to every other organisation."""

from __future__ import annotations

from typing import Any

import httpx

from tests.compute.conftest import fund
from tests.support.console import Member, sign_in
from tests.support.platform import Platform
from tests.support.threads import wait_until


def _key(member: Member) -> str:
    created = member.client.post(f"/api/orgs/{member.org_id}/keys", json={"name": "sdk"})
    assert created.status_code == 201, created.text
    return str(created.json()["secret"])


def _models(console: Platform, secret: str) -> dict[str, dict[str, Any]]:
    answer = httpx.get(f"{console.url}/v1/models", headers={"authorization": f"Bearer {secret}"})
    assert answer.status_code == 200, answer.text
    return {m["id"]: m for m in answer.json()["data"]}


def test_a_serverless_deployment_at_zero_is_listed_to_its_organisation_only(
    console: Platform, member: Member
) -> None:
    fund(console, member.org_id, "1")
    created = member.client.post(
        f"/api/orgs/{member.org_id}/deployments",
        json={
            "catalog_slug": "smollm2-135m",
            "name": "sleepy-bot",
            "mode": "serverless",
            "min_replicas": 0,
        },
    )
    assert created.status_code == 201, created.text
    deployment = created.json()
    assert deployment["state"] == "idle"
    mine = _key(member)
    wait_until(lambda: "sleepy-bot" in _models(console, mine), timeout=30)
    shown = _models(console, mine)["sleepy-bot"]
    assert shown["owned_by"] == str(member.org_id)
    assert shown["deployment"] == {"id": deployment["id"], "state": "idle"}
    assert shown["pricing"]["input"] == "0" and shown["pricing"]["output"] == "0"
    auth = {"authorization": f"Bearer {mine}"}
    one = httpx.get(f"{console.url}/v1/models/sleepy-bot", headers=auth)
    assert one.status_code == 200 and one.json()["owned_by"] == str(member.org_id)

    other = sign_in(console)
    try:
        theirs = _key(other)
        assert "sleepy-bot" not in _models(console, theirs)
        retrieved = httpx.get(
            f"{console.url}/v1/models/sleepy-bot", headers={"authorization": f"Bearer {theirs}"}
        )
        assert retrieved.status_code == 404
    finally:
        other.client.close()

    # Stopped, it is no model anyone can call.
    stopped = member.client.post(f"/api/orgs/{member.org_id}/deployments/{deployment['id']}/stop")
    assert stopped.json()["state"] == "stopped"
    wait_until(lambda: "sleepy-bot" not in _models(console, mine), timeout=30)
