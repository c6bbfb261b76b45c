"""Appending to the audit log, in the caller's transaction: the record and the change it
describes commit together or not at all. Below every domain, so that the compute worker
records what it finishes (a pod terminated) as the console records what members ask."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.models import AuditLog


def record(
    session: AsyncSession,
    *,
    action: str,
    actor_user_id: uuid.UUID | None,
    organization_id: uuid.UUID | None = None,
    target_type: str = "",
    target_id: object = "",
    data: dict[str, Any] | None = None,
    ip: str = "",
) -> AuditLog:
    entry = AuditLog(
        action=action,
        actor_user_id=actor_user_id,
        organization_id=organization_id,
        target_type=target_type,
        target_id=str(target_id),
        data=data or {},
        ip=ip,
    )
    session.add(entry)
    return entry
