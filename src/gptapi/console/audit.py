"""The audit log: `record` (and its shorthands for a member or an operator making a change)
appends in the caller's transaction, so the record and the change commit together or not at
all; `page` reads it back, newest first."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.audit import record
from gptapi.console.deps import OrgContext, Viewer
from gptapi.console.errors import bad_request
from gptapi.models import AuditLog, User

Entry = TypeVar("Entry", bound=BaseModel)


def record_change(
    session: AsyncSession,
    ctx: OrgContext,
    action: str,
    *,
    target_type: str,
    target_id: object,
    data: dict[str, Any] | None = None,
) -> None:
    """A change a member made inside their organisation (through an API key of theirs when
    `via_api_key` names one)."""
    if ctx.viewer.key is not None:
        data = {**(data or {}), "via_api_key": ctx.viewer.key.prefix}
    record(
        session,
        action=action,
        actor_user_id=ctx.viewer.user.id,
        organization_id=ctx.organization.id,
        target_type=target_type,
        target_id=target_id,
        data=data,
        ip=ctx.viewer.ip,
    )


def record_operator_change(
    session: AsyncSession,
    admin: Viewer,
    action: str,
    *,
    target_type: str,
    target_id: object,
    data: dict[str, Any] | None = None,
    organization_id: uuid.UUID | None = None,
) -> None:
    """A change a platform operator made, to the platform or to one organisation."""
    record(
        session,
        action=action,
        actor_user_id=admin.user.id,
        organization_id=organization_id,
        target_type=target_type,
        target_id=target_id,
        data=data,
        ip=admin.ip,
    )


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    organization_id: uuid.UUID | None = None
    actor_user_id: uuid.UUID | None = None


async def page(
    session: AsyncSession, where: AuditFilter, cursor: str | None, limit: int, entry: type[Entry]
) -> tuple[list[Entry], str | None]:
    """One page of entries, each as `entry` (a schema taking the audit_logs columns it wants
    plus `actor_email`), and the cursor of the next (older) page, None on the last."""
    statement = (
        select(AuditLog, User.email)
        .outerjoin(User, User.id == AuditLog.actor_user_id)
        .order_by(AuditLog.id.desc())
        .limit(limit + 1)
    )
    if cursor is not None:
        # An id is a bigint: more digits than that is no cursor of ours either.
        if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 18):
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
    rows = list((await session.execute(statement)).all())
    entries = [
        entry.model_validate(
            {
                "id": log.id,
                "action": log.action,
                "actor_user_id": log.actor_user_id,
                "actor_email": email,
                "organization_id": log.organization_id,
                "target_type": log.target_type,
                "target_id": log.target_id,
                "data": log.data,
                "ip": log.ip,
                "created_at": log.created_at,
            }
        )
        for log, email in rows[:limit]
    ]
    next_cursor = str(rows[limit - 1][0].id) if len(rows) > limit else None
    return entries, next_cursor
