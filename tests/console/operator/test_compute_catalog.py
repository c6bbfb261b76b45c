"""Operators edit the GPU cloud's catalog and price list; the public catalog follows, and a
price applies to deployments started after the change, never to one already running."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.compute.conftest import fund
from tests.support.console import Member
from tests.support.platform import Platform
from tests.support.threads import wait_until

CATALOG = "/api/admin/compute/catalog"


def _local_entry(operator: Member, **fields: Any) -> dict[str, Any]:
    body = {
        "slug": f"bot-{uuid.uuid4().hex[:8]}",
        "name": "Test bot",
        "category": "chat",
        "provider": "local",
        "gpu_type": "CPU",
        "gpu_count": 0,
        "price_per_hour": "0.10",
        "model": "smollm2-135m",
        **fields,
    }
    response = operator.client.post(CATALOG, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _public(console: Platform, slug: str) -> httpx.Response:
    return httpx.get(f"{console.url}/api/compute/catalog/{slug}")


def _public_price(console: Platform, slug: str, price: str) -> bool:
    shown = _public(console, slug)
    return shown.status_code == 200 and shown.json()["price_per_hour"] == price


def test_an_entry_is_added_repriced_disabled_and_audited(
    console: Platform, operator: Member
) -> None:
    entry = _local_entry(operator, description="for tests")
    slug = entry["slug"]
    assert entry["price_nanos_per_hour"] == 100_000_000 and entry["enabled"] is True
    assert entry["deployable"] is True
    wait_until(lambda: _public_price(console, slug, "0.10"), timeout=20)

    changed = operator.client.patch(f"{CATALOG}/{slug}", json={"price_per_hour": "0.125"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["price_nanos_per_hour"] == 125_000_000
    wait_until(lambda: _public_price(console, slug, "0.12"), timeout=20)

    assert operator.client.patch(f"{CATALOG}/{slug}", json={"enabled": False}).status_code == 200
    wait_until(lambda: _public(console, slug).status_code == 404, timeout=20)
    listed = httpx.get(f"{console.url}/api/compute/catalog").json()
    assert slug not in {e["slug"] for e in listed}
    every = operator.client.get(CATALOG).json()
    assert [e["enabled"] for e in every if e["slug"] == slug] == [False]

    log = operator.client.get("/api/admin/audit-log", params={"target_id": slug}).json()["data"]
    actions = [row["action"] for row in log]
    assert "compute_catalog.create" in actions and "compute_catalog.update" in actions


@pytest.mark.parametrize(
    ("fields", "status", "param"),
    [
        ({"category": "video"}, 422, "category"),
        ({"price_per_hour": "0"}, 400, "price_per_hour"),
        ({"price_per_hour": "0.123456"}, 422, "price_per_hour"),
        ({"image": "ghcr.io/x/y:1"}, 400, "model"),
        ({"provider": "runpod", "image": "bad image"}, 422, "image"),
        ({"gpu_count": 9}, 422, "gpu_count"),
        ({"colour": "red"}, 422, "colour"),
    ],
)
def test_bad_entries_are_refused_naming_the_field(
    operator: Member, fields: dict[str, Any], status: int, param: str
) -> None:
    body = {
        "slug": f"bad-{uuid.uuid4().hex[:8]}",
        "name": "Bad",
        "category": "chat",
        "provider": "local",
        "gpu_type": "CPU",
        "price_per_hour": "0.10",
        "model": "smollm2-135m",
        **fields,
    }
    response = operator.client.post(CATALOG, json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["param"] == param


def test_duplicates_unknown_entries_and_members_are_refused(
    console: Platform, operator: Member, member: Member
) -> None:
    slug = _local_entry(operator)["slug"]
    body = {"slug": slug, "name": "Again", "category": "chat", "provider": "local"}
    again = operator.client.post(
        CATALOG, json={**body, "gpu_type": "CPU", "price_per_hour": "1", "model": "smollm2-135m"}
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "catalog_entry_exists"
    missing = operator.client.patch(f"{CATALOG}/no-such-entry", json={"name": "x"})
    assert missing.status_code == 404
    assert member.client.get(CATALOG).status_code == 403
    assert member.client.put("/api/admin/compute/prices/storage", json={}).status_code == 403


def test_gpu_and_storage_prices_drive_the_pod_estimate(console: Platform, operator: Member) -> None:
    gpu = f"Test GPU {uuid.uuid4().hex[:6]}"
    body = {"memory_gb": 24, "community_per_hour": "0.30", "secure_per_hour": "0.50"}
    put = operator.client.put(f"/api/admin/compute/prices/gpus/{gpu}", json=body)
    assert put.status_code == 200, put.text
    assert put.json()["community_nanos_per_hour"] == 300_000_000
    before = operator.client.get("/api/admin/compute/prices").json()["storage_per_gb_hour"]
    try:
        storage = operator.client.put(
            "/api/admin/compute/prices/storage", json={"per_gb_hour": "0.004"}
        )
        assert storage.status_code == 200, storage.text
        assert storage.json()["storage_nanos_per_gb_hour"] == 4_000_000
        spec = {"image": "pytorch/pytorch:2.1.0", "gpu_type": gpu, "gpu_count": 2}

        def estimated() -> dict[str, Any] | None:
            answer = httpx.post(
                f"{console.url}/api/compute/pods/estimate",
                json={**spec, "cloud_type": "SECURE", "storage_gb": 50},
            )
            return answer.json() if answer.status_code == 200 else None

        wait_until(lambda: (estimated() or {}).get("storage_per_hour") == "0.20", timeout=20)
        assert estimated() == {
            "gpu_per_hour": "1.00",
            "storage_per_hour": "0.20",
            "per_hour": "1.20",
            "per_day": "28.80",
            "nanos_per_hour": 1_200_000_000,
            "nanos_per_day": 28_800_000_000,
            "billing": "Billed per second, one-minute minimum per start; storage also while "
            "stopped.",
        }
        off = operator.client.put(
            f"/api/admin/compute/prices/gpus/{gpu}", json={**body, "enabled": False}
        )
        assert off.status_code == 200
        wait_until(lambda: estimated() is None, timeout=20)
        shown = httpx.get(f"{console.url}/api/compute/gpus").json()
        assert gpu not in {g["gpu_type"] for g in shown}
    finally:
        operator.client.put("/api/admin/compute/prices/storage", json={"per_gb_hour": before})


def test_a_price_change_applies_from_the_next_start(
    console: Platform, operator: Member, member: Member
) -> None:
    fund(console, member.org_id, "5")
    slug = _local_entry(operator)["slug"]
    wait_until(lambda: _public_price(console, slug, "0.10"), timeout=20)
    deployments = f"/api/orgs/{member.org_id}/deployments"
    # Serverless at zero: nothing runs, so the test needs no server.
    body = {"catalog_slug": slug, "mode": "serverless", "min_replicas": 0}
    first = member.client.post(deployments, json={**body, "name": f"{slug}-a"})
    assert first.status_code == 201, first.text
    assert first.json()["price_nanos_per_hour"] == 100_000_000

    repriced = operator.client.patch(f"{CATALOG}/{slug}", json={"price_per_hour": "0.20"})
    assert repriced.status_code == 200
    wait_until(lambda: _public_price(console, slug, "0.20"), timeout=20)
    one = f"{deployments}/{first.json()['id']}"
    assert member.client.get(one).json()["price_nanos_per_hour"] == 100_000_000
    second = member.client.post(deployments, json={**body, "name": f"{slug}-b"})
    assert second.json()["price_nanos_per_hour"] == 200_000_000

    assert member.client.post(f"{one}/stop").json()["state"] == "stopped"
    restarted = member.client.post(f"{one}/start")
    assert restarted.status_code == 202, restarted.text
    assert restarted.json()["price_nanos_per_hour"] == 200_000_000

    # A withdrawn entry cannot be deployed or started again.
    assert operator.client.patch(f"{CATALOG}/{slug}", json={"enabled": False}).status_code == 200
    wait_until(lambda: _public(console, slug).status_code == 404, timeout=20)
    refused = member.client.post(deployments, json={**body, "name": f"{slug}-c"})
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "catalog_slug"
    assert member.client.post(f"{one}/stop").status_code == 202
    again = member.client.post(f"{one}/start")
    assert again.status_code == 409 and again.json()["error"]["code"] == "catalog_entry_disabled"
