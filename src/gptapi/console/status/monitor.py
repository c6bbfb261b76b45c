"""The status monitor: samples every service, stores its status and history, and opens,
updates and resolves automatic incidents.

Services are kept in step with the models table: the gateway, one per active model, the
console and billing. An automatic incident opens after STATUS_INCIDENT_OPEN_SAMPLES samples
in a row show an outage, moves to `monitoring` on the first good sample and resolves after
STATUS_INCIDENT_RESOLVE_SAMPLES good ones. Streaks live in memory; the open incident itself
is looked up in the database, so a restart never opens a second one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import fmean
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.config import Settings
from gptapi.console.status import repository
from gptapi.console.status.derive import Assessment, Sample, ServiceStatus, Thresholds, assess
from gptapi.console.status.incidents import (
    IncidentStatus,
    Severity,
    open_incident,
    post_update,
)
from gptapi.console.status.sampling import (
    DatabaseProbe,
    ErrorCounter,
    ServerReading,
    probe_database,
    read_servers,
)
from gptapi.gateway.upstream.client import UpstreamClient
from gptapi.gateway.upstream.registry import UpstreamRegistry
from gptapi.kit.clock import Clock
from gptapi.kit.db import SessionMaker
from gptapi.models import Service

log = logging.getLogger(__name__)

GATEWAY, CONSOLE, BILLING = "gateway", "console", "billing"
MODEL_PREFIX = "model:"


@dataclass(frozen=True)
class ServiceSpec:
    key: str
    name: str
    description: str
    position: int


def wanted_services(model_names: list[tuple[str, str]]) -> list[ServiceSpec]:
    """`model_names`: (internal name, display name) of every active model."""
    return [
        ServiceSpec(GATEWAY, "Gateway API", "The OpenAI-compatible API at /v1", 0),
        *(
            ServiceSpec(f"{MODEL_PREFIX}{internal}", f"Model: {internal}", display, 10 + index)
            for index, (internal, display) in enumerate(model_names)
        ),
        ServiceSpec(CONSOLE, "Console", "Sign-in, organisations, API keys and usage", 1000),
        ServiceSpec(BILLING, "Billing", "Credit, payments and metering", 1001),
    ]


@dataclass
class Streak:
    bad: int = 0
    good: int = 0
    # The outage status last written to the service's incident by this monitor; an operator's
    # edits (of severity, say) stand until the outage itself changes.
    announced: ServiceStatus | None = None

    def observe(self, outage: bool) -> None:
        if outage:
            self.bad, self.good = self.bad + 1, 0
        else:
            self.bad, self.good = 0, self.good + 1


def server_status(reading: ServerReading) -> ServiceStatus:
    return ServiceStatus.OPERATIONAL if reading.healthy else ServiceStatus.MAJOR


def server_details(reading: ServerReading) -> dict[str, Any]:
    return {
        "name": reading.name,
        "models": list(reading.models),
        "status": server_status(reading).value,
        "draining": reading.draining,
        "latency_ms": reading.latency_ms,
        "in_flight": reading.in_flight,
        "slots": reading.slots,
    }


def _mean(values: list[int]) -> int | None:
    return round(fmean(values)) if values else None


class StatusMonitor:
    def __init__(
        self,
        *,
        settings: Settings,
        sessions: SessionMaker,
        clock: Clock,
        registry: UpstreamRegistry,
        client: UpstreamClient,
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._clock = clock
        self._registry = registry
        self._client = client
        self._thresholds = Thresholds.from_settings(settings)
        self._errors = ErrorCounter()
        self._streaks: dict[str, Streak] = {}

    async def sample(self) -> None:
        database = await probe_database(self._sessions)
        if not database.ok:
            # Nowhere to write the outage down; the next sample that reaches the database will.
            log.warning("status sample skipped: %s", database.problem)
            return
        servers = await read_servers(self._registry, self._client)
        errors = self._errors.read()
        now = self._clock.now()
        async with self._sessions() as session, session.begin():
            services = await self._sync_services(session, now)
            samples = self._samples(services, servers, errors, database)
            for service in services:
                sample, details = samples[service.key]
                await self._record(session, service, assess(sample, self._thresholds), sample, now)
                service.details = details
            await self._prune(session, now)

    async def _sync_services(self, session: AsyncSession, now: datetime) -> list[Service]:
        existing = await repository.all_services(session)
        models = await repository.active_models(session)
        active: list[Service] = []
        for spec in wanted_services([(model.internal_name, model.name) for model in models]):
            service = existing.pop(spec.key, None)
            if service is None:
                service = Service(key=spec.key, status=ServiceStatus.OPERATIONAL.value)
                session.add(service)
            service.name = spec.name
            service.description = spec.description
            service.position = spec.position
            service.active = True
            active.append(service)
        for retired in existing.values():
            retired.active = False
            incident = await repository.open_automatic_incident(session, retired.id)
            if incident is not None:
                # Off the page, nothing would ever resolve it.
                await post_update(
                    session,
                    incident,
                    status=IncidentStatus.RESOLVED,
                    message=f"{retired.name} was retired.",
                    now=now,
                )
        await session.flush()
        return active

    def _samples(
        self,
        services: list[Service],
        servers: list[ServerReading],
        errors: dict[str, tuple[int, int]],
        database: DatabaseProbe,
    ) -> dict[str, tuple[Sample, dict[str, Any]]]:
        samples: dict[str, tuple[Sample, dict[str, Any]]] = {}
        pools_up: list[bool] = []
        for service in services:
            if not service.key.startswith(MODEL_PREFIX):
                continue
            model = service.key.removeprefix(MODEL_PREFIX)
            pool = [reading for reading in servers if model in reading.models]
            serving = [reading for reading in pool if reading.serves(model)]
            requests, failed = errors.get(model, (0, 0))
            pools_up.append(bool(serving))
            samples[service.key] = (
                Sample(
                    latency_ms=_mean([r.latency_ms for r in serving if r.latency_ms is not None]),
                    capacity_total=len(pool),
                    capacity_up=len(serving),
                    requests=requests,
                    errors=failed,
                ),
                {"servers": [server_details(reading) for reading in pool]},
            )
        requests = sum(count for count, _ in errors.values())
        failed = sum(count for _, count in errors.values())
        samples[GATEWAY] = (
            Sample(
                reachable=not pools_up or any(pools_up),
                problem="no model is serving",
                latency_ms=_mean(
                    [r.latency_ms for r in servers if r.healthy and r.latency_ms is not None]
                ),
                requests=requests,
                errors=failed,
            ),
            {},
        )
        for key in (CONSOLE, BILLING):
            samples[key] = (Sample(latency_ms=database.latency_ms), {})
        return samples

    async def _record(
        self,
        session: AsyncSession,
        service: Service,
        assessment: Assessment,
        sample: Sample,
        now: datetime,
    ) -> None:
        service.status = assessment.status.value
        service.latency_ms = sample.latency_ms
        service.last_updated = now
        await repository.record_check(
            session, service.id, now.date(), assessment.status, sample.latency_ms
        )
        if sample.latency_ms is not None:
            width = self._settings.status_latency_bucket_seconds
            bucket = int(now.timestamp()) // width * width
            await repository.record_latency(session, service.id, bucket, sample.latency_ms)
        await self._follow_incident(session, service, assessment, now)

    async def _follow_incident(
        self, session: AsyncSession, service: Service, assessment: Assessment, now: datetime
    ) -> None:
        status = assessment.status
        streak = self._streaks.setdefault(service.key, Streak())
        streak.observe(status.is_outage)
        incident = await repository.open_automatic_incident(session, service.id)
        severity = Severity.CRITICAL if status is ServiceStatus.MAJOR else Severity.HIGH
        message = f"{service.name}: {status.label.lower()} — {assessment.summary}."
        if incident is None:
            if streak.bad >= self._settings.status_incident_open_samples:
                await open_incident(
                    session,
                    title=f"{service.name} — {status.label.lower()}",
                    severity=severity,
                    message=message,
                    now=now,
                    service_id=service.id,
                    automatic=True,
                )
                streak.announced = status
            return
        if status.is_outage:
            relapsed = incident.status == IncidentStatus.MONITORING
            changed = streak.announced not in (None, status)
            streak.announced = status
            if relapsed or changed:
                current = IncidentStatus(incident.status)
                await post_update(
                    session,
                    incident,
                    status=IncidentStatus.INVESTIGATING if relapsed else current,
                    message=message,
                    now=now,
                    severity=severity,
                )
        elif streak.good >= self._settings.status_incident_resolve_samples:
            await post_update(
                session,
                incident,
                status=IncidentStatus.RESOLVED,
                message=f"{service.name} is operational again.",
                now=now,
            )
        elif incident.status != IncidentStatus.MONITORING:
            await post_update(
                session,
                incident,
                status=IncidentStatus.MONITORING,
                message=f"{service.name} has recovered ({status.label.lower()}); monitoring.",
                now=now,
            )

    async def _prune(self, session: AsyncSession, now: datetime) -> None:
        settings = self._settings
        horizon = timedelta(hours=settings.status_latency_retention_hours)
        await repository.prune_history(
            session,
            before_day=now.date() - timedelta(days=settings.status_history_days - 1),
            before_bucket=int((now - horizon).timestamp()),
        )
