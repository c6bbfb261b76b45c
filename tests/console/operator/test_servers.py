"""Upstream servers through the operator API."""

from __future__ import annotations

import uuid
from typing import Any

from tests.console.usage.seeding import ensure_model
from tests.support.console import Member
from tests.support.platform import Platform
from tests.support.threads import wait_until


def servers(operator: Member) -> dict[int, dict[str, Any]]:
    return {s["id"]: s for s in operator.client.get("/api/admin/servers").json()}


def test_add_drain_and_remove_a_server(console: Platform, operator: Member) -> None:
    model = f"pool-{uuid.uuid4().hex[:8]}"
    ensure_model(console, model)
    url = "http://127.0.0.1:9"  # nothing listens: the gateway will find it unhealthy
    created = operator.client.post("/api/admin/servers", json={"model": model, "base_url": url})
    assert created.status_code == 201, created.text
    server = created.json()
    assert server["state"] == "active" and server["source"] == "admin"
    registry = console.runtime.serving.registry
    wait_until(lambda: any(s.base_url == url for s in registry.servers), timeout=10)
    listed = servers(operator)[server["id"]]
    assert listed["health"] is not None and listed["health"]["healthy"] is False

    path = f"/api/admin/servers/{server['id']}"
    assert operator.client.patch(path, json={"state": "draining"}).json()["state"] == "draining"
    wait_until(
        lambda: any(model in s.draining_for for s in registry.servers if s.base_url == url),
        timeout=10,
    )
    assert operator.client.patch(path, json={"state": "active"}).json()["state"] == "active"
    assert operator.client.delete(path).status_code == 204
    assert server["id"] not in servers(operator)
    assert operator.client.delete(path).status_code == 404
    actions = [
        e["action"]
        for e in operator.client.get("/api/admin/audit-log", params={"action": "server"}).json()[
            "data"
        ]
        if e["target_id"] == str(server["id"])
    ]
    assert actions == ["server.delete", "server.undrain", "server.drain", "server.create"]


def test_bad_servers_are_refused(console: Platform, operator: Member) -> None:
    model = f"pool-{uuid.uuid4().hex[:8]}"
    ensure_model(console, model)
    before = servers(operator)
    for body, status in [
        ({"model": model, "base_url": "ftp://example.com"}, 422),
        ({"model": model, "base_url": "not a url"}, 422),
        ({"model": "no-such-model", "base_url": "http://127.0.0.1:9"}, 400),
        ({"base_url": "http://127.0.0.1:9"}, 422),
    ]:
        response = operator.client.post("/api/admin/servers", json=body)
        assert response.status_code == status, (body, response.text)
    ok = {"model": model, "base_url": "http://127.0.0.1:10"}
    assert operator.client.post("/api/admin/servers", json=ok).status_code == 201
    assert operator.client.post("/api/admin/servers", json=ok).status_code == 400  # twice
    patch = operator.client.patch("/api/admin/servers/999999", json={"state": "draining"})
    assert patch.status_code == 404
    bad_state = operator.client.patch("/api/admin/servers/1", json={"state": "asleep"})
    assert bad_state.status_code == 422
    assert len(servers(operator)) == len(before) + 1


def test_ids_beyond_a_bigint_are_refused_not_crashed(console: Platform, operator: Member) -> None:
    for server_id in (2**63, 2**64, 0):
        path = f"/api/admin/servers/{server_id}"
        for response in (
            operator.client.patch(path, json={"state": "draining"}),
            operator.client.delete(path),
        ):
            assert response.status_code == 422, response.text
            assert response.json()["error"]["param"] == "server_id"
    assert operator.client.delete(f"/api/admin/servers/{2**63 - 1}").status_code == 404
