"""One-click deployments on the local provider: a real llama.cpp server starts, becomes
ready only once it answers /health, serves its organisation through /v1 under its own name,
and is billed per second of running time, exactly."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from sqlalchemy import select

from gptapi.compute.billing import cost_of
from gptapi.kit.clock import ManualClock
from gptapi.models import (
    ApiKey,
    AuditLog,
    CreditTransaction,
    Organization,
    UsageLog,
    WebhookEvent,
)
from tests.compute.conftest import assert_unknown_to, funded_stranger
from tests.support.console import Member, sign_in
from tests.support.platform import Platform
from tests.support.threads import wait_until

LOCAL = "smollm2-135m"
PRICE = 50_000_000  # $0.05 per hour


def deployments(member: Member) -> str:
    return f"/api/orgs/{member.org_id}/deployments"


def deploy(member: Member, **body: Any) -> httpx.Response:
    return member.client.post(deployments(member), json={"catalog_slug": LOCAL, **body})


def wait_for_state(member: Member, deployment_id: str, state: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def reached() -> bool:
        seen.update(member.client.get(f"{deployments(member)}/{deployment_id}").json())
        assert seen["state"] != "failed", seen["state_reason"]
        return bool(seen["state"] == state)

    wait_until(reached, timeout=120, interval=0.1)
    return seen


def api_key(member: Member) -> str:
    created = member.client.post(f"/api/orgs/{member.org_id}/keys", json={"name": "client"})
    assert created.status_code == 201, created.text
    return str(created.json()["secret"])


def compute_entries(platform: Platform, member: Member) -> list[CreditTransaction]:
    return platform.rows(
        select(CreditTransaction)
        .where(
            CreditTransaction.organization_id == member.org_id,
            CreditTransaction.kind == "compute",
        )
        .order_by(CreditTransaction.id)
    )


def balance(platform: Platform, member: Member) -> int:
    rows = platform.rows(select(Organization.balance_nanos).where(Organization.id == member.org_id))
    return int(rows[0])


def test_deploy_serve_meter_stop_start_delete(
    gpu: Platform, gpu_clock: ManualClock, owner: Member
) -> None:
    created = deploy(owner, name="my-bot")
    assert created.status_code == 201, created.text
    deployment = created.json()
    assert deployment["id"].startswith("dep_")
    assert deployment["state"] == "pending"
    assert deployment["price_nanos_per_hour"] == PRICE
    dep_id = deployment["id"]
    before = balance(gpu, owner)

    ready = wait_for_state(owner, dep_id, "ready")
    assert ready["cold_start_seconds"] is not None
    # The one-minute minimum is charged the moment it is ready.
    wait_until(lambda: len(compute_entries(gpu, owner)) == 1)

    client = openai.OpenAI(base_url=f"{gpu.url}/v1", api_key=api_key(owner), max_retries=0)
    listed = {m.id: m for m in client.models.list()}
    assert listed["my-bot"].owned_by == str(owner.org_id)
    assert listed["my-bot"].model_extra == {
        **(listed["my-bot"].model_extra or {}),
        "deployment": {"id": deployment["id"], "state": "ready"},
    }
    assert "gpt-fast" in listed
    assert client.models.retrieve("my-bot").id == "my-bot"
    reply = client.chat.completions.create(
        model="my-bot", messages=[{"role": "user", "content": "Hi"}], max_tokens=5
    )
    assert reply.choices[0].message.content is not None
    chunks = list(
        client.chat.completions.create(
            model="my-bot",
            messages=[{"role": "user", "content": "Hello"}],
            max_tokens=5,
            stream=True,
        )
    )
    assert any(c.choices and c.choices[0].delta.content for c in chunks)

    # Requests are in usage at zero token cost: the deployment bills by the second.
    def recorded() -> list[UsageLog]:
        return gpu.rows(
            select(UsageLog).where(UsageLog.organization_id == owner.org_id, UsageLog.status == 200)
        )

    wait_until(lambda: len(recorded()) == 2)
    assert {row.cost_nanos for row in recorded()} == {0}

    metrics = owner.client.get(f"{deployments(owner)}/{dep_id}/metrics").json()
    assert metrics["requests_24h"] == 2
    assert metrics["avg_latency_ms_24h"] is not None
    assert metrics["provider"]["tokens_predicted_total"] >= 2
    lines = owner.client.get(f"{deployments(owner)}/{dep_id}/logs", params={"tail": 50}).json()
    assert lines["lines"]

    # 150 seconds of running, then a stop: exactly 150 seconds are charged.
    gpu_clock.advance(150)
    stopped = owner.client.post(f"{deployments(owner)}/{dep_id}/stop")
    assert stopped.status_code == 202
    final = wait_for_state(owner, dep_id, "stopped")
    assert final["runtime_seconds"] == 150
    assert final["cost_nanos"] == cost_of(PRICE, 150)
    entries = compute_entries(gpu, owner)
    assert sum(e.amount_nanos for e in entries) == -cost_of(PRICE, 150)
    assert balance(gpu, owner) == before - cost_of(PRICE, 150)

    # The gateway hears of the stop at once on an announcement, else at its next refresh.
    def gone() -> bool:
        try:
            client.chat.completions.create(
                model="my-bot", messages=[{"role": "user", "content": "Hi"}], max_tokens=5
            )
        except openai.NotFoundError:
            return True
        except openai.InternalServerError as error:
            if error.status_code != 503:  # still known, but with no server: 503 and no other
                raise
        return False

    wait_until(gone, timeout=30)

    # A second start is a new run with its own one-minute minimum.
    assert owner.client.post(f"{deployments(owner)}/{dep_id}/start").status_code == 202
    wait_for_state(owner, dep_id, "ready")
    gpu_clock.advance(10)
    assert owner.client.delete(f"{deployments(owner)}/{dep_id}").status_code == 202
    wait_until(
        lambda: owner.client.get(f"{deployments(owner)}/{dep_id}").status_code == 404, timeout=30
    )
    assert sum(e.amount_nanos for e in compute_entries(gpu, owner)) == -(
        cost_of(PRICE, 150) + cost_of(PRICE, 60)
    )
    assert dep_id not in {d["id"] for d in owner.client.get(deployments(owner)).json()}
    # Each change names the deployment, so the activity feed reads without looking it up.
    audited = gpu.rows(select(AuditLog).where(AuditLog.target_id == dep_id).order_by(AuditLog.id))
    assert [(entry.action, entry.data["name"]) for entry in audited] == [
        ("deployment.create", "my-bot"),
        ("deployment.stop", "my-bot"),
        ("deployment.start", "my-bot"),
        ("deployment.delete", "my-bot"),
    ]
    # Every change of state went out as a webhook event, in order.
    events = gpu.rows(
        select(WebhookEvent)
        .where(
            WebhookEvent.organization_id == owner.org_id,
            WebhookEvent.event_type == "deployment.state_changed",
        )
        .order_by(WebhookEvent.created_at)
    )
    changes = [(e.data["previous_state"], e.data["state"]) for e in events]
    assert changes == [
        (None, "pending"),
        ("pending", "starting"),
        ("starting", "ready"),
        ("ready", "stopping"),
        ("stopping", "stopped"),
        ("stopped", "pending"),
        ("pending", "starting"),
        ("starting", "ready"),
        ("ready", "deleting"),
        ("deleting", "deleted"),
    ]
    assert {e.data["deployment_id"] for e in events} == {dep_id}


def test_other_organisations_see_nothing(gpu: Platform, owner: Member) -> None:
    dep_id = deploy(owner, name="private-bot").json()["id"]
    wait_for_state(owner, dep_id, "ready")
    stranger = funded_stranger(gpu)
    try:
        assert_unknown_to(stranger, f"{deployments(stranger)}/{dep_id}")
        # Asking about the owner's organisation is refused outright.
        assert stranger.client.get(deployments(owner)).status_code == 404
        client = openai.OpenAI(base_url=f"{gpu.url}/v1", api_key=api_key(stranger), max_retries=0)
        assert "private-bot" not in {m.id for m in client.models.list()}
        with pytest.raises(openai.NotFoundError):
            client.models.retrieve("private-bot")
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(
                model="private-bot", messages=[{"role": "user", "content": "Hi"}], max_tokens=3
            )
    finally:
        stranger.client.close()
        owner.client.delete(f"{deployments(owner)}/{dep_id}")
        wait_until(
            lambda: owner.client.get(f"{deployments(owner)}/{dep_id}").status_code == 404,
            timeout=30,
        )


def test_roles(gpu: Platform, owner: Member) -> None:
    billing = sign_in(gpu, org_id=owner.org_id, role="billing")
    developer = sign_in(gpu, org_id=owner.org_id, role="developer")
    try:
        refused = deploy(billing, name="by-billing")
        assert refused.status_code == 403
        assert billing.client.get(deployments(owner)).status_code == 200
        created = deploy(developer, name="by-developer")
        assert created.status_code == 201
        dep_id = created.json()["id"]
        assert billing.client.post(f"{deployments(owner)}/{dep_id}/stop").status_code == 403
        assert developer.client.delete(f"{deployments(owner)}/{dep_id}").status_code == 202
    finally:
        billing.client.close()
        developer.client.close()


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"catalog_slug": "nope"}, 400, "catalog_slug"),
        ({"catalog_slug": "llama-3.1-70b"}, 400, "catalog_slug"),  # no container provider
        ({"catalog_slug": LOCAL, "min_replicas": 0}, 400, "min_replicas"),  # always on
        ({"catalog_slug": LOCAL, "max_replicas": 11}, 422, "max_replicas"),
        ({"catalog_slug": LOCAL, "min_replicas": 3, "max_replicas": 2}, 400, "min_replicas"),
        ({"catalog_slug": LOCAL, "name": "My Bot; rm -rf /"}, 422, "name"),
        ({"catalog_slug": LOCAL, "gpu_count": 3}, 422, "gpu_count"),
        ({"catalog_slug": LOCAL, "idle_timeout_seconds": -5}, 422, "idle_timeout_seconds"),
        ({"catalog_slug": LOCAL, "mode": "forever"}, 422, "mode"),
        ({"catalog_slug": LOCAL, "name": "gpt-fast"}, 409, None),  # a public model's name
    ],
)
def test_bad_requests_are_refused_naming_the_field(
    owner: Member, body: dict[str, Any], status: int, param: str | None
) -> None:
    response = owner.client.post(deployments(owner), json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["param"] == param
    assert owner.client.get(deployments(owner)).json() == []


def test_duplicate_names_and_an_empty_balance(gpu: Platform, owner: Member) -> None:
    first = deploy(owner, name="twin")
    assert first.status_code == 201
    again = deploy(owner, name="twin")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "name_taken"
    owner.client.delete(f"{deployments(owner)}/{first.json()['id']}")
    broke = sign_in(gpu)
    try:
        refused = deploy(broke)
        assert refused.status_code == 402
        assert refused.json()["error"]["code"] == "insufficient_balance"
    finally:
        broke.client.close()


def test_deployment_keys(gpu: Platform, owner: Member) -> None:
    """sk_dep_ keys: inference on one deployment only; regenerating revokes the old one."""
    dep_id = deploy(owner, name="keyed-bot").json()["id"]
    other_id = deploy(owner, name="other-bot").json()["id"]
    wait_for_state(owner, dep_id, "ready")
    wait_for_state(owner, other_id, "ready")
    assert owner.client.get(f"{deployments(owner)}/{dep_id}").json()["key_prefix"] is None
    issued = owner.client.post(f"{deployments(owner)}/{dep_id}/key")
    assert issued.status_code == 201, issued.text
    secret = issued.json()["secret"]
    prefix = issued.json()["prefix"]
    assert secret.startswith("sk_dep_")
    assert prefix == secret[: len(prefix)]
    # The deployment names its working key by prefix, in the list too; the other has none.
    described = owner.client.get(deployments(owner)).json()
    assert {d["id"]: d["key_prefix"] for d in described} == {dep_id: prefix, other_id: None}
    client = openai.OpenAI(base_url=f"{gpu.url}/v1", api_key=secret, max_retries=0)
    hello = [{"role": "user", "content": "Hi"}]
    reply = client.chat.completions.create(model="keyed-bot", messages=hello, max_tokens=3)  # type: ignore[arg-type]
    assert reply.choices
    assert [m.id for m in client.models.list()] == ["keyed-bot"]
    # Not another deployment of the same organisation, not the public models.
    for model in ("other-bot", "gpt-fast"):
        with pytest.raises(openai.PermissionDeniedError):
            client.chat.completions.create(model=model, messages=hello, max_tokens=3)  # type: ignore[arg-type]
    # Deployment keys are not in the organisation's key list.
    listed = owner.client.get(f"/api/orgs/{owner.org_id}/keys").json()
    assert all(not k["prefix"].startswith("sk_dep_") for k in listed)

    # Regenerating revokes the old key.
    regenerated = owner.client.post(f"{deployments(owner)}/{dep_id}/key").json()
    fresh = regenerated["secret"]
    assert fresh != secret
    shown = owner.client.get(f"{deployments(owner)}/{dep_id}").json()["key_prefix"]
    assert shown == regenerated["prefix"] != prefix

    def refused() -> bool:
        try:
            client.chat.completions.create(model="keyed-bot", messages=hello, max_tokens=3)  # type: ignore[arg-type]
        except openai.AuthenticationError:
            return True
        return False

    wait_until(refused, timeout=10, interval=0.2)
    renewed = openai.OpenAI(base_url=f"{gpu.url}/v1", api_key=fresh, max_retries=0)
    assert renewed.chat.completions.create(model="keyed-bot", messages=hello, max_tokens=3)  # type: ignore[arg-type]

    # Another organisation cannot mint one; the billing role may not either.
    stranger = sign_in(gpu)
    billing = sign_in(gpu, org_id=owner.org_id, role="billing")
    try:
        theirs = f"/api/orgs/{stranger.org_id}/deployments/{dep_id}/key"
        assert stranger.client.post(theirs).status_code == 404
        assert billing.client.post(f"{deployments(owner)}/{dep_id}/key").status_code == 403
    finally:
        stranger.client.close()
        billing.client.close()

    # Deleting the deployment revokes its key.
    owner.client.delete(f"{deployments(owner)}/{dep_id}")
    owner.client.delete(f"{deployments(owner)}/{other_id}")
    wait_until(
        lambda: owner.client.get(f"{deployments(owner)}/{dep_id}").status_code == 404, timeout=30
    )
    keys = gpu.rows(select(ApiKey).where(ApiKey.name == f"Deployment {dep_id}"))
    assert len(keys) == 2
    assert all(key.revoked for key in keys)
