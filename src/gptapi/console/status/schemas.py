"""What the status page and the operator endpoints send and accept."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, Field

StatusValue = Literal["operational", "degraded_performance", "partial_outage", "major_outage"]
# Ids as the database stores them: services.id is a 32-bit serial, incidents.id a bigserial.
ServiceId = Annotated[int, Field(ge=1, le=2**31 - 1)]
IncidentId = Annotated[int, Path(ge=1, le=2**63 - 1)]
IncidentStatusValue = Literal["investigating", "identified", "monitoring", "resolved"]
SeverityValue = Literal["critical", "high", "medium", "low"]


class IncidentUpdateOut(BaseModel):
    id: int
    status: IncidentStatusValue
    message: str
    created_at: datetime


class IncidentOut(BaseModel):
    id: int
    title: str
    status: IncidentStatusValue
    severity: SeverityValue
    service_id: int | None
    service: str | None = Field(description="Name of the affected service, if one.")
    automatic: bool = Field(description="Opened by the status monitor.")
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    updates: list[IncidentUpdateOut] = Field(description="Newest first.")


class UptimeDay(BaseModel):
    date: date
    uptime: float | None = Field(description="Share of samples without an outage; null: no data.")
    status: StatusValue | None = Field(description="The worst status sampled that day.")


class ResponseTimePoint(BaseModel):
    at: datetime
    latency_ms: int


class ServiceOut(BaseModel):
    id: int
    key: str = Field(description='Stable handle: "gateway", "model:<name>", "console", "billing".')
    name: str
    description: str | None
    status: StatusValue
    latency_ms: int | None
    updated_at: datetime
    uptime_percent: float | None = Field(description="Over the days shown in `uptime`.")
    uptime: list[UptimeDay] = Field(description="One entry per day, oldest first.")
    response_times: list[ResponseTimePoint] = Field(description="Recent buckets, oldest first.")


class ServerOut(BaseModel):
    name: str
    models: list[str]
    status: StatusValue
    draining: bool
    latency_ms: int | None
    in_flight: int
    slots: int


class StatusPage(BaseModel):
    status: StatusValue
    description: str
    updated_at: datetime
    services: list[ServiceOut]
    servers: list[ServerOut]
    incidents: list[IncidentOut] = Field(description="Open ones and those resolved lately.")


class IncidentCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    severity: SeverityValue = "medium"
    status: IncidentStatusValue = "investigating"
    message: str = Field(min_length=1, max_length=5000)
    service_id: ServiceId | None = None


class IncidentUpdateCreate(BaseModel):
    status: IncidentStatusValue
    message: str = Field(min_length=1, max_length=5000)


class IncidentResolve(BaseModel):
    message: str = Field(default="This incident has been resolved.", min_length=1, max_length=5000)


class IncidentEdit(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    severity: SeverityValue | None = None
    service_id: ServiceId | None = None
