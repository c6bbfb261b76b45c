"""usage.created and usage.daily, derived from usage_logs rather than emitted by the gateway.

usage_logs already is a durable, append-only record of every metered request, so it serves as
the outbox for these types: a cursor (a usage_logs id, or a UTC day) records how far events
were made, and moves by compare-and-set in the same transaction as the events it covers, so
two workers can run this concurrently without emitting anything twice.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.kit.clock import rfc3339
from gptapi.kit.db import SessionMaker
from gptapi.models import Model, UsageLog, WebhookCursor
from gptapi.outbox import emit
from gptapi.webhooks.repository import subscribed_organizations

USAGE_CREATED = "usage.created"
USAGE_DAILY = "usage.daily"
_BATCH = 500
# How long a usage row waits before it becomes an event; longer than any metering transaction.
SETTLE = timedelta(seconds=10)


async def _latest_usage_id(session: AsyncSession, condition: ColumnElement[bool]) -> int:
    return int(await session.scalar(select(func.max(UsageLog.id)).where(condition)) or 0)


async def _start_cursor(sessions: SessionMaker, name: str, position: int) -> None:
    """First run: events start from now on; history is not replayed as new events."""
    async with sessions() as session:
        session.add(WebhookCursor(name=name, position=position))
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()  # another worker started it first


async def _advance(session: AsyncSession, name: str, old: int, new: int) -> bool:
    result = await session.execute(
        update(WebhookCursor)
        .where(WebhookCursor.name == name, WebhookCursor.position == old)
        .values(position=new)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def emit_usage_created(sessions: SessionMaker, now: datetime) -> None:
    """Rows are taken in id order but only once SETTLE old: ids are handed out at insert and
    transactions commit out of order, so a fresh row can become visible after a higher id."""
    settled = UsageLog.created_at <= now - SETTLE
    async with sessions() as session:
        position = await session.scalar(
            select(WebhookCursor.position).where(WebhookCursor.name == USAGE_CREATED)
        )
        if position is None:
            latest = await _latest_usage_id(session, true())
            await _start_cursor(sessions, USAGE_CREATED, latest)
            return
        organizations = await subscribed_organizations(session, USAGE_CREATED)
        if not organizations:
            latest = await _latest_usage_id(session, settled)
            if latest > position and await _advance(session, USAGE_CREATED, position, latest):
                await session.commit()
            return
        rows = await session.execute(
            select(UsageLog, Model.name, settled)
            .join(Model, Model.id == UsageLog.model_id)
            .where(UsageLog.id > position)
            .order_by(UsageLog.id)
            .limit(_BATCH)
        )
        last = position
        for usage, model, is_settled in rows:
            if not is_settled:
                break
            last = usage.id
            if usage.organization_id in organizations:
                await emit(
                    session,
                    organization_id=usage.organization_id,
                    event_type=USAGE_CREATED,
                    data=_usage_created(usage, model),
                )
        if last > position and await _advance(session, USAGE_CREATED, position, last):
            await session.commit()


def _usage_created(usage: UsageLog, model: str) -> dict[str, Any]:
    return {
        "organization_id": str(usage.organization_id),
        "request_id": usage.request_id,
        "api_key_id": str(usage.api_key_id),
        "model": model,
        "endpoint": usage.endpoint,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cost_nanos": usage.cost_nanos,
        "status": usage.status,
        "outcome": usage.outcome,
        "latency_ms": usage.latency_ms,
        "test_mode": usage.test_mode,
        "created_at": rfc3339(usage.created_at),
    }


async def emit_usage_daily(sessions: SessionMaker, now: datetime) -> None:
    """One event per subscribed organisation for each UTC day that has closed since the last
    run, one transaction per day."""
    last_closed = now.astimezone(UTC).date().toordinal() - 1
    async with sessions() as session:
        position = await session.scalar(
            select(WebhookCursor.position).where(WebhookCursor.name == USAGE_DAILY)
        )
    if position is None:
        await _start_cursor(sessions, USAGE_DAILY, last_closed)
        return
    while position < last_closed:
        day = date.fromordinal(position + 1)
        async with sessions() as session:
            organizations = await subscribed_organizations(session, USAGE_DAILY)
            for organization_id, data in (await _daily_totals(session, day, organizations)).items():
                await emit(
                    session,
                    organization_id=organization_id,
                    event_type=USAGE_DAILY,
                    data=data,
                    dedupe_key=f"{USAGE_DAILY}:{organization_id}:{day.isoformat()}",
                )
            if not await _advance(session, USAGE_DAILY, position, position + 1):
                return  # another worker is on it
            await session.commit()
        position += 1


async def _daily_totals(
    session: AsyncSession, day: date, organizations: set[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    """Every subscribed organisation gets its event, zero usage included, so receivers can
    count on one per day."""
    start = datetime.combine(day, time(), tzinfo=UTC)
    totals: dict[uuid.UUID, dict[str, Any]] = {
        org: {
            "organization_id": str(org),
            "date": day.isoformat(),
            "requests": 0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "cost_nanos": 0,
            "models": [],
        }
        for org in organizations
    }
    if not organizations:
        return totals
    rows = await session.execute(
        select(
            UsageLog.organization_id,
            Model.name,
            func.count(),
            func.sum(UsageLog.prompt_tokens),
            func.sum(UsageLog.completion_tokens),
            func.sum(UsageLog.cost_nanos),
        )
        .join(Model, Model.id == UsageLog.model_id)
        .where(
            UsageLog.organization_id.in_(organizations),
            UsageLog.created_at >= start,
            UsageLog.created_at < start + timedelta(days=1),
        )
        .group_by(UsageLog.organization_id, Model.name)
        .order_by(UsageLog.organization_id, Model.name)
    )
    for org, model, requests, prompt, completion, cost in rows:
        entry = {
            "model": model,
            "requests": int(requests),
            "prompt_tokens": int(prompt or 0),
            "completion_tokens": int(completion or 0),
            "cost_nanos": int(cost or 0),
        }
        total = totals[org]
        total["models"].append(entry)
        for field in ("requests", "prompt_tokens", "completion_tokens", "cost_nanos"):
            total[field] += entry[field]
    return totals
