"""A real llama.cpp server goes away and comes back; the status page follows it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from gptapi.gateway.upstream.registry import ServerSpec
from gptapi.inference.launcher import LocalFleet, LocalServer, free_port
from gptapi.models import Incident, Service, WebhookEvent
from tests.support.databases import fresh_database
from tests.support.platform import Platform, test_settings as settings_for
from tests.support.threads import Portal, wait_until

pytestmark = pytest.mark.llama

MODEL = "status-probe"


class OneServer:
    """A single llama.cpp server of our own, so the shared fleet is never disturbed."""

    def __init__(self, log_dir: Path) -> None:
        self.fleet = LocalFleet(log_dir, parallel=1, ctx_per_slot=512, audio=[])
        self.fleet.servers = [
            LocalServer((MODEL,), free_port(), False, log_dir / "llama-status.log")
        ]

    @property
    def url(self) -> str:
        return self.fleet.servers[0].base_url

    def start(self) -> None:
        self.fleet.start()
        portal = Portal()
        try:
            portal.call(self.fleet.wait_ready(timeout=180), timeout=200)
        finally:
            portal.close()

    def stop(self) -> None:
        self.fleet.stop()


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OneServer]:
    server = OneServer(tmp_path_factory.mktemp("llama-status"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def watched(backend: str, llama: OneServer, tmp_path: Path) -> Iterator[Platform]:
    with fresh_database(backend, tmp_path) as url:
        settings = settings_for(
            url,
            tmp_path,
            status_sample_seconds=0.3,
            status_incident_open_samples=2,
            status_incident_resolve_samples=2,
        )
        platform = Platform(settings)
        platform.add_model(MODEL, input_price=0, output_price=0)
        platform.set_servers("local", [ServerSpec(MODEL, llama.url)])
        platform.start()
        try:
            yield platform
        finally:
            platform.stop()


def _service(page: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in page["services"] if s["key"] == f"model:{MODEL}")


def _incidents(platform: Platform) -> list[Incident]:
    return platform.rows(
        select(Incident)
        .join(Service, Service.id == Incident.service_id)
        .where(Service.key == f"model:{MODEL}")
    )


def test_server_down_opens_an_incident_and_recovery_resolves_it(
    watched: Platform, llama: OneServer
) -> None:
    def page() -> dict[str, Any]:
        body: dict[str, Any] = httpx.get(f"{watched.url}/api/status").json()
        return body

    def status() -> str | None:
        services = [s for s in page()["services"] if s["key"] == f"model:{MODEL}"]
        return services[0]["status"] if services else None

    wait_until(lambda: status() == "operational", timeout=30)
    body = page()
    [server] = [s for s in body["servers"] if s["models"] == [MODEL]]
    assert server["status"] == "operational"
    assert server["slots"] == 1 and server["in_flight"] == 0
    assert server["latency_ms"] is not None
    assert llama.url not in str(body)  # where servers live stays private
    assert _incidents(watched) == []

    llama.stop()
    wait_until(lambda: status() == "major_outage", timeout=30)
    wait_until(lambda: len(_incidents(watched)) == 1, timeout=30)
    [incident] = _incidents(watched)
    assert incident.automatic and incident.severity == "critical"
    assert incident.status == "investigating"
    created = watched.rows(
        select(WebhookEvent).where(
            WebhookEvent.event_type == "incident.created",
            WebhookEvent.data["incident_id"].as_string() == str(incident.id),
        )
    )
    assert len(created) == 1 and created[0].organization_id is None
    assert created[0].data["components"] == [f"Model: {MODEL}"]
    shown = next(i for i in page()["incidents"] if i["id"] == incident.id)
    assert _service(page())["status"] == "major_outage"
    assert "none of 1 servers available" in shown["updates"][-1]["message"]

    llama.start()
    wait_until(lambda: _incidents(watched)[0].status == "resolved", timeout=60)
    assert status() == "operational"
    assert len(_incidents(watched)) == 1
    [incident] = _incidents(watched)
    assert incident.resolved_at is not None
    resolved = watched.rows(
        select(WebhookEvent.event_type).where(
            WebhookEvent.data["incident_id"].as_string() == str(incident.id)
        )
    )
    assert sorted(resolved) == ["incident.created", "incident.resolved", "incident.updated"]
