"""Serverless deployments on the local provider: a real llama.cpp server starts on the first
request for a deployment at zero (which is told to come back with Retry-After), stays warm
while requests come, and is ended after its idle timeout; at zero nothing is charged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
import openai
import pytest
from sqlalchemy import select

from gptapi.compute.billing import cost_of
from gptapi.kit.clock import ManualClock
from gptapi.models import Deployment, DeploymentRun, WebhookEvent
from tests.compute.test_deployments import (
    PRICE,
    api_key,
    compute_entries,
    deploy,
    deployments,
    wait_for_state,
)
from tests.support.console import Member, sign_in
from tests.support.platform import Platform
from tests.support.threads import wait_until

MESSAGES: list[Any] = [{"role": "user", "content": "Hi"}]


def seen_at(platform: Platform, dep_id: str, moment: datetime) -> bool:
    """The worker has seen the running deployment healthy at `moment` (its clock's time)."""
    return moment in platform.rows(
        select(DeploymentRun.last_seen_at).where(
            DeploymentRun.deployment_id == dep_id, DeploymentRun.ended_at.is_(None)
        )
    )


def request_seen(platform: Platform, dep_id: str, moment: datetime) -> bool:
    """The gateway has recorded a request for the deployment at `moment` (or later)."""
    (last,) = platform.rows(select(Deployment.last_request_at).where(Deployment.id == dep_id))
    return last is not None and last >= moment


def settle(platform: Platform, clock: ManualClock, dep_id: str) -> None:
    """Wait until the worker has looked at the running deployment at the clock's time, and
    then once more a second later: the look before the last one has made its decision."""
    wait_until(partial(seen_at, platform, dep_id, clock.now()), timeout=30)
    clock.advance(1)
    wait_until(partial(seen_at, platform, dep_id, clock.now()), timeout=30)


def wait_served(client: openai.OpenAI, name: str) -> None:
    """Ready, and in the gateway's view (its catalog refreshes right after the change); a
    deployment at zero is listed too, as idle."""

    def ready() -> bool:
        listed = {m.id: (m.model_extra or {}).get("deployment") or {} for m in client.models.list()}
        return bool(listed.get(name, {}).get("state") == "ready")

    wait_until(ready, timeout=30)


def state_of(member: Member, dep_id: str) -> str:
    return str(member.client.get(f"{deployments(member)}/{dep_id}").json()["state"])


def test_scale_to_zero_and_cold_start(gpu: Platform, gpu_clock: ManualClock, owner: Member) -> None:
    created = deploy(
        owner, name="lazy-bot", mode="serverless", min_replicas=0, idle_timeout_seconds=60
    )
    assert created.status_code == 201, created.text
    dep_id = created.json()["id"]
    assert created.json()["state"] == "idle"
    # At zero nothing runs and nothing is charged, however long.
    gpu_clock.advance(3600)
    assert compute_entries(gpu, owner) == []

    secret = api_key(owner)
    raw = {"model": "lazy-bot", "messages": MESSAGES, "max_tokens": 3}
    headers = {"authorization": f"Bearer {secret}"}
    for _ in range(2):  # the second request while it starts does not start it twice
        cold = httpx.post(f"{gpu.url}/v1/chat/completions", json=raw, headers=headers)
        assert cold.status_code == 503, cold.text
        assert int(cold.headers["retry-after"]) >= 1
        assert cold.json()["error"]["code"] == "deployment_starting"
        assert cold.json()["error"]["type"] == "server_error"

    wait_for_state(owner, dep_id, "ready")
    client = openai.OpenAI(base_url=f"{gpu.url}/v1", api_key=secret, max_retries=0)
    wait_served(client, "lazy-bot")
    assert client.chat.completions.create(model="lazy-bot", messages=MESSAGES, max_tokens=3)

    # A request within the idle timeout keeps it warm for another whole timeout: the
    # gateway, which sees every request, records it for the worker.
    settle(gpu, gpu_clock, dep_id)  # ready + 1 s
    gpu_clock.advance(44)
    assert client.chat.completions.create(model="lazy-bot", messages=MESSAGES, max_tokens=3)
    wait_until(partial(request_seen, gpu, dep_id, gpu_clock.now()), timeout=30)
    settle(gpu, gpu_clock, dep_id)  # ready + 46 s
    gpu_clock.advance(44)
    settle(gpu, gpu_clock, dep_id)  # ready + 91 s, idle for 45 s
    assert state_of(owner, dep_id) == "ready"

    # A whole timeout without requests: scaled to zero, billed exactly to that moment.
    gpu_clock.advance(59)  # ready + 150 s, idle for 104 s
    scaled = wait_for_state(owner, dep_id, "idle")
    assert "Scaled to zero" in scaled["state_reason"]
    assert scaled["runtime_seconds"] == 150
    charged = -sum(e.amount_nanos for e in compute_entries(gpu, owner))
    assert charged == cost_of(PRICE, 150)
    # The spend split by service reads the same books (the ledger is stamped with the wall
    # clock, the run with the worker's: the period covers both).
    period = {
        "start": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
        "end": (gpu_clock.now() + timedelta(days=1)).isoformat(),
    }
    split = owner.client.get(f"/api/orgs/{owner.org_id}/usage/services", params=period)
    assert split.status_code == 200, split.text
    spend = split.json()
    by_service = {s["service"]: s["cost_nanos"] for s in spend["services"]}
    assert by_service == {"token_api": 0, "deployments": charged, "pods": 0, "storage": 0}
    assert spend["total_cost_nanos"] == charged
    assert spend["running_hours"] == round(150 / 3600, 6)
    assert spend["gpu_hours"] == 0  # the local deployment runs on the CPU
    assert spend["average_cost_per_hour_usd"] is not None
    backwards = {"start": period["end"], "end": period["start"]}
    refused = owner.client.get(f"/api/orgs/{owner.org_id}/usage/services", params=backwards)
    assert refused.status_code == 400
    gpu_clock.advance(3600)
    with httpx.Client() as http:
        again = http.post(f"{gpu.url}/v1/chat/completions", json=raw, headers=headers)
    assert again.status_code == 503  # woken again by the next request

    wait_for_state(owner, dep_id, "ready")
    wait_served(client, "lazy-bot")
    assert client.chat.completions.create(model="lazy-bot", messages=MESSAGES, max_tokens=3)
    # The idle hour cost nothing: only the new run's first minute is added.
    wait_until(
        lambda: (
            -sum(e.amount_nanos for e in compute_entries(gpu, owner))
            == cost_of(PRICE, 150) + cost_of(PRICE, 60)
        )
    )

    assert owner.client.delete(f"{deployments(owner)}/{dep_id}").status_code == 202
    wait_until(
        lambda: owner.client.get(f"{deployments(owner)}/{dep_id}").status_code == 404, timeout=30
    )
    events = gpu.rows(
        select(WebhookEvent)
        .where(
            WebhookEvent.event_type == "deployment.state_changed",
            WebhookEvent.organization_id == owner.org_id,
        )
        .order_by(WebhookEvent.created_at, WebhookEvent.id)
    )
    changes = [
        (e.data["previous_state"], e.data["state"])
        for e in events
        if e.data["deployment_id"] == dep_id
    ]
    woken = [("idle", "pending"), ("pending", "starting"), ("starting", "ready")]
    assert changes == [
        (None, "idle"),
        *woken,
        ("ready", "idle"),
        *woken,
        ("ready", "deleting"),
        ("deleting", "deleted"),
    ]


def test_stop_and_start_at_zero(gpu: Platform, owner: Member) -> None:
    dep_id = deploy(owner, name="zero-bot", mode="serverless", min_replicas=0).json()["id"]
    base = f"{deployments(owner)}/{dep_id}"
    # Another organisation cannot wake it: the name means nothing to it.
    stranger = sign_in(gpu)
    try:
        theirs = openai.OpenAI(base_url=f"{gpu.url}/v1", api_key=api_key(stranger), max_retries=0)
        with pytest.raises(openai.NotFoundError):
            theirs.chat.completions.create(model="zero-bot", messages=MESSAGES, max_tokens=3)
    finally:
        stranger.client.close()
    assert state_of(owner, dep_id) == "idle"
    assert owner.client.post(f"{base}/stop").status_code == 202
    assert state_of(owner, dep_id) == "stopped"  # nothing ran: nothing to wait for
    secret = api_key(owner)
    client = openai.OpenAI(base_url=f"{gpu.url}/v1", api_key=secret, max_retries=0)
    with pytest.raises(openai.NotFoundError):  # a stopped deployment is not woken
        client.chat.completions.create(model="zero-bot", messages=MESSAGES, max_tokens=3)
    assert owner.client.post(f"{base}/start").status_code == 202
    assert state_of(owner, dep_id) == "idle"  # started means back at zero, waiting
    assert owner.client.delete(base).status_code == 202
    assert owner.client.get(base).status_code == 404
    assert compute_entries(gpu, owner) == []


def test_a_cold_request_is_held_until_ready(gpu: Platform, owner: Member) -> None:
    """With a wait configured, the request that wakes the deployment is answered by it:
    the client sees a slow first byte, not an error."""
    dep_id = deploy(owner, name="patient-bot", mode="serverless", min_replicas=0).json()["id"]
    client = openai.OpenAI(base_url=f"{gpu.url}/v1", api_key=api_key(owner), max_retries=0)
    gpu.settings.compute_cold_start_wait_seconds = 120
    try:
        reply = client.chat.completions.create(model="patient-bot", messages=MESSAGES, max_tokens=3)
        assert reply.choices[0].message.content is not None
        stream = client.chat.completions.create(
            model="patient-bot", messages=MESSAGES, max_tokens=3, stream=True
        )
        assert any(c.choices and c.choices[0].delta.content for c in stream)
    finally:
        gpu.settings.compute_cold_start_wait_seconds = 0
    assert state_of(owner, dep_id) == "ready"
    assert owner.client.delete(f"{deployments(owner)}/{dep_id}").status_code == 202
    wait_until(
        lambda: owner.client.get(f"{deployments(owner)}/{dep_id}").status_code == 404, timeout=30
    )
