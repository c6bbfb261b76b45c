"""Queries over webhook endpoints, events, deliveries and attempts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, String, cast, delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

PENDING = "pending"
SUCCEEDED = "succeeded"
FAILED = "failed"


def subscribed_to(event_type: str) -> ColumnElement[bool]:
    """Endpoints whose JSON list of types holds `event_type`: a text match on the serialised
    list works on both backends, and type names contain no quotes."""
    return cast(WebhookEndpoint.event_types, String).like(f'%"{event_type}"%')


async def endpoints_of(
    session: AsyncSession, organization_id: uuid.UUID
) -> Sequence[WebhookEndpoint]:
    rows = await session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.organization_id == organization_id)
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    )
    return rows.all()


async def endpoint_of(
    session: AsyncSession, organization_id: uuid.UUID, endpoint_id: uuid.UUID
) -> WebhookEndpoint | None:
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.organization_id != organization_id:
        return None
    return endpoint


async def subscribed_organizations(session: AsyncSession, event_type: str) -> set[uuid.UUID]:
    rows = await session.scalars(
        select(WebhookEndpoint.organization_id)
        .where(WebhookEndpoint.enabled, subscribed_to(event_type))
        .distinct()
    )
    return set(rows.all())


async def recipients(session: AsyncSession, event: WebhookEvent) -> Sequence[WebhookEndpoint]:
    """Enabled endpoints that want `event`: its organisation's, or everyone's for a
    platform-wide event."""
    query = select(WebhookEndpoint).where(WebhookEndpoint.enabled, subscribed_to(event.event_type))
    if event.organization_id is not None:
        query = query.where(WebhookEndpoint.organization_id == event.organization_id)
    return (await session.scalars(query)).all()


async def unfanned_events(session: AsyncSession, limit: int) -> Sequence[WebhookEvent]:
    rows = await session.scalars(
        select(WebhookEvent)
        .where(WebhookEvent.fanned_out.is_(False))
        .order_by(WebhookEvent.created_at, WebhookEvent.id)
        .limit(limit)
    )
    return rows.all()


async def mark_fanned_out(session: AsyncSession, event_id: uuid.UUID) -> bool:
    """Take the event for fan-out; False when another worker already did."""
    result = await session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.id == event_id, WebhookEvent.fanned_out.is_(False))
        .values(fanned_out=True)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def events_for_endpoint(
    session: AsyncSession, endpoint: WebhookEndpoint, since: datetime, until: datetime
) -> Sequence[WebhookEvent]:
    rows = await session.scalars(
        select(WebhookEvent)
        .where(
            or_(
                WebhookEvent.organization_id == endpoint.organization_id,
                WebhookEvent.organization_id.is_(None),
            ),
            WebhookEvent.event_type.in_(endpoint.event_types),
            WebhookEvent.created_at >= since,
            WebhookEvent.created_at < until,
        )
        .order_by(WebhookEvent.created_at)
    )
    return rows.all()


async def deliveries_by_event(
    session: AsyncSession, endpoint_id: uuid.UUID, event_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, WebhookDelivery]:
    rows = await session.scalars(
        select(WebhookDelivery).where(
            WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.event_id.in_(event_ids)
        )
    )
    return {delivery.event_id: delivery for delivery in rows}


async def deliveries_page(
    session: AsyncSession,
    endpoint_id: uuid.UUID,
    *,
    status: str | None,
    before: datetime | None,
    limit: int,
) -> Sequence[tuple[WebhookDelivery, WebhookEvent]]:
    query = (
        select(WebhookDelivery, WebhookEvent)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    if before is not None:
        query = query.where(WebhookDelivery.created_at < before)
    return [(d, e) for d, e in await session.execute(query)]


async def attempts_of(session: AsyncSession, delivery_id: uuid.UUID) -> Sequence[WebhookAttempt]:
    rows = await session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery_id)
        .order_by(WebhookAttempt.id)
    )
    return rows.all()


async def fail_pending(session: AsyncSession, endpoint_id: uuid.UUID, now: datetime) -> None:
    """A disabled endpoint owes nothing more; replay brings events back once re-enabled."""
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == PENDING)
        .values(status=FAILED, next_attempt_at=None, updated_at=now)
    )


async def prune_events(session: AsyncSession, before: datetime, limit: int) -> int:
    """Delete up to `limit` events created before `before`, with their deliveries and
    attempts, once nothing is left to do for them: fanned out, and no delivery still pending
    (a pending one may be retried or replayed). Returns how many events went."""
    active = exists().where(
        WebhookDelivery.event_id == WebhookEvent.id, WebhookDelivery.status == PENDING
    )
    done = (
        select(WebhookEvent.id)
        .where(WebhookEvent.created_at < before, WebhookEvent.fanned_out.is_(True), ~active)
        .order_by(WebhookEvent.created_at)
        .limit(limit)
    )
    event_ids = list((await session.scalars(done)).all())
    if not event_ids:
        return 0
    deliveries = select(WebhookDelivery.id).where(WebhookDelivery.event_id.in_(event_ids))
    # Children first: the foreign keys cascade on PostgreSQL, but explicit deletes keep the
    # work the same on every backend and visible in one place.
    await session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries)))
    await session.execute(delete(WebhookDelivery).where(WebhookDelivery.event_id.in_(event_ids)))
    await session.execute(delete(WebhookEvent).where(WebhookEvent.id.in_(event_ids)))
    return len(event_ids)
