"""Queries of the status page: services, their compact history, incidents and updates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.console.status.derive import ServiceStatus
from gptapi.models import (
    Incident,
    IncidentUpdate,
    Model,
    Service,
    ServiceLatencySample,
    ServiceUptimeDaily,
)

_CHECK_COLUMN = {
    ServiceStatus.OPERATIONAL: "checks_operational",
    ServiceStatus.DEGRADED: "checks_degraded",
    ServiceStatus.PARTIAL: "checks_partial",
    ServiceStatus.MAJOR: "checks_major",
}


def _insert(session: AsyncSession, table: Any) -> Any:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


async def all_services(session: AsyncSession) -> dict[str, Service]:
    rows = await session.scalars(select(Service))
    return {service.key: service for service in rows}


async def active_services(session: AsyncSession) -> Sequence[Service]:
    return (
        await session.scalars(
            select(Service).where(Service.active).order_by(Service.position, Service.name)
        )
    ).all()


async def active_models(session: AsyncSession) -> Sequence[Model]:
    return (
        await session.scalars(select(Model).where(Model.active).order_by(Model.internal_name))
    ).all()


async def record_check(
    session: AsyncSession,
    service_id: int,
    day: date,
    status: ServiceStatus,
    latency_ms: int | None,
) -> None:
    """Count one sample in the service's row for `day`; one upsert, no read."""
    values: dict[str, Any] = dict.fromkeys(_CHECK_COLUMN.values(), 0)
    values[_CHECK_COLUMN[status]] = 1
    latency = latency_ms or 0
    statement = _insert(session, ServiceUptimeDaily).values(
        service_id=service_id,
        day=day,
        checks_total=1,
        latency_ms_sum=latency,
        latency_samples=1 if latency_ms is not None else 0,
        latency_ms_max=latency,
        **values,
    )
    excluded = statement.excluded
    sums = ("checks_total", "latency_ms_sum", "latency_samples", *_CHECK_COLUMN.values())
    table = ServiceUptimeDaily
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["service_id", "day"],
            set_={
                **{column: getattr(table, column) + getattr(excluded, column) for column in sums},
                "latency_ms_max": case(
                    (excluded.latency_ms_max > table.latency_ms_max, excluded.latency_ms_max),
                    else_=table.latency_ms_max,
                ),
            },
        )
    )


async def record_latency(
    session: AsyncSession, service_id: int, bucket: int, latency_ms: int
) -> None:
    statement = _insert(session, ServiceLatencySample).values(
        service_id=service_id, bucket=bucket, latency_ms_sum=latency_ms, samples=1
    )
    excluded = statement.excluded
    table = ServiceLatencySample
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["service_id", "bucket"],
            set_={
                "latency_ms_sum": table.latency_ms_sum + excluded.latency_ms_sum,
                "samples": table.samples + excluded.samples,
            },
        )
    )


async def prune_history(session: AsyncSession, *, before_day: date, before_bucket: int) -> None:
    await session.execute(delete(ServiceUptimeDaily).where(ServiceUptimeDaily.day < before_day))
    await session.execute(
        delete(ServiceLatencySample).where(ServiceLatencySample.bucket < before_bucket)
    )


async def uptime_since(session: AsyncSession, day: date) -> Sequence[ServiceUptimeDaily]:
    return (
        await session.scalars(select(ServiceUptimeDaily).where(ServiceUptimeDaily.day >= day))
    ).all()


async def latency_since(session: AsyncSession, bucket: int) -> Sequence[ServiceLatencySample]:
    return (
        await session.scalars(
            select(ServiceLatencySample)
            .where(ServiceLatencySample.bucket >= bucket)
            .order_by(ServiceLatencySample.bucket)
        )
    ).all()


async def open_automatic_incident(session: AsyncSession, service_id: int) -> Incident | None:
    return await session.scalar(
        select(Incident)
        .where(
            Incident.service_id == service_id,
            Incident.automatic,
            Incident.status != "resolved",
        )
        .order_by(Incident.id.desc())
        .limit(1)
    )


async def incidents_since(
    session: AsyncSession, since: datetime, *, limit: int
) -> Sequence[Incident]:
    """Open incidents, and those resolved after `since`; newest first."""
    return (
        await session.scalars(
            select(Incident)
            .where((Incident.resolved_at.is_(None)) | (Incident.resolved_at >= since))
            .order_by(Incident.created_at.desc(), Incident.id.desc())
            .limit(limit)
        )
    ).all()


async def latest_incidents(
    session: AsyncSession, *, limit: int, offset: int = 0
) -> Sequence[Incident]:
    return (
        await session.scalars(
            select(Incident)
            .order_by(Incident.created_at.desc(), Incident.id.desc())
            .limit(limit)
            .offset(offset)
        )
    ).all()


async def updates_of(
    session: AsyncSession, incident_ids: Sequence[int]
) -> dict[int, list[IncidentUpdate]]:
    """Each incident's updates, newest first."""
    found: dict[int, list[IncidentUpdate]] = {incident_id: [] for incident_id in incident_ids}
    if incident_ids:
        rows = await session.scalars(
            select(IncidentUpdate)
            .where(IncidentUpdate.incident_id.in_(incident_ids))
            .order_by(IncidentUpdate.created_at.desc(), IncidentUpdate.id.desc())
        )
        for update in rows:
            found[update.incident_id].append(update)
    return found


async def service_names(session: AsyncSession) -> dict[int, str]:
    rows = await session.execute(select(Service.id, Service.name))
    return dict(rows.all())
