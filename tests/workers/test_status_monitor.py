"""The status monitor against a real database and a real upstream registry, with time moved
by hand: compact daily uptime, pruning, and the automatic incident lifecycle."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.console.status.monitor import StatusMonitor
from gptapi.console.status.page import status_page
from gptapi.console.status.schemas import StatusPage
from gptapi.gateway.metrics import observe_request
from gptapi.gateway.upstream.client import UpstreamClient
from gptapi.gateway.upstream.registry import ServerSpec, UpstreamRegistry
from gptapi.kit.clock import ManualClock
from gptapi.models import (
    Incident,
    IncidentUpdate,
    Model,
    Service,
    ServiceLatencySample,
    ServiceUptimeDaily,
    WebhookEvent,
)
from tests.support.databases import fresh_database
from tests.support.platform import Platform, test_settings as settings_for

# Nothing listens on the discard port: probes fail at once, health comes from the registry.
DOWN_URL = "http://127.0.0.1:9"
SECOND_URL = "http://127.0.0.2:9"


class Monitored:
    """A monitor over a registry the test controls, on a platform's database."""

    def __init__(self, platform: Platform, clock: ManualClock) -> None:
        self.platform = platform
        self.clock = clock
        self.registry = UpstreamRegistry(eject_after_failures=3, max_queue=8)
        self.client = UpstreamClient(connect_timeout=0.5, read_timeout=0.5)
        self.monitor = self.restart()

    def restart(self) -> StatusMonitor:
        self.monitor = StatusMonitor(
            settings=self.platform.settings,
            sessions=self.platform.sessions,
            clock=self.clock,
            registry=self.registry,
            client=self.client,
        )
        return self.monitor

    def serve(self, model: str, *urls: str) -> None:
        self.registry.sync([ServerSpec(model, url) for url in urls])
        for server in self.registry.servers:
            self.registry.set_health(server, True, slots=4)

    def set_health(self, url: str, healthy: bool) -> None:
        server = next(s for s in self.registry.servers if s.base_url == url)
        self.registry.set_health(server, healthy)

    def sample(self, times: int = 1, every: float = 60) -> None:
        for _ in range(times):
            self.platform.portal.call(self.monitor.sample())
            self.clock.advance(every)

    def page(self) -> StatusPage:
        async def work(session: AsyncSession) -> StatusPage:
            return await status_page(session, self.platform.settings, self.clock.now())

        return self.platform.run(work)

    def service(self, key: str) -> Service:
        rows: list[Service] = self.platform.rows(select(Service).where(Service.key == key))
        return rows[0]

    def incidents(self, key: str) -> list[Incident]:
        return self.platform.rows(
            select(Incident)
            .join(Service, Service.id == Incident.service_id)
            .where(Service.key == key)
            .order_by(Incident.id)
        )

    def close(self) -> None:
        self.platform.portal.call(self.client.close())


@pytest.fixture
def monitored(backend: str, tmp_path: Path) -> Iterator[Monitored]:
    with fresh_database(backend, tmp_path) as url:
        settings = settings_for(
            url, tmp_path, status_incident_open_samples=2, status_incident_resolve_samples=2
        )
        platform = Platform(settings)
        harness = Monitored(platform, ManualClock(datetime(2026, 3, 1, 23, 50, tzinfo=UTC)))
        try:
            yield harness
        finally:
            harness.close()
            platform.stop()


def test_services_follow_the_models_table(monitored: Monitored) -> None:
    monitored.sample()
    keys = [service.key for service in monitored.page().services]
    assert keys[0] == "gateway" and keys[-2:] == ["console", "billing"]
    assert {"model:gpt-fast", "model:gpt-full", "model:embed"} <= set(keys)
    assert monitored.service("model:gpt-fast").name == "Model: gpt-fast"


def test_uptime_is_one_row_per_service_per_day(monitored: Monitored) -> None:
    monitored.serve("gpt-fast", DOWN_URL)
    monitored.sample(times=3)  # 23:50, 23:51, 23:52 on 1 March
    monitored.clock.advance(3600)
    monitored.sample(times=2)  # 2 March

    rows: list[ServiceUptimeDaily] = monitored.platform.rows(select(ServiceUptimeDaily))
    services = monitored.platform.rows(select(Service))
    assert len(rows) == 2 * len(services)
    by_key = {service.id: service.key for service in services}
    day_one = {by_key[r.service_id]: r for r in rows if r.day == datetime(2026, 3, 1).date()}
    assert day_one["model:gpt-fast"].checks_total == 3
    assert day_one["model:gpt-fast"].checks_operational == 3
    assert day_one["model:gpt-full"].checks_major == 3  # no servers at all
    assert day_one["console"].checks_operational == 3
    assert day_one["console"].latency_samples == 3

    page = monitored.page()
    fast = next(s for s in page.services if s.name == "Model: gpt-fast")
    full = next(s for s in page.services if s.name == "Model: gpt-full")
    assert len(fast.uptime) == 90
    assert fast.uptime[-1].date == datetime(2026, 3, 2).date()
    assert [day.uptime for day in fast.uptime[-2:]] == [1.0, 1.0]
    assert fast.uptime[0].uptime is None
    assert fast.uptime_percent == 100.0
    assert full.uptime[-1].uptime == 0.0 and full.uptime[-1].status == "major_outage"
    assert full.uptime_percent == 0.0


def test_history_older_than_the_window_is_pruned(monitored: Monitored) -> None:
    monitored.sample()
    monitored.clock.advance(95 * 86400)
    monitored.sample()
    days = monitored.platform.rows(select(ServiceUptimeDaily.day).distinct())
    assert days == [datetime(2026, 6, 4).date()]
    buckets = monitored.platform.rows(select(ServiceLatencySample.bucket).distinct())
    assert len(buckets) == 1


def test_partial_then_total_loss_then_recovery(monitored: Monitored) -> None:
    monitored.serve("gpt-fast", DOWN_URL, SECOND_URL)
    monitored.sample()
    assert monitored.service("model:gpt-fast").status == "operational"

    monitored.set_health(DOWN_URL, False)
    monitored.sample()
    assert monitored.service("model:gpt-fast").status == "partial_outage"
    assert monitored.incidents("model:gpt-fast") == []  # one bad sample is not enough
    monitored.sample()
    [incident] = monitored.incidents("model:gpt-fast")
    assert (incident.automatic, incident.severity, incident.status) == (
        True,
        "high",
        "investigating",
    )

    monitored.set_health(SECOND_URL, False)
    monitored.sample()
    [incident] = monitored.incidents("model:gpt-fast")
    assert monitored.service("model:gpt-fast").status == "major_outage"
    assert incident.severity == "critical"

    # A restarted monitor finds the open incident instead of opening another.
    monitored.restart()
    monitored.sample(times=3)
    assert len(monitored.incidents("model:gpt-fast")) == 1

    monitored.set_health(DOWN_URL, True)
    monitored.set_health(SECOND_URL, True)
    monitored.sample()
    [incident] = monitored.incidents("model:gpt-fast")
    assert incident.status == "monitoring" and incident.resolved_at is None
    resolved_at = monitored.clock.now()
    monitored.sample()
    [incident] = monitored.incidents("model:gpt-fast")
    assert incident.status == "resolved"
    assert incident.resolved_at == resolved_at

    updates = monitored.platform.rows(
        select(IncidentUpdate.status_at_update)
        .where(IncidentUpdate.incident_id == incident.id)
        .order_by(IncidentUpdate.id)
    )
    assert updates == ["investigating", "investigating", "monitoring", "resolved"]
    events = monitored.platform.rows(
        select(WebhookEvent.event_type)
        .where(WebhookEvent.data["incident_id"].as_string() == str(incident.id))
        .order_by(WebhookEvent.created_at)
    )
    assert events == [
        "incident.created",
        "incident.updated",
        "incident.updated",
        "incident.resolved",
    ]


def test_a_relapse_while_monitoring_reopens_the_investigation(monitored: Monitored) -> None:
    monitored.serve("gpt-fast", DOWN_URL)
    monitored.set_health(DOWN_URL, False)
    monitored.sample(times=2)
    monitored.set_health(DOWN_URL, True)
    monitored.sample()
    monitored.set_health(DOWN_URL, False)
    monitored.sample()
    [incident] = monitored.incidents("model:gpt-fast")
    assert incident.status == "investigating"
    monitored.set_health(DOWN_URL, True)
    monitored.sample(times=2)
    [incident] = monitored.incidents("model:gpt-fast")
    assert incident.status == "resolved"
    # The relapse went on in the same incident.
    assert len(monitored.incidents("model:gpt-fast")) == 1


def test_retiring_a_model_hides_its_service_and_resolves_its_incident(
    monitored: Monitored,
) -> None:
    monitored.sample(times=2)  # gpt-full has no servers: an incident opens
    [incident] = monitored.incidents("model:gpt-full")
    assert incident.status == "investigating"

    async def retire(session: AsyncSession) -> None:
        await session.execute(
            update(Model).where(Model.internal_name == "gpt-full").values(active=False)
        )

    monitored.platform.run(retire)
    monitored.sample()
    [incident] = monitored.incidents("model:gpt-full")
    assert incident.status == "resolved"
    assert monitored.service("model:gpt-full").active is False
    assert "model:gpt-full" not in [service.key for service in monitored.page().services]


def test_an_error_spike_opens_an_incident(monitored: Monitored) -> None:
    monitored.serve("gpt-fast", DOWN_URL)
    monitored.sample()  # the first read of the counters is the baseline
    for _ in range(2):
        for status in [502] * 6 + [200] * 4:
            observe_request("chat", "gpt-fast", status, 0.01, 1, 1, 0)
        monitored.sample()
    assert monitored.service("model:gpt-fast").status == "partial_outage"
    [incident] = monitored.incidents("model:gpt-fast")
    assert incident.severity == "high"
    updates = monitored.platform.rows(
        select(IncidentUpdate.description).where(IncidentUpdate.incident_id == incident.id)
    )
    assert updates == ["Model: gpt-fast: partial outage — 60% of requests failed."]
    monitored.sample()  # quiet again: no requests, nothing failing
    assert monitored.service("model:gpt-fast").status == "operational"
