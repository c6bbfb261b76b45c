"""The usage queries: sums from the hourly rollup or from request rows, and the request log.

Every query is bounded by organisation and time, the leading columns of the rollup's primary
key and of `ix_usage_logs_org_created`, so none of them scans usage_logs.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.models import ApiKey, Model, UsageHourly, UsageLog
from gptapi.models.base import UTCDateTime

GroupColumn = Literal["model_id", "api_key_id"]


@dataclass(frozen=True, slots=True)
class SumRow:
    bucket: datetime | None  # the hour or day summed, when summed per hour or day
    group: Any  # model id (int) or API key id (UUID); None when not grouped
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_nanos: int


@dataclass(frozen=True, slots=True)
class LogFilter:
    organization_id: uuid.UUID
    start: datetime | None = None
    end: datetime | None = None
    model: str | None = None
    key_id: uuid.UUID | None = None
    status: int | None = None


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
) -> Select[Any]:
    keys: list[Any] = []
    if bucket == "hour":
        keys.append(UsageHourly.hour)
    elif bucket == "day":
        keys.append(day_of(UsageHourly.hour, dialect))
    if group is not None:
        keys.append(getattr(UsageHourly, group))
    return (
        select(
            *keys,
            func.sum(UsageHourly.requests),
            func.sum(UsageHourly.prompt_tokens),
            func.sum(UsageHourly.completion_tokens),
            func.sum(UsageHourly.cost_nanos),
        )
        .where(
            UsageHourly.organization_id == organization_id,
            UsageHourly.hour >= start,
            UsageHourly.hour < end,
        )
        .group_by(*keys)
    )


async def rollup_sums(
    db: AsyncSession,
    organization_id: uuid.UUID,
    start: datetime,
    end: datetime,
    *,
    group: GroupColumn | None = None,
    bucket: Literal["hour", "day"] | None = None,
) -> list[SumRow]:
    """Sums over whole hours in [start, end) (both on the hour), per hour or day if asked."""
    dialect = db.get_bind().dialect.name
    statement = rollup_statement(
        organization_id, start, end, group=group, bucket=bucket, dialect=dialect
    )
    rows = (await db.execute(statement)).all()
    return [_sum_row(row, bucketed=bucket is not None, grouped=group is not None) for row in rows]


def log_statement(
    organization_id: uuid.UUID,
    start: datetime,
    end: datetime,
    *,
    group: GroupColumn | None = None,
) -> Select[Any]:
    keys: list[Any] = [] if group is None else [getattr(UsageLog, group)]
    return (
        select(
            *keys,
            func.count(UsageLog.id),
            func.coalesce(func.sum(UsageLog.prompt_tokens), 0),
            func.coalesce(func.sum(UsageLog.completion_tokens), 0),
            func.coalesce(func.sum(UsageLog.cost_nanos), 0),
        )
        .where(
            UsageLog.organization_id == organization_id,
            UsageLog.created_at >= start,
            UsageLog.created_at < end,
        )
        .group_by(*keys)
    )


async def log_sums(
    db: AsyncSession,
    organization_id: uuid.UUID,
    start: datetime,
    end: datetime,
    *,
    group: GroupColumn | None = None,
) -> list[SumRow]:
    """Sums over the request rows in [start, end): for the parts of a range off the hour."""
    rows = (await db.execute(log_statement(organization_id, start, end, group=group))).all()
    return [_sum_row(row, bucketed=False, grouped=group is not None) for row in rows]


def _sum_row(row: Sequence[Any], *, bucketed: bool, grouped: bool) -> SumRow:
    values = list(row)
    bucket = values.pop(0) if bucketed else None
    group = values.pop(0) if grouped else None
    requests, prompt, completion, cost = (int(v or 0) for v in values)
    return SumRow(bucket, group, requests, prompt, completion, cost)


async def model_names(db: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await db.execute(select(Model.id, Model.internal_name).where(Model.id.in_(ids)))
    return {int(i): str(name) for i, name in rows}


async def key_names(
    db: AsyncSession, organization_id: uuid.UUID, ids: set[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, str]]:
    if not ids:
        return {}
    rows = await db.execute(
        select(ApiKey.id, ApiKey.name, ApiKey.key_prefix).where(
            ApiKey.organization_id == organization_id, ApiKey.id.in_(ids)
        )
    )
    return {i: (str(name), str(prefix)) for i, name, prefix in rows}


def request_log(
    where: LogFilter, after: tuple[datetime, int] | None, limit: int
) -> Select[UsageLog, str, str, str]:
    """Newest first; `after` is the (created_at, id) of the last row already seen."""
    statement = (
        select(UsageLog, Model.internal_name, ApiKey.name, ApiKey.key_prefix)
        .join(Model, Model.id == UsageLog.model_id)
        .join(ApiKey, ApiKey.id == UsageLog.api_key_id)
        .where(UsageLog.organization_id == where.organization_id)
        .order_by(UsageLog.created_at.desc(), UsageLog.id.desc())
        .limit(limit)
    )
    if where.start is not None:
        statement = statement.where(UsageLog.created_at >= where.start)
    if where.end is not None:
        statement = statement.where(UsageLog.created_at < where.end)
    if where.model is not None:
        statement = statement.where(Model.internal_name == where.model)
    if where.key_id is not None:
        statement = statement.where(UsageLog.api_key_id == where.key_id)
    if where.status is not None:
        statement = statement.where(UsageLog.status == where.status)
    if after is not None:
        created_at, row_id = after
        # The plain bound on created_at is what lets the index do the seeking.
        statement = statement.where(
            UsageLog.created_at <= created_at,
            or_(
                UsageLog.created_at < created_at,
                and_(UsageLog.created_at == created_at, UsageLog.id < row_id),
            ),
        )
    return statement


async def request_page(
    db: AsyncSession, where: LogFilter, after: tuple[datetime, int] | None, limit: int
) -> list[tuple[UsageLog, str, str, str]]:
    return list((await db.execute(request_log(where, after, limit))).all())
