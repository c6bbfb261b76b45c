"""Exact usage sums for an organisation over any time range: whole hours from the hourly
rollup (`usage_hourly`, kept by the usage writer in the same transaction as the rows), only
the parts of a range off the hour from request rows. A sum costs the same whether the
organisation made a thousand requests or ten million.

Used by the usage reports (console) and by key spend caps (gateway), so it lives outside both.
Every query is bounded by organisation and time, the leading columns of the rollup's primary
key and of `ix_usage_logs_org_created`, so none of them scans usage_logs.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.models import UsageHourly, UsageLog
from gptapi.models.base import UTCDateTime

HOUR = timedelta(hours=1)

GroupColumn = Literal["model_id", "api_key_id"]


@dataclass(frozen=True, slots=True)
class SumRow:
    bucket: datetime | None  # the hour or day summed, when summed per hour or day
    group: Any  # model id (int) or API key id (UUID); None when not grouped
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_nanos: int
    images: int = 0


def day_of(hour: Any, dialect: str) -> ColumnElement[datetime]:
    """The UTC day an hour of the rollup falls in, computed by the database."""
    if dialect == "sqlite":  # stored as text: "YYYY-MM-DD HH:00:00.000000"
        day: ColumnElement[Any] = func.substr(hour, 1, 10) + " 00:00:00.000000"
    else:
        day = func.date_trunc("day", hour, "UTC")
    return type_coerce(day, UTCDateTime)


def rollup_statement(
    organization_id: uuid.UUID,
    start: datetime,
    end: datetime,
    *,
    group: GroupColumn | None = None,
    bucket: Literal["hour", "day"] | None = None,
    dialect: str = "postgresql",
    key_id: uuid.UUID | None = None,
) -> Select[Any]:
    keys: list[Any] = []
    if bucket == "hour":
        keys.append(UsageHourly.hour)
    elif bucket == "day":
        keys.append(day_of(UsageHourly.hour, dialect))
    if group is not None:
        keys.append(getattr(UsageHourly, group))
    statement = (
        select(
            *keys,
            func.sum(UsageHourly.requests),
            func.sum(UsageHourly.prompt_tokens),
            func.sum(UsageHourly.completion_tokens),
            func.sum(UsageHourly.cost_nanos),
            func.sum(UsageHourly.images),
        )
        .where(
            UsageHourly.organization_id == organization_id,
            UsageHourly.hour >= start,
            UsageHourly.hour < end,
        )
        .group_by(*keys)
    )
    return statement if key_id is None else statement.where(UsageHourly.api_key_id == key_id)


async def rollup_sums(
    db: AsyncSession,
    organization_id: uuid.UUID,
    start: datetime,
    end: datetime,
    *,
    group: GroupColumn | None = None,
    bucket: Literal["hour", "day"] | None = None,
    key_id: uuid.UUID | None = None,
) -> list[SumRow]:
    """Sums over whole hours in [start, end) (both on the hour), per hour or day if asked."""
    dialect = db.get_bind().dialect.name
    statement = rollup_statement(
        organization_id, start, end, group=group, bucket=bucket, dialect=dialect, key_id=key_id
    )
    rows = (await db.execute(statement)).all()
    return [_sum_row(row, bucketed=bucket is not None, grouped=group is not None) for row in rows]


def log_statement(
    organization_id: uuid.UUID,
    start: datetime,
    end: datetime,
    *,
    group: GroupColumn | None = None,
    key_id: uuid.UUID | None = None,
) -> Select[Any]:
    keys: list[Any] = [] if group is None else [getattr(UsageLog, group)]
    statement = (
        select(
            *keys,
            func.count(UsageLog.id),
            func.coalesce(func.sum(UsageLog.prompt_tokens), 0),
            func.coalesce(func.sum(UsageLog.completion_tokens), 0),
            func.coalesce(func.sum(UsageLog.cost_nanos), 0),
            func.coalesce(func.sum(UsageLog.images), 0),
        )
        .where(
            UsageLog.organization_id == organization_id,
            UsageLog.created_at >= start,
            UsageLog.created_at < end,
        )
        .group_by(*keys)
    )
    return statement if key_id is None else statement.where(UsageLog.api_key_id == key_id)


async def log_sums(
    db: AsyncSession,
    organization_id: uuid.UUID,
    start: datetime,
    end: datetime,
    *,
    group: GroupColumn | None = None,
    key_id: uuid.UUID | None = None,
) -> list[SumRow]:
    """Sums over the request rows in [start, end): for the parts of a range off the hour."""
    statement = log_statement(organization_id, start, end, group=group, key_id=key_id)
    rows = (await db.execute(statement)).all()
    return [_sum_row(row, bucketed=False, grouped=group is not None) for row in rows]


def _sum_row(row: Sequence[Any], *, bucketed: bool, grouped: bool) -> SumRow:
    values = list(row)
    bucket = values.pop(0) if bucketed else None
    group = values.pop(0) if grouped else None
    requests, prompt, completion, cost, images = (int(v or 0) for v in values)
    return SumRow(bucket, group, requests, prompt, completion, cost, images)


def floor_to(moment: datetime, step: timedelta) -> datetime:
    moment = moment.astimezone(UTC)
    if step == HOUR:
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def ceil_to(moment: datetime, step: timedelta) -> datetime:
    floor = floor_to(moment, step)
    return floor if floor == moment else floor + step


async def sums(
    db: AsyncSession,
    organization_id: uuid.UUID,
    start: datetime,
    end: datetime,
    group: GroupColumn | None = None,
    *,
    key_id: uuid.UUID | None = None,
) -> list[SumRow]:
    """Exact sums over [start, end), per group (and of one key only, if given): rollup for
    whole hours, rows for the rest."""
    whole_start, whole_end = ceil_to(start, HOUR), floor_to(end, HOUR)
    if whole_start >= whole_end:
        return await log_sums(db, organization_id, start, end, group=group, key_id=key_id)
    parts = await rollup_sums(
        db, organization_id, whole_start, whole_end, group=group, key_id=key_id
    )
    for edge_start, edge_end in ((start, whole_start), (whole_end, end)):
        if edge_start < edge_end:
            parts += await log_sums(
                db, organization_id, edge_start, edge_end, group=group, key_id=key_id
            )
    return merge(parts)


def merge(rows: Iterable[SumRow]) -> list[SumRow]:
    merged: dict[Any, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for row in rows:
        total = merged[row.group]
        total[0] += row.requests
        total[1] += row.prompt_tokens
        total[2] += row.completion_tokens
        total[3] += row.cost_nanos
        total[4] += row.images
    return [SumRow(None, group, *total) for group, total in merged.items()]


async def cost_by_key(
    db: AsyncSession,
    organization_id: uuid.UUID,
    start: datetime,
    end: datetime,
    *,
    key_id: uuid.UUID | None = None,
) -> dict[uuid.UUID, int]:
    """Cost in nano-dollars per API key over [start, end) (month-to-date spend for caps and
    the key list); with `key_id`, that key's alone."""
    rows = await sums(db, organization_id, start, end, group="api_key_id", key_id=key_id)
    return {row.group: row.cost_nanos for row in rows}
