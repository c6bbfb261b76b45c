"""Audit entries for changes made inside an organisation, and reading them back."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.console import audit
from gptapi.console.deps import OrgContext
from gptapi.console.orgs import repository
from gptapi.console.orgs.schemas import AuditEntryOut, AuditPage


def record_change(
    session: AsyncSession,
    ctx: OrgContext,
    action: str,
    *,
    target_type: str,
    target_id: object,
    data: dict[str, Any] | None = None,
) -> None:
    audit.record(
        session,
        action=action,
        actor_user_id=ctx.viewer.user.id,
        organization_id=ctx.organization.id,
        target_type=target_type,
        target_id=target_id,
        data=data,
        ip=ctx.viewer.ip,
    )


async def page(session: AsyncSession, ctx: OrgContext, cursor: str | None, limit: int) -> AuditPage:
    before = None if cursor is None else int(cursor)
    rows = await repository.audit_page(session, ctx.organization.id, before=before, limit=limit)
    entries = [
        AuditEntryOut(
            id=entry.id,
            action=entry.action,
            actor_user_id=entry.actor_user_id,
            actor_email=email,
            target_type=entry.target_type,
            target_id=entry.target_id,
            data=entry.data,
            ip=entry.ip,
            created_at=entry.created_at,
        )
        for entry, email in rows
    ]
    next_cursor = str(entries[-1].id) if len(entries) == limit else None
    return AuditPage(data=entries, next_cursor=next_cursor)
