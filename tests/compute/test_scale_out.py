"""Serverless scale-out on the local provider with real llama.cpp servers: requests that
keep every slot busy for a sustained moment bring a second replica, the gateway routes over
both, and a whole idle timeout brings it back to the minimum. Each replica is billed by a
run of its own, with its own one-minute minimum, and the books add up exactly."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import openai
from sqlalchemy import select

from gptapi.compute.billing import billable_seconds, cost_of
from gptapi.kit.clock import ManualClock
from gptapi.models import Deployment, DeploymentRun, UsageLog
from tests.compute.test_deployments import (
    PRICE,
    api_key,
    compute_entries,
    deploy,
    deployments,
    wait_for_state,
)
from tests.compute.test_serverless import MESSAGES, wait_served
from tests.support.console import Member
from tests.support.platform import Platform
from tests.support.threads import wait_until


class Load:
    """Clients sending requests back to back until stopped: more than the slots there are."""

    def __init__(self, client: openai.OpenAI, model: str, clients: int = 3) -> None:
        self.stopped = threading.Event()
        self.threads = [
            threading.Thread(target=self._send, args=(client, model), daemon=True)
            for _ in range(clients)
        ]

    def _send(self, client: openai.OpenAI, model: str) -> None:
        while not self.stopped.is_set():
            # A queue timeout while the slots are taken is the point of the load.
            with contextlib.suppress(openai.APIError):
                client.chat.completions.create(model=model, messages=MESSAGES, max_tokens=8)

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.stopped.set()
        for thread in self.threads:
            thread.join(60)


def runs(platform: Platform, dep_id: str) -> list[DeploymentRun]:
    return platform.rows(
        select(DeploymentRun)
        .where(DeploymentRun.deployment_id == dep_id)
        .order_by(DeploymentRun.id)
    )


def test_saturated_slots_add_a_replica_and_idle_removes_it(
    gpu: Platform, gpu_clock: ManualClock, owner: Member
) -> None:
    created = deploy(
        owner,
        name="busy-bot",
        mode="serverless",
        min_replicas=1,
        max_replicas=2,
        idle_timeout_seconds=60,
    )
    assert created.status_code == 201, created.text
    dep_id = created.json()["id"]
    base = f"{deployments(owner)}/{dep_id}"
    ready = wait_for_state(owner, dep_id, "ready")
    assert (ready["replicas"], ready["min_replicas"], ready["max_replicas"]) == (1, 1, 2)
    client = openai.OpenAI(base_url=f"{gpu.url}/v1", api_key=api_key(owner), max_retries=0)
    wait_served(client, "busy-bot")

    def view() -> dict[str, Any]:
        return dict(owner.client.get(base).json())

    def grown() -> bool:
        # Time moves for the worker only when told: a second at a time while the load
        # holds every slot (one per local replica here), until it is sustained enough.
        gpu_clock.advance(1)
        return bool(view()["replicas_starting"] + view()["replicas"] >= 2)

    with Load(client, "busy-bot"):
        wait_until(grown, timeout=120, interval=0.3)
        wait_until(lambda: view()["replicas"] == 2, timeout=120, interval=0.2)
        # The gateway routes over both replicas.
        wait_until(
            lambda: (
                len(
                    set(
                        gpu.rows(
                            select(UsageLog.upstream).where(
                                UsageLog.model_id == ready_model_id(gpu, dep_id),
                                UsageLog.status == 200,
                            )
                        )
                    )
                )
                == 2
            ),
            timeout=300,
        )
    grown_view = view()
    assert grown_view["cold_start_seconds"] is not None
    assert grown_view["last_request_at"] is not None
    assert len(runs(gpu, dep_id)) == 2  # one per replica, each billed on its own

    # A whole idle timeout without requests: back to the minimum, one replica.
    gpu_clock.advance(61)
    wait_until(lambda: view()["replicas"] == 1, timeout=60, interval=0.1)
    assert view()["state"] == "ready"
    replica_run = runs(gpu, dep_id)[1]
    assert replica_run.ended_at is not None
    assert client.chat.completions.create(model="busy-bot", messages=MESSAGES, max_tokens=3)

    assert owner.client.delete(base).status_code == 202
    wait_until(lambda: owner.client.get(base).status_code == 404, timeout=60)
    # Every run billed from ready to its end (one minute at least), and nothing else.
    closed = runs(gpu, dep_id)
    assert len(closed) == 2 and all(r.ended_at is not None for r in closed)
    for run in closed:
        assert run.ended_at is not None
        assert run.billed_seconds == billable_seconds(run.started_at, run.ended_at)
    charged = -sum(e.amount_nanos for e in compute_entries(gpu, owner))
    assert charged == sum(cost_of(PRICE, r.billed_seconds) for r in closed)
    keys = [e.idempotency_key for e in compute_entries(gpu, owner)]
    assert len(keys) == len(set(keys))


def ready_model_id(platform: Platform, dep_id: str) -> int:
    return int(platform.rows(select(Deployment.model_id).where(Deployment.id == dep_id))[0])
