"""The request log and the names usage reports show; the sums are in `gptapi.usage_sums`.

Every query is bounded by organisation and time (`ix_usage_logs_org_created`), so none of
them scans usage_logs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.models import (
    ApiKey,
    ComputeCatalogEntry,
    CreditTransaction,
    Deployment,
    DeploymentRun,
    Model,
    Pod,
    PodRun,
    UsageLog,
)


@dataclass(frozen=True, slots=True)
class LogFilter:
    organization_id: uuid.UUID
    start: datetime | None = None
    end: datetime | None = None
    model: str | None = None
    key_id: uuid.UUID | None = None
    status: int | None = None
    refused: bool | None = None  # only refusals (True) or only admitted requests (False)


# Outcomes of requests refused after their key was accepted (recorded at zero cost).
REFUSALS = ("rate_limited", "insufficient_quota", "spend_cap_reached", "model_not_allowed")


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
    if where.refused is not None:
        refusal = UsageLog.outcome.in_(REFUSALS)
        statement = statement.where(refusal if where.refused else ~refusal)
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


async def recent_latencies(
    db: AsyncSession, organization_id: uuid.UUID, start: datetime, end: datetime, limit: int
) -> list[tuple[str, int]]:
    """(model, latency) of the newest completed requests in [start, end), at most `limit`:
    read backwards along the organisation's time index, so the cost is bounded."""
    rows = await db.execute(
        select(Model.internal_name, UsageLog.latency_ms)
        .join(Model, Model.id == UsageLog.model_id)
        .where(
            UsageLog.organization_id == organization_id,
            UsageLog.created_at >= start,
            UsageLog.created_at < end,
            UsageLog.outcome == "completed",
        )
        .order_by(UsageLog.created_at.desc())
        .limit(limit)
    )
    return [(str(model), int(latency)) for model, latency in rows]


async def spend_by_kind(
    db: AsyncSession,
    organization_id: uuid.UUID,
    kinds: tuple[str, ...],
    start: datetime,
    end: datetime,
) -> dict[str, int]:
    """What the ledger debited per kind of entry in [start, end): exact, from the books."""
    rows = await db.execute(
        select(CreditTransaction.kind, func.sum(CreditTransaction.amount_nanos))
        .where(
            CreditTransaction.organization_id == organization_id,
            CreditTransaction.kind.in_(kinds),
            CreditTransaction.created_at >= start,
            CreditTransaction.created_at < end,
        )
        .group_by(CreditTransaction.kind)
    )
    return {kind: -int(total or 0) for kind, total in rows.all()}


async def runs_overlapping(
    db: AsyncSession, organization_id: uuid.UUID, start: datetime, end: datetime
) -> list[tuple[datetime, datetime, int]]:
    """(from, to, GPUs held) of every deployment run and every run of a pod's GPUs that ran
    during [start, end); an open run counts to when it was last seen running."""
    deployment_until = func.coalesce(DeploymentRun.ended_at, DeploymentRun.last_seen_at)
    deployments = await db.execute(
        select(
            DeploymentRun.started_at,
            deployment_until,
            func.coalesce(ComputeCatalogEntry.gpu_count, 0),
        )
        .join(Deployment, Deployment.id == DeploymentRun.deployment_id)
        .outerjoin(ComputeCatalogEntry, ComputeCatalogEntry.slug == Deployment.catalog_slug)
        .where(
            DeploymentRun.organization_id == organization_id,
            DeploymentRun.started_at < end,
            deployment_until > start,
        )
    )
    runs = [(started, ended, int(gpus)) for started, ended, gpus in deployments.all()]
    pod_until = func.coalesce(PodRun.ended_at, PodRun.last_seen_at)
    pods = await db.execute(
        select(PodRun.started_at, pod_until, Pod.gpu_count)
        .join(Pod, Pod.id == PodRun.pod_id)
        .where(
            PodRun.organization_id == organization_id,
            PodRun.kind == "gpu",
            PodRun.started_at < end,
            pod_until > start,
        )
    )
    runs += [(started, ended, int(count)) for started, ended, count in pods.all()]
    return runs
