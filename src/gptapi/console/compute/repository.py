"""Queries of the GPU cloud endpoints; every one is bounded by organisation."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.models import (
    ApiKey,
    Deployment,
    DeploymentReplica,
    DeploymentRun,
    Pod,
    UsageLog,
)
from gptapi.models.base import UTCDateTime


async def deployments(db: AsyncSession, organization_id: uuid.UUID) -> Sequence[Deployment]:
    return (
        await db.scalars(
            select(Deployment)
            .where(Deployment.organization_id == organization_id, Deployment.state != "deleted")
            .order_by(Deployment.created_at.desc())
        )
    ).all()


async def deployment(
    db: AsyncSession, organization_id: uuid.UUID, deployment_id: str
) -> Deployment | None:
    return await db.scalar(
        select(Deployment).where(
            Deployment.id == deployment_id,
            Deployment.organization_id == organization_id,
            Deployment.state != "deleted",
        )
    )


async def name_taken(db: AsyncSession, organization_id: uuid.UUID, name: str) -> bool:
    found = await db.scalar(
        select(Deployment.id).where(
            Deployment.organization_id == organization_id,
            Deployment.name == name,
            Deployment.state != "deleted",
        )
    )
    return found is not None


async def run_totals(db: AsyncSession, deployment_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
    """(billed seconds, charged nano-dollars) per deployment, over all its runs."""
    if not deployment_ids:
        return {}
    rows = await db.execute(
        select(
            DeploymentRun.deployment_id,
            func.sum(DeploymentRun.billed_seconds),
            func.sum(DeploymentRun.charged_nanos),
        )
        .where(DeploymentRun.deployment_id.in_(deployment_ids))
        .group_by(DeploymentRun.deployment_id)
    )
    return {row[0]: (int(row[1] or 0), int(row[2] or 0)) for row in rows}


async def key_prefixes(
    db: AsyncSession, organization_id: uuid.UUID, key_names: Sequence[str], purpose: str
) -> dict[str, str]:
    """The prefix of each working key of `purpose` among those names, by name."""
    if not key_names:
        return {}
    rows = await db.execute(
        select(ApiKey.name, ApiKey.key_prefix).where(
            ApiKey.organization_id == organization_id,
            ApiKey.purpose == purpose,
            ApiKey.name.in_(key_names),
            ApiKey.revoked.is_(False),
        )
    )
    return dict(rows.all())


async def replicas(
    db: AsyncSession, deployment_ids: Sequence[str]
) -> dict[str, list[DeploymentReplica]]:
    """The replicas scale-out added, per deployment, oldest first."""
    found: dict[str, list[DeploymentReplica]] = {}
    if deployment_ids:
        rows = await db.scalars(
            select(DeploymentReplica)
            .where(DeploymentReplica.deployment_id.in_(deployment_ids))
            .order_by(DeploymentReplica.id)
        )
        for row in rows:
            found.setdefault(row.deployment_id, []).append(row)
    return found


async def request_stats(
    db: AsyncSession, deployment: Deployment, since: datetime
) -> tuple[int, float | None, int]:
    """(requests, average latency in ms, completion tokens) of its /v1 requests since then."""
    row = (
        await db.execute(
            select(
                func.count(UsageLog.id),
                func.avg(UsageLog.latency_ms),
                func.coalesce(func.sum(UsageLog.completion_tokens), 0),
            ).where(
                UsageLog.organization_id == deployment.organization_id,
                UsageLog.created_at >= since,
                UsageLog.model_id == deployment.model_id,
            )
        )
    ).one()
    average = float(row[1]) if row[1] is not None else None
    return int(row[0]), average, int(row[2])


async def pods(db: AsyncSession, organization_id: uuid.UUID) -> Sequence[Pod]:
    return (
        await db.scalars(
            select(Pod)
            .where(Pod.organization_id == organization_id, Pod.state != "terminated")
            .order_by(Pod.created_at.desc())
        )
    ).all()


async def pod(db: AsyncSession, organization_id: uuid.UUID, pod_id: str) -> Pod | None:
    return await db.scalar(
        select(Pod).where(
            Pod.id == pod_id, Pod.organization_id == organization_id, Pod.state != "terminated"
        )
    )


def _hour_of(column: Any, dialect: str) -> ColumnElement[datetime]:
    """The UTC hour a moment falls in, computed by the database."""
    if dialect == "sqlite":  # stored as text: "YYYY-MM-DD HH:MM:SS.ffffff"
        hour: ColumnElement[Any] = func.strftime("%Y-%m-%d %H:00:00.000000", column)
    else:
        hour = func.date_trunc("hour", column, "UTC")
    return type_coerce(hour, UTCDateTime)


async def request_series(
    db: AsyncSession, deployment: Deployment, since: datetime
) -> dict[datetime, tuple[int, int, int]]:
    """(requests, total latency in ms, completion tokens) of its /v1 requests per UTC hour
    since then, hours with none left out."""
    hour = _hour_of(UsageLog.created_at, db.get_bind().dialect.name)
    rows = await db.execute(
        select(
            hour,
            func.count(UsageLog.id),
            func.coalesce(func.sum(UsageLog.latency_ms), 0),
            func.coalesce(func.sum(UsageLog.completion_tokens), 0),
        )
        .where(
            UsageLog.organization_id == deployment.organization_id,
            UsageLog.created_at >= since,
            UsageLog.model_id == deployment.model_id,
        )
        .group_by(hour)
    )
    return {row[0]: (int(row[1]), int(row[2]), int(row[3])) for row in rows}
