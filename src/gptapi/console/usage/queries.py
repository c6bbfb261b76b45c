"""The request log and the names usage reports show; the sums are in `gptapi.usage_sums`.

Every query is bounded by organisation and time (`ix_usage_logs_org_created`), so none of
them scans usage_logs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.models import ApiKey, Model, UsageLog


@dataclass(frozen=True, slots=True)
class LogFilter:
    organization_id: uuid.UUID
    start: datetime | None = None
    end: datetime | None = None
    model: str | None = None
    key_id: uuid.UUID | None = None
    status: int | None = None


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
