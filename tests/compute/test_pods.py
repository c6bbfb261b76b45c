"""Custom pods end to end on a platform configured with RunPod (its loopback double): the
API records what is wanted, the compute worker creates, stops, resumes and terminates the
pod through RunPod's REST v2, and the ledger holds exactly the GPU and storage seconds, to
the nano-dollar, under a manual clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from gptapi.compute.billing import cost_of
from gptapi.kit.clock import ManualClock, rfc3339
from gptapi.kit.money import dollars_to_nanos
from gptapi.models import AuditLog, CreditTransaction, WebhookEvent
from tests.compute.conftest import assert_unknown_to, fund, funded_stranger
from tests.support.console import Member, sign_in
from tests.support.databases import fresh_database
from tests.support.platform import Platform, test_settings as settings_for
from tests.support.runpod_double import API_KEY, NO_CAPACITY, PUBLIC_IP, RunPodDouble
from tests.support.threads import wait_until

GPU_PRICE = dollars_to_nanos("0.35")  # an RTX 4090 in Community Cloud
STORAGE_PRICE = dollars_to_nanos("0.10")  # 50 GB at $0.002 per GB-hour
SPEC = {
    "image": "pytorch/pytorch:2.1.0-cuda12.1-cudnn8-runtime",
    "gpu_type": "NVIDIA GeForce RTX 4090",
    "gpu_count": 1,
    "cloud_type": "COMMUNITY",
    "storage_gb": 50,
    "ports": ["8888/http", "22/tcp"],
    "env": {"JUPYTER_PASSWORD": "s3cret"},
}


@pytest.fixture(scope="module")
def runpod() -> Iterator[RunPodDouble]:
    double = RunPodDouble().start()
    try:
        yield double
    finally:
        double.stop()


@pytest.fixture(scope="module")
def cloud_clock() -> ManualClock:
    # From the wall clock: the ledger dates its entries by it, the runs by this one.
    return ManualClock()


@pytest.fixture(scope="module")
def cloud(
    backend: str,
    runpod: RunPodDouble,
    cloud_clock: ManualClock,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Platform]:
    tmp: Path = tmp_path_factory.mktemp(f"pods-{backend}")
    with fresh_database(backend, tmp) as url:
        settings = settings_for(
            url,
            tmp,
            compute_poll_seconds=0.1,
            billing_poll_seconds=60,
            runpod_api_key=API_KEY,
            runpod_api_base=runpod.base_url,
            runpod_proxy_url=runpod.proxy_url,
        )
        platform = Platform(settings, clock=cloud_clock).start()
        try:
            yield platform
        finally:
            platform.stop()


@pytest.fixture
def member(cloud: Platform) -> Iterator[Member]:
    member = sign_in(cloud)
    fund(cloud, member.org_id, "20")
    try:
        yield member
    finally:
        member.client.close()


def pods(member: Member) -> str:
    return f"/api/orgs/{member.org_id}/pods"


def wait_for(member: Member, pod_id: str, state: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def reached() -> bool:
        seen.update(member.client.get(f"{pods(member)}/{pod_id}").json())
        return bool(seen["state"] == state)

    wait_until(reached, timeout=30, interval=0.05)
    return seen


def charged(platform: Platform, member: Member, kind: str) -> int:
    entries = platform.rows(
        select(CreditTransaction.amount_nanos).where(
            CreditTransaction.organization_id == member.org_id, CreditTransaction.kind == kind
        )
    )
    return -int(sum(entries))


def test_pod_lifecycle_is_billed_for_gpus_while_running_and_storage_until_terminated(
    cloud: Platform, runpod: RunPodDouble, cloud_clock: ManualClock, member: Member
) -> None:
    pods_before = len(runpod.created)
    created = member.client.post(pods(member), json={**SPEC, "name": "training"})
    assert created.status_code == 201, created.text
    pod = created.json()
    pod_id = pod["id"]
    assert pod_id.startswith("pod_")
    assert (pod["state"], pod["provider"], pod["env_names"]) == (
        "pending",
        "runpod",
        ["JUPYTER_PASSWORD"],
    )
    # The seed's example: $0.35 + $0.10 = $0.45 an hour, $10.80 a day.
    assert (pod["price"]["per_hour"], pod["price"]["per_day"]) == ("0.45", "10.80")

    running = wait_for(member, pod_id, "running")
    sent = runpod.created[-1]
    assert sent["name"] == "training"
    assert sent["gpu"] == {"id": "NVIDIA GeForce RTX 4090", "count": 1}
    assert (sent["cloud"], sent["ports"], sent["env"]) == (
        "COMMUNITY",
        ["8888/http", "22/tcp"],
        {"JUPYTER_PASSWORD": "s3cret"},
    )
    assert sent["mounts"] == {"persistent": {"size": 50, "path": "/workspace"}}
    assert (sent["startSsh"], sent["startJupyter"]) == (True, True)
    instance = next(p for p in runpod.pods.values() if p.body is sent)
    connection = running["connection"]
    assert connection["ssh"] == f"ssh root@{PUBLIC_IP} -p 40101"
    assert connection["jupyter"] == f"{runpod.base_url}/proxy/{instance.id}-8888"
    assert connection["endpoints"][1] == {
        "port": 22,
        "protocol": "tcp",
        "url": None,
        "ip": PUBLIC_IP,
        "public_port": 40101,
    }
    logs = member.client.get(f"{pods(member)}/{pod_id}/logs", params={"tail": 5})
    assert logs.json()["lines"] == ["llama-server for training listening on 8080"]
    # The first minute of GPUs and of storage is charged the moment it runs.
    wait_until(lambda: charged(cloud, member, "pod") == cost_of(GPU_PRICE, 60))

    # 150 s running, then a stop: the volume is kept at RunPod, and billed.
    cloud_clock.advance(150)
    assert member.client.post(f"{pods(member)}/{pod_id}/stop").status_code == 202
    stopped = wait_for(member, pod_id, "stopped")
    assert stopped["connection"] is None
    assert runpod.pods[instance.id].status == "EXITED"
    assert stopped["runtime_seconds"] == 150
    assert charged(cloud, member, "pod") == cost_of(GPU_PRICE, 150)
    cloud_clock.advance(1000)
    wait_until(lambda: charged(cloud, member, "storage") == cost_of(STORAGE_PRICE, 1150))
    assert charged(cloud, member, "pod") == cost_of(GPU_PRICE, 150)

    # Started again: the same pod resumes on its volume, a new start with its own minute.
    assert member.client.post(f"{pods(member)}/{pod_id}/start").status_code == 202
    wait_for(member, pod_id, "running")
    assert instance.actions == ["stop", "start"]
    assert len(runpod.created) == pods_before + 1
    cloud_clock.advance(30)
    assert member.client.delete(f"{pods(member)}/{pod_id}").status_code == 202
    wait_until(lambda: member.client.get(f"{pods(member)}/{pod_id}").status_code == 404)
    assert instance.id not in runpod.pods
    gpu_total = cost_of(GPU_PRICE, 150) + cost_of(GPU_PRICE, 60)
    storage_total = cost_of(STORAGE_PRICE, 1180)
    assert charged(cloud, member, "pod") == gpu_total
    assert charged(cloud, member, "storage") == storage_total
    assert pod_id not in {p["id"] for p in member.client.get(pods(member)).json()}

    now = datetime.now(UTC)
    spend = member.client.get(
        f"/api/orgs/{member.org_id}/usage/services",
        params={"start": rfc3339(now - timedelta(days=1)), "end": rfc3339(now + timedelta(days=1))},
    ).json()
    by_service = {s["service"]: s["cost_nanos"] for s in spend["services"]}
    assert (by_service["pods"], by_service["storage"]) == (gpu_total, storage_total)
    # It ran 150 s, then 30 s (billed as the minute); a stopped pod is not running.
    assert spend["running_hours"] == spend["gpu_hours"] == round(180 / 3600, 6)

    entries = cloud.rows(select(AuditLog).where(AuditLog.target_id == pod_id).order_by(AuditLog.id))
    assert [e.action for e in entries] == [
        "pod.create",
        "pod.stop",
        "pod.start",
        "pod.terminate",
        "pod.terminated",
    ]
    # The end, as the platform recorded it once settled: what it ran and cost in all.
    end = entries[-1]
    assert end.actor_user_id is None and end.organization_id == member.org_id
    assert end.data == {
        "name": "training",
        "gpu_type": "NVIDIA GeForce RTX 4090",
        "gpu_count": 1,
        "runtime_seconds": 210,
        "cost_nanos": gpu_total + storage_total,
    }
    events = cloud.rows(
        select(WebhookEvent)
        .where(WebhookEvent.event_type == "pod.state_changed")
        .order_by(WebhookEvent.created_at, WebhookEvent.id)
    )
    changes = [
        (e.data["previous_state"], e.data["state"]) for e in events if e.data["pod_id"] == pod_id
    ]
    assert changes == [
        (None, "pending"),
        ("pending", "starting"),
        ("starting", "running"),
        ("running", "stopping"),
        ("stopping", "stopped"),
        ("stopped", "pending"),
        ("pending", "starting"),
        ("starting", "running"),
        ("running", "terminating"),
        ("terminating", "terminated"),
    ]


def test_no_capacity_fails_the_pod_with_runpods_reason_and_charges_nothing(
    cloud: Platform, runpod: RunPodDouble, member: Member
) -> None:
    runpod.no_capacity.add("NVIDIA H100 80GB HBM3")
    try:
        created = member.client.post(
            pods(member), json={**SPEC, "gpu_type": "NVIDIA H100 80GB HBM3", "gpu_count": 8}
        )
        assert created.status_code == 201
        failed = wait_for(member, created.json()["id"], "failed")
    finally:
        runpod.no_capacity.clear()
    assert NO_CAPACITY in failed["state_reason"]
    assert failed["cost_nanos"] == 0
    assert charged(cloud, member, "pod") == charged(cloud, member, "storage") == 0


def test_other_organisations_get_404_on_every_route(cloud: Platform, member: Member) -> None:
    pod_id = member.client.post(pods(member), json={**SPEC, "name": "mine"}).json()["id"]
    gpus = member.client.get("/api/compute/gpus").json()
    assert {g["pods_available"] for g in gpus} == {True}
    stranger = funded_stranger(cloud)
    try:
        assert_unknown_to(stranger, f"{pods(stranger)}/{pod_id}")
        assert stranger.client.get(pods(stranger)).json() == []
        # Asking about the owner's organisation is refused outright.
        assert stranger.client.get(pods(member)).status_code == 404
        assert stranger.client.post(pods(member), json=SPEC).status_code == 404
    finally:
        stranger.client.close()
    assert member.client.get(f"{pods(member)}/{pod_id}").json()["name"] == "mine"
    assert member.client.delete(f"{pods(member)}/{pod_id}").status_code == 202
    wait_until(lambda: member.client.get(f"{pods(member)}/{pod_id}").status_code == 404)


def test_an_empty_balance_cannot_create_a_pod(cloud: Platform) -> None:
    broke = sign_in(cloud)
    try:
        refused = broke.client.post(pods(broke), json=SPEC)
        assert refused.status_code == 402
        assert refused.json()["error"]["code"] == "insufficient_balance"
    finally:
        broke.client.close()
