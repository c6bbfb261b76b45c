"""Webhook endpoints over HTTP: CRUD, permissions, the catalogue, the delivery log, retry,
replay, test events and secret rotation, with deliveries to real receivers on loopback."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook

from gptapi.console.webhooks.catalog import EVENT_TYPE_NAMES
from gptapi.models import WebhookEndpoint
from tests.support.console import sign_in
from tests.support.webhooks import Hooks, Receiver, Reply


def test_event_catalogue_is_public_with_full_example_bodies(hooks: Hooks) -> None:
    response = httpx.get(f"{hooks.platform.url}/api/webhooks/event-types")
    assert response.status_code == 200
    catalogue = {entry["name"]: entry for entry in response.json()}
    assert set(catalogue) == EVENT_TYPE_NAMES
    assert {
        "usage.created",
        "usage.daily",
        "balance.low",
        "balance.depleted",
        "balance.runway_low",
        "payment.succeeded",
        "payment.failed",
        "auto_refill.failed",
        "api_key.created",
        "api_key.revoked",
        "deployment.state_changed",
        "pod.state_changed",
        "compute.charged",
        "incident.created",
        "incident.updated",
        "incident.resolved",
    } == EVENT_TYPE_NAMES
    docs = (Path(__file__).parents[3] / "docs" / "webhooks.md").read_text()
    assert all(f"### `{name}`" in docs for name in EVENT_TYPE_NAMES)
    example = catalogue["balance.low"]["example"]
    assert example["type"] == "balance.low"
    assert set(example) == {"type", "timestamp", "data"}


def test_endpoint_lifecycle_shows_the_secret_only_at_creation(
    hooks: Hooks, receiver: Receiver
) -> None:
    member = sign_in(hooks.platform)
    base = f"/api/orgs/{member.org_id}/webhooks"
    created = hooks.subscribe(member, receiver.url, "balance.low", "api_key.created")
    assert created["secret"].startswith("whsec_")
    assert created["event_types"] == ["api_key.created", "balance.low"]
    assert created["enabled"] is True

    async def stored_secret(session: AsyncSession) -> str | None:
        return await session.scalar(
            select(WebhookEndpoint.secret).where(WebhookEndpoint.id == uuid.UUID(created["id"]))
        )

    at_rest = hooks.platform.run(stored_secret)
    assert at_rest is not None and created["secret"] not in at_rest  # sealed with SECRET_KEY

    listed = member.client.get(base).json()
    assert [e["id"] for e in listed] == [created["id"]]
    assert "secret" not in listed[0]

    one = f"{base}/{created['id']}"
    patched = member.client.patch(one, json={"description": "prod", "event_types": ["usage.daily"]})
    assert patched.status_code == 200
    assert patched.json()["description"] == "prod"
    assert patched.json()["event_types"] == ["usage.daily"]
    assert "secret" not in member.client.get(one).json()

    assert member.client.delete(one).status_code == 204
    assert member.client.get(one).status_code == 404


def test_bad_input_is_refused_and_changes_nothing(hooks: Hooks, receiver: Receiver) -> None:
    member = sign_in(hooks.platform)
    base = f"/api/orgs/{member.org_id}/webhooks"
    unknown = member.client.post(base, json={"url": receiver.url, "event_types": ["nope.x"]})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "validation_error"
    empty = member.client.post(base, json={"url": receiver.url, "event_types": []})
    assert empty.status_code == 422
    not_a_url = member.client.post(base, json={"url": "ftp://x", "event_types": ["balance.low"]})
    assert not_a_url.status_code == 422
    assert not_a_url.json()["error"]["param"] == "url"
    metadata = {"url": "http://169.254.169.254/latest", "event_types": ["balance.low"]}
    refused = member.client.post(base, json=metadata)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalid_url"
    assert member.client.get(base).json() == []


def test_other_organisations_see_404_and_billing_cannot_manage(
    hooks: Hooks, receiver: Receiver
) -> None:
    owner = sign_in(hooks.platform)
    endpoint = hooks.subscribe(owner, receiver.url, "balance.low")
    stranger = sign_in(hooks.platform)
    path = f"/api/orgs/{owner.org_id}/webhooks/{endpoint['id']}"
    assert stranger.client.get(path).status_code == 404
    own_org_path = f"/api/orgs/{stranger.org_id}/webhooks/{endpoint['id']}"
    assert stranger.client.get(own_org_path).status_code == 404
    assert stranger.client.delete(own_org_path).status_code == 404

    billing = sign_in(hooks.platform, org_id=owner.org_id, role="billing")
    assert billing.client.get(f"/api/orgs/{owner.org_id}/webhooks").status_code == 403
    developer = sign_in(hooks.platform, org_id=owner.org_id, role="developer")
    assert developer.client.post(f"{path}/test").status_code == 202


def test_test_event_is_signed_logged_and_retried_by_hand(hooks: Hooks, receiver: Receiver) -> None:
    member = sign_in(hooks.platform)
    endpoint = hooks.subscribe(member, receiver.url, "balance.low")
    one = f"/api/orgs/{member.org_id}/webhooks/{endpoint['id']}"
    receiver.replies.append(Reply(503, body=b"maintenance"))

    queued = member.client.post(f"{one}/test")
    assert queued.status_code == 202
    delivery = queued.json()
    assert delivery["status"] == "pending"
    assert hooks.run_worker() == 1

    detail = member.client.get(f"{one}/deliveries/{delivery['id']}").json()
    assert detail["status"] == "pending"
    assert detail["last_response_status"] == 503
    [first] = detail["attempt_log"]
    assert first["attempt"] == 1
    assert first["response_status"] == 503
    assert first["response_body"] == "maintenance"
    assert first["request_headers"]["webhook-id"] == delivery["webhook_id"]
    assert first["latency_ms"] >= 0

    retried = member.client.post(f"{one}/deliveries/{delivery['id']}/retry")
    assert retried.status_code == 202
    assert hooks.run_worker() == 1
    detail = member.client.get(f"{one}/deliveries/{delivery['id']}").json()
    assert detail["status"] == "succeeded"
    assert [a["response_status"] for a in detail["attempt_log"]] == [503, 200]

    assert [r.headers["webhook-id"] for r in receiver.received] == [delivery["webhook_id"]] * 2
    last = receiver.received[-1]
    message = Webhook(endpoint["secret"]).verify(last.body, last.headers)
    assert message["type"] == "webhook.test"
    assert json.loads(detail["request_body"]) == message

    listed = member.client.get(f"{one}/deliveries", params={"status": "succeeded"}).json()
    assert [d["id"] for d in listed] == [delivery["id"]]
    again = member.client.post(f"{one}/deliveries/{delivery['id']}/retry")
    assert again.status_code == 409


def test_replay_sends_what_a_disabled_endpoint_missed_once(
    hooks: Hooks, receiver: Receiver
) -> None:
    member = sign_in(hooks.platform)
    endpoint = hooks.subscribe(member, receiver.url, "api_key.created")
    one = f"/api/orgs/{member.org_id}/webhooks/{endpoint['id']}"
    since = datetime.now(UTC) - timedelta(seconds=1)
    assert member.client.patch(one, json={"enabled": False}).status_code == 200
    assert member.client.post(f"{one}/test").status_code == 409
    for name in ("a", "b"):
        hooks.emit(member.org_id, "api_key.created", {"name": name})
    hooks.emit(member.org_id, "balance.low", {"balance_nanos": 1})
    hooks.run_worker()
    assert receiver.received == []

    assert member.client.patch(one, json={"enabled": True}).json()["enabled"] is True
    window = {
        "since": since.isoformat(),
        "until": (datetime.now(UTC) + timedelta(seconds=1)).isoformat(),
    }
    replayed = member.client.post(f"{one}/replay", json=window)
    assert replayed.status_code == 202
    assert replayed.json() == {"replayed": 2}
    hooks.run_worker()
    names = sorted(json.loads(r.body)["data"]["name"] for r in receiver.received)
    assert names == ["a", "b"]

    assert member.client.post(f"{one}/replay", json=window).json() == {"replayed": 0}
    backwards = {"since": window["until"], "until": window["since"]}
    assert member.client.post(f"{one}/replay", json=backwards).json() == {"replayed": 0}


def test_rotation_signs_with_old_and_new_secret_during_the_overlap(
    hooks: Hooks, receiver: Receiver
) -> None:
    member = sign_in(hooks.platform)
    endpoint = hooks.subscribe(member, receiver.url, "balance.low")
    one = f"/api/orgs/{member.org_id}/webhooks/{endpoint['id']}"
    rotated = member.client.post(f"{one}/rotate-secret", json={"overlap_seconds": 60})
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret != endpoint["secret"]

    member.client.post(f"{one}/test")
    hooks.run_worker()
    during = receiver.received[-1]
    signatures = during.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    for secret in (endpoint["secret"], new_secret):
        Webhook(secret).verify(during.body, during.headers)

    hooks.clock.advance(61)
    member.client.post(f"{one}/test")
    hooks.run_worker()
    after = receiver.received[-1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    Webhook(new_secret).verify(after.body, after.headers)


def test_billing_and_usage_events_need_the_permission_their_data_needs(hooks: Hooks) -> None:
    owner = sign_in(hooks.platform)
    developer = sign_in(hooks.platform, org_id=owner.org_id, role="developer")
    base = f"/api/orgs/{owner.org_id}/webhooks"
    url = "https://hooks.example.com/in"
    for event_type in ("balance.low", "balance.depleted", "payment.succeeded", "payment.failed"):
        refused = developer.client.post(base, json={"url": url, "event_types": [event_type]})
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "event_type_not_allowed"
        assert event_type in refused.json()["error"]["message"]
    # What a developer may read in the console, it may subscribe to.
    mine = developer.client.post(base, json={"url": url, "event_types": ["usage.created"]})
    assert mine.status_code == 201, mine.text
    adding = developer.client.patch(
        f"{base}/{mine.json()['id']}", json={"event_types": ["usage.created", "payment.failed"]}
    )
    assert adding.status_code == 403
    # Nor may it redirect an endpoint that carries billing data elsewhere.
    billing = hooks.subscribe(owner, url, "payment.succeeded")
    moved = developer.client.patch(
        f"{base}/{billing['id']}", json={"url": "https://elsewhere.example.com/in"}
    )
    assert moved.status_code == 403
    assert owner.client.patch(
        f"{base}/{billing['id']}", json={"url": "https://elsewhere.example.com/in"}
    ).is_success
