"""Reading the whole audit log, newest first."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.console.errors import bad_request
from gptapi.console.operator.schemas import AuditEntryOut, AuditPage
from gptapi.models import AuditLog, User


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    organization_id: uuid.UUID | None = None
    actor_user_id: uuid.UUID | None = None


async def page(db: AsyncSession, where: AuditFilter, cursor: str | None, limit: int) -> AuditPage:
    statement = (
        select(AuditLog, User.email)
        .outerjoin(User, User.id == AuditLog.actor_user_id)
        .order_by(AuditLog.id.desc())
        .limit(limit + 1)
    )
    if cursor is not None:
        if not cursor.isdigit():
            raise bad_request("Not a cursor from this API.", param="cursor")
        statement = statement.where(AuditLog.id < int(cursor))
    if where.action is not None:
        # "model" matches every model.* action; "model.create" only itself.
        statement = statement.where(
            (AuditLog.action == where.action)
            | AuditLog.action.startswith(f"{where.action}.", autoescape=True)
        )
    if where.organization_id is not None:
        statement = statement.where(AuditLog.organization_id == where.organization_id)
    if where.actor_user_id is not None:
        statement = statement.where(AuditLog.actor_user_id == where.actor_user_id)
    rows = list((await db.execute(statement)).all())
    entries = [
        AuditEntryOut(
            id=entry.id,
            action=entry.action,
            actor_user_id=entry.actor_user_id,
            actor_email=email,
            organization_id=entry.organization_id,
            target_type=entry.target_type,
            target_id=entry.target_id,
            data=entry.data,
            ip=entry.ip,
            created_at=entry.created_at,
        )
        for entry, email in rows[:limit]
    ]
    next_cursor = str(entries[-1].id) if len(rows) > limit else None
    return AuditPage(data=entries, next_cursor=next_cursor)
