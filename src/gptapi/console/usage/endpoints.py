"""/api/orgs/{org_id}/usage…: for anyone whose role may read usage."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from gptapi.console.deps import DbSession, OrgContext, State, require
from gptapi.console.downloads import CSV_RESPONSES, csv_stream
from gptapi.console.permissions import Capability
from gptapi.console.usage import service
from gptapi.console.usage.export import csv_chunks
from gptapi.console.usage.queries import LogFilter
from gptapi.console.usage.schemas import (
    Breakdown,
    Granularity,
    GroupBy,
    LatencyReport,
    RequestPage,
    SpendByService,
    Summary,
    Timeseries,
)

router = APIRouter(prefix="/orgs/{org_id}/usage", tags=["usage"])

Reader = Annotated[OrgContext, Depends(require(Capability.USAGE_READ))]
Start = Annotated[AwareDatetime, Query(description="Inclusive, ISO 8601 with a time zone.")]
End = Annotated[AwareDatetime, Query(description="Exclusive, ISO 8601 with a time zone.")]
OptionalStart = Annotated[AwareDatetime | None, Query()]
OptionalEnd = Annotated[AwareDatetime | None, Query()]


def log_filter(
    context: Reader,
    start: OptionalStart = None,
    end: OptionalEnd = None,
    model: Annotated[str | None, Query(max_length=100)] = None,
    key_id: uuid.UUID | None = None,
    status: Annotated[int | None, Query(ge=100, le=599)] = None,
    refused: Annotated[
        bool | None,
        Query(description="true: only requests refused after the key was accepted; false: none"),
    ] = None,
) -> LogFilter:
    where = LogFilter(context.organization.id, start, end, model, key_id, status, refused)
    service.check_filter(where)
    return where


Filter = Annotated[LogFilter, Depends(log_filter)]


@router.get("/summary", summary="Totals for a period, and the cost so far this month (UTC)")
async def summary(context: Reader, db: DbSession, state: State, start: Start, end: End) -> Summary:
    return await service.summary(db, context.organization.id, start, end, state.clock.now())


@router.get(
    "/services",
    summary="Spend per service (token API, deployments, pods, storage) and GPU-hours",
)
async def services(context: Reader, db: DbSession, start: Start, end: End) -> SpendByService:
    return await service.spend_by_service(db, context.organization.id, start, end)


@router.get("/timeseries", summary="Totals per hour or per day (UTC), empty buckets included")
async def timeseries(
    context: Reader,
    db: DbSession,
    start: Start,
    end: End,
    granularity: Granularity = "day",
    group_by: GroupBy | None = None,
) -> Timeseries:
    return await service.timeseries(db, context.organization.id, start, end, granularity, group_by)


@router.get("/breakdown", summary="Totals per model or per API key, the costliest first")
async def breakdown(
    context: Reader, db: DbSession, start: Start, end: End, by: GroupBy = "model"
) -> Breakdown:
    return await service.breakdown(db, context.organization.id, start, end, by)


@router.get(
    "/latency",
    summary="Latency percentiles per model over the newest completed requests of a period",
)
async def latency(context: Reader, db: DbSession, start: Start, end: End) -> LatencyReport:
    return await service.latency(db, context.organization.id, start, end)


@router.get("/requests", summary="The request log, newest first, a page at a time")
async def requests(
    where: Filter,
    db: DbSession,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> RequestPage:
    return await service.request_page(db, where, cursor, limit)


@router.get(
    "/export.csv",
    summary="The request log as CSV (same filters)",
    response_class=StreamingResponse,
    responses=CSV_RESPONSES,
)
async def export_csv(where: Filter, state: State) -> StreamingResponse:
    day = (where.end or state.clock.now()).strftime("%Y%m%d")
    filename = f"usage-{where.organization_id}-{day}.csv"
    return csv_stream(csv_chunks(state.sessions, where), filename)
