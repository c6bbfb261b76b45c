"""Operators open, update, resolve and edit incidents; every change is audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.console import audit
from gptapi.console.deps import DbSession, PlatformAdmin, State, Viewer
from gptapi.console.errors import ApiError, ErrorBody, bad_request
from gptapi.console.rows import get_or_404
from gptapi.console.status import repository
from gptapi.console.status.incidents import (
    IncidentStatus,
    Severity,
    describe,
    edit_incident,
    open_incident,
    post_update,
)
from gptapi.console.status.schemas import (
    IncidentCreate,
    IncidentEdit,
    IncidentId,
    IncidentOut,
    IncidentResolve,
    IncidentUpdateCreate,
)
from gptapi.models import Incident, Service

router = APIRouter(prefix="/admin/incidents", tags=["status"])

RESOLVED_ALREADY: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "The incident is already resolved."}
}


async def _check_service(db: AsyncSession, service_id: int | None) -> None:
    if service_id is not None and await db.get(Service, service_id) is None:
        raise ApiError(404, "not_found", "No such service.", param="service_id")


def _audit(
    db: AsyncSession, admin: Viewer, action: str, incident: Incident, data: dict[str, Any]
) -> None:
    audit.record_operator_change(
        db, admin, action, target_type="incident", target_id=incident.id, data=data
    )


async def _post(
    db: AsyncSession,
    admin: Viewer,
    incident_id: int,
    action: str,
    status: IncidentStatus,
    body: IncidentUpdateCreate | IncidentResolve,
    now: datetime,
) -> IncidentOut:
    incident = await get_or_404(db, Incident, incident_id, "incident")
    await post_update(db, incident, status=status, message=body.message, now=now)
    _audit(db, admin, action, incident, body.model_dump())
    return (await describe(db, [incident]))[0]


@router.get("", summary="All incidents, newest first")
async def list_incidents(
    admin: PlatformAdmin,
    db: DbSession,
    limit: int = Query(default=50, ge=1, le=200),
    offset: int = Query(default=0, ge=0, le=1_000_000),
) -> list[IncidentOut]:
    return await describe(db, await repository.latest_incidents(db, limit=limit, offset=offset))


@router.post("", status_code=201, summary="Open an incident")
async def create_incident(
    body: IncidentCreate, admin: PlatformAdmin, db: DbSession, state: State
) -> IncidentOut:
    await _check_service(db, body.service_id)
    incident = await open_incident(
        db,
        title=body.title,
        severity=Severity(body.severity),
        status=IncidentStatus(body.status),
        message=body.message,
        service_id=body.service_id,
        now=state.clock.now(),
    )
    _audit(db, admin, "incident.create", incident, body.model_dump())
    return (await describe(db, [incident]))[0]


@router.post(
    "/{incident_id}/updates",
    status_code=201,
    summary="Post an update",
    responses=RESOLVED_ALREADY,
)
async def create_update(
    incident_id: IncidentId,
    body: IncidentUpdateCreate,
    admin: PlatformAdmin,
    db: DbSession,
    state: State,
) -> IncidentOut:
    status = IncidentStatus(body.status)
    now = state.clock.now()
    return await _post(db, admin, incident_id, "incident.update", status, body, now)


@router.post("/{incident_id}/resolve", summary="Resolve an incident", responses=RESOLVED_ALREADY)
async def resolve_incident(
    incident_id: IncidentId,
    body: IncidentResolve,
    admin: PlatformAdmin,
    db: DbSession,
    state: State,
) -> IncidentOut:
    resolved = IncidentStatus.RESOLVED
    now = state.clock.now()
    return await _post(db, admin, incident_id, "incident.resolve", resolved, body, now)


@router.patch("/{incident_id}", summary="Edit the title, severity or affected service")
async def update_incident(
    incident_id: IncidentId, body: IncidentEdit, admin: PlatformAdmin, db: DbSession, state: State
) -> IncidentOut:
    incident = await get_or_404(db, Incident, incident_id, "incident")
    changes = body.model_dump(exclude_unset=True)
    if changes.get("title", "") is None or changes.get("severity", "") is None:
        raise bad_request("title and severity cannot be empty.")
    await _check_service(db, changes.get("service_id"))
    await edit_incident(db, incident, changes, now=state.clock.now())
    _audit(db, admin, "incident.edit", incident, changes)
    return (await describe(db, [incident]))[0]
