"""Webhook events of the GPU cloud, recorded through the outbox in the transaction that
makes the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.kit.clock import rfc3339
from gptapi.models import Deployment, Pod
from gptapi.outbox import emit


async def changed(
    session: AsyncSession,
    row: Deployment | Pod,
    previous: str | None,
    state: str,
    reason: str,
    at: datetime,
) -> None:
    """`deployment.state_changed` or `pod.state_changed`, whichever `row` is."""
    if isinstance(row, Pod):
        event_type = "pod.state_changed"
        subject: dict[str, Any] = {
            "pod_id": row.id,
            "name": row.name,
            "gpu_type": row.gpu_type,
            "gpu_count": row.gpu_count,
        }
    else:
        event_type = "deployment.state_changed"
        subject = {"deployment_id": row.id, "name": row.name, "catalog_slug": row.catalog_slug}
    await emit(
        session,
        organization_id=row.organization_id,
        event_type=event_type,
        data={
            "organization_id": str(row.organization_id),
            **subject,
            "state": state,
            "previous_state": previous,
            "reason": reason,
            "changed_at": rfc3339(at),
        },
    )
