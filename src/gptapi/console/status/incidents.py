"""Opening, updating, resolving and editing incidents — by operators and by the monitor alike.

Every change adds a timestamped update (except an edit of the title, severity or service) and
emits its `incident.*` webhook event in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gptapi import outbox
from gptapi.console.errors import conflict
from gptapi.console.status import repository
from gptapi.console.status.schemas import IncidentOut, IncidentUpdateOut
from gptapi.kit.clock import rfc3339
from gptapi.models import Incident, IncidentUpdate, Service


class IncidentStatus(StrEnum):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


# The webhook catalogue speaks of impact; severity maps onto it one to one.
_IMPACT = {"critical": "critical", "high": "major", "medium": "minor", "low": "none"}


async def describe(session: AsyncSession, incidents: Sequence[Incident]) -> list[IncidentOut]:
    updates = await repository.updates_of(session, [incident.id for incident in incidents])
    names = await repository.service_names(session) if incidents else {}
    return [
        IncidentOut(
            id=incident.id,
            title=incident.title,
            status=incident.status,
            severity=incident.severity,
            service_id=incident.service_id,
            service=names.get(incident.service_id) if incident.service_id else None,
            automatic=incident.automatic,
            created_at=incident.created_at,
            updated_at=incident.updated_at,
            resolved_at=incident.resolved_at,
            updates=[
                IncidentUpdateOut(
                    id=update.id,
                    status=update.status_at_update,
                    message=update.description,
                    created_at=update.created_at,
                )
                for update in updates[incident.id]
            ],
        )
        for incident in incidents
    ]


async def open_incident(
    session: AsyncSession,
    *,
    title: str,
    severity: Severity,
    message: str,
    now: datetime,
    status: IncidentStatus = IncidentStatus.INVESTIGATING,
    service_id: int | None = None,
    automatic: bool = False,
) -> Incident:
    incident = Incident(
        title=title,
        severity=severity.value,
        status=status.value,
        service_id=service_id,
        automatic=automatic,
        created_at=now,
        updated_at=now,
        resolved_at=now if status is IncidentStatus.RESOLVED else None,
    )
    session.add(incident)
    await session.flush()
    await _add_update(session, incident, status, message, now)
    await _announce(session, incident, "incident.created", message)
    return incident


async def post_update(
    session: AsyncSession,
    incident: Incident,
    *,
    status: IncidentStatus,
    message: str,
    now: datetime,
    severity: Severity | None = None,
) -> None:
    if incident.status == IncidentStatus.RESOLVED:
        raise conflict("This incident is resolved; open a new one.", code="incident_resolved")
    incident.status = status.value
    incident.updated_at = now
    if severity is not None:
        incident.severity = severity.value
    if status is IncidentStatus.RESOLVED:
        incident.resolved_at = now
    await _add_update(session, incident, status, message, now)
    event = "incident.resolved" if status is IncidentStatus.RESOLVED else "incident.updated"
    await _announce(session, incident, event, message)


async def edit_incident(
    session: AsyncSession, incident: Incident, changes: dict[str, Any], *, now: datetime
) -> None:
    """Change the title, severity or affected service; the update history stays as it was."""
    for field, value in changes.items():
        setattr(incident, field, value)
    incident.updated_at = now
    await session.flush()
    latest = (await repository.updates_of(session, [incident.id]))[incident.id]
    await _announce(session, incident, "incident.updated", latest[0].description if latest else "")


async def _add_update(
    session: AsyncSession, incident: Incident, status: IncidentStatus, message: str, now: datetime
) -> None:
    session.add(
        IncidentUpdate(
            incident_id=incident.id,
            description=message,
            status_at_update=status.value,
            created_at=now,
        )
    )
    await session.flush()


async def _announce(session: AsyncSession, incident: Incident, event: str, message: str) -> None:
    service = await session.get(Service, incident.service_id) if incident.service_id else None
    await outbox.emit(
        session,
        organization_id=None,
        event_type=event,
        data={
            "incident_id": str(incident.id),
            "title": incident.title,
            "status": incident.status,
            "severity": incident.severity,
            "impact": _IMPACT[incident.severity],
            "components": [service.name] if service else [],
            "message": message,
            "started_at": rfc3339(incident.created_at),
            "resolved_at": rfc3339(incident.resolved_at) if incident.resolved_at else None,
        },
    )
