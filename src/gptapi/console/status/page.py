"""Everything the public status page draws, read from what the monitor stored."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.config import Settings
from gptapi.console.status import repository
from gptapi.console.status.derive import ServiceStatus, worst
from gptapi.console.status.incidents import describe
from gptapi.console.status.schemas import (
    IncidentOut,
    ResponseTimePoint,
    ServerOut,
    ServiceOut,
    StatusPage,
    UptimeDay,
)
from gptapi.models import ServiceUptimeDaily

RECENT_INCIDENT_DAYS = 14
RECENT_INCIDENT_LIMIT = 20

_HEADLINES = {
    ServiceStatus.OPERATIONAL: "All systems operational",
    ServiceStatus.DEGRADED: "Degraded performance",
    ServiceStatus.PARTIAL: "Partial outage",
    ServiceStatus.MAJOR: "Major outage",
}


# An open incident is at least this bad, whatever the measurements say (an operator may
# know of trouble the monitor cannot see).
_SEVERITY_STATUS = {
    "critical": ServiceStatus.MAJOR,
    "high": ServiceStatus.PARTIAL,
    "medium": ServiceStatus.DEGRADED,
    "low": ServiceStatus.DEGRADED,
}


def headline_of(
    components: list[ServiceStatus], open_incidents: list[IncidentOut]
) -> tuple[ServiceStatus, str]:
    """The page's overall state and headline: the worst of the components and of what the
    open incidents declare; "All systems operational" only with neither."""
    overall = worst(components + [_SEVERITY_STATUS[i.severity] for i in open_incidents])
    if not open_incidents:
        return overall, _HEADLINES[overall]
    if len(open_incidents) == 1:
        return overall, f"{_HEADLINES[overall]}: {open_incidents[0].title}"
    return overall, f"{_HEADLINES[overall]}: {len(open_incidents)} open incidents"


def uptime_day(day: date, row: ServiceUptimeDaily | None) -> UptimeDay:
    """A day's share of samples without an outage (degraded still counts as up)."""
    if row is None or row.checks_total == 0:
        return UptimeDay(date=day, uptime=None, status=None)
    up = row.checks_operational + row.checks_degraded
    counts = {
        ServiceStatus.OPERATIONAL: row.checks_operational,
        ServiceStatus.DEGRADED: row.checks_degraded,
        ServiceStatus.PARTIAL: row.checks_partial,
        ServiceStatus.MAJOR: row.checks_major,
    }
    seen = worst([status for status, count in counts.items() if count])
    return UptimeDay(date=day, uptime=round(up / row.checks_total, 6), status=seen.value)


def uptime_percent(rows: list[ServiceUptimeDaily]) -> float | None:
    total = sum(row.checks_total for row in rows)
    if not total:
        return None
    up = sum(row.checks_operational + row.checks_degraded for row in rows)
    return round(100 * up / total, 3)


async def status_page(session: AsyncSession, settings: Settings, now: datetime) -> StatusPage:
    days = [now.date() - timedelta(days=back) for back in range(settings.status_history_days)]
    days.reverse()
    horizon = now - timedelta(hours=settings.status_latency_retention_hours)
    services = await repository.active_services(session)
    uptime: defaultdict[int, dict[date, ServiceUptimeDaily]] = defaultdict(dict)
    for row in await repository.uptime_since(session, days[0]):
        uptime[row.service_id][row.day] = row
    latency: defaultdict[int, list[ResponseTimePoint]] = defaultdict(list)
    for point in await repository.latency_since(session, int(horizon.timestamp())):
        latency[point.service_id].append(
            ResponseTimePoint(
                at=datetime.fromtimestamp(point.bucket, UTC),
                latency_ms=point.latency_ms_sum // max(point.samples, 1),
            )
        )
    servers: dict[str, dict[str, Any]] = {}
    for service in services:
        for server in service.details.get("servers", []):
            servers.setdefault(server["name"], server)
    incidents = await repository.incidents_since(
        session, now - timedelta(days=RECENT_INCIDENT_DAYS), limit=RECENT_INCIDENT_LIMIT
    )
    described = await describe(session, incidents)
    overall, headline = headline_of(
        [ServiceStatus(service.status) for service in services],
        [incident for incident in described if incident.status != "resolved"],
    )
    return StatusPage(
        status=overall.value,
        description=headline,
        updated_at=max((service.last_updated for service in services), default=now),
        services=[
            ServiceOut(
                id=service.id,
                key=service.key,
                name=service.name,
                description=service.description,
                status=service.status,
                latency_ms=service.latency_ms,
                updated_at=service.last_updated,
                uptime_percent=uptime_percent(list(uptime[service.id].values())),
                uptime=[uptime_day(day, uptime[service.id].get(day)) for day in days],
                response_times=latency[service.id],
            )
            for service in services
        ],
        servers=[ServerOut.model_validate(server) for _, server in sorted(servers.items())],
        incidents=described,
    )
