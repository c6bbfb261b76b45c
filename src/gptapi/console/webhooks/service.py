"""Webhook endpoints of an organisation: CRUD, secret rotation, delivery log, retry, replay."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.config import Settings
from gptapi.console import audit
from gptapi.console.deps import OrgContext
from gptapi.console.errors import bad_request, conflict, forbidden, not_found
from gptapi.console.permissions import allows
from gptapi.console.webhooks.catalog import EVENT_TYPES, TEST_EVENT, EventType
from gptapi.console.webhooks.schemas import (
    AttemptOut,
    DeliveryDetail,
    DeliveryOut,
    EndpointCreate,
    EndpointCreated,
    EndpointOut,
    EndpointUpdate,
    EventTypeOut,
    Replay,
    SecretRotated,
)
from gptapi.kit.sealed import Sealer
from gptapi.kit.ssrf import BlockedDestination, EgressGuard
from gptapi.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from gptapi.webhooks import repository as repo
from gptapi.webhooks.signing import generate_secret, payload

MAX_ENDPOINTS = 20
EXAMPLE_TIMESTAMP = "2026-01-15T10:02:04Z"


def event_types() -> list[EventTypeOut]:
    return [_event_type_out(event) for event in EVENT_TYPES]


def _event_type_out(event: EventType) -> EventTypeOut:
    example = {"type": event.name, "timestamp": EXAMPLE_TIMESTAMP, "data": event.example}
    return EventTypeOut(name=event.name, description=event.description, example=example)


def endpoint_out(endpoint: WebhookEndpoint) -> EndpointOut:
    return EndpointOut.model_validate(endpoint, from_attributes=True)


async def check_url(settings: Settings, url: str) -> None:
    """Refuse what the worker would refuse, now rather than at the first event; the worker
    checks again at every send because DNS answers change."""
    try:
        await EgressGuard(allow_private=settings.allow_private_webhook_urls).vet(url)
    except BlockedDestination as exc:
        raise bad_request(
            f"This URL cannot receive webhooks: {exc}.", param="url", code="invalid_url"
        ) from None


def check_event_types(ctx: OrgContext, event_types: list[str]) -> None:
    """An endpoint receives its events' data: subscribing (or changing an endpoint that is
    subscribed) needs the permission reading that data in the console needs."""
    needs = {event.name: event.needs for event in EVENT_TYPES}
    refused = [t for t in event_types if (need := needs.get(t)) and not allows(ctx.role, need)]
    if refused:
        raise forbidden(
            f"Your role cannot subscribe to {', '.join(refused)}: those events carry data "
            "it may not read.",
            code="event_type_not_allowed",
        )


async def get_endpoint(
    db: AsyncSession, ctx: OrgContext, endpoint_id: uuid.UUID
) -> WebhookEndpoint:
    endpoint = await repo.endpoint_of(db, ctx.organization.id, endpoint_id)
    if endpoint is None:
        raise not_found("webhook endpoint")
    return endpoint


async def list_endpoints(db: AsyncSession, ctx: OrgContext) -> list[EndpointOut]:
    return [endpoint_out(e) for e in await repo.endpoints_of(db, ctx.organization.id)]


async def create(
    db: AsyncSession,
    ctx: OrgContext,
    body: EndpointCreate,
    settings: Settings,
    sealer: Sealer,
    now: datetime,
) -> EndpointCreated:
    if len(await repo.endpoints_of(db, ctx.organization.id)) >= MAX_ENDPOINTS:
        raise conflict(f"An organization can have at most {MAX_ENDPOINTS} webhook endpoints.")
    check_event_types(ctx, body.event_types)
    await check_url(settings, body.url)
    secret = generate_secret()
    endpoint = WebhookEndpoint(
        organization_id=ctx.organization.id,
        url=body.url,
        description=body.description,
        event_types=body.event_types,
        enabled=body.enabled,
        disabled_reason="",
        secret=sealer.seal(secret),
        created_at=now,
        updated_at=now,
    )
    db.add(endpoint)
    await db.flush()
    audit.record_change(
        db,
        ctx,
        "webhook.create",
        target_type="webhook_endpoint",
        target_id=endpoint.id,
        data={"url": body.url, "event_types": body.event_types},
    )
    return EndpointCreated(**endpoint_out(endpoint).model_dump(), secret=secret)


async def update(
    db: AsyncSession,
    ctx: OrgContext,
    endpoint: WebhookEndpoint,
    body: EndpointUpdate,
    settings: Settings,
    now: datetime,
) -> None:
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    check_event_types(ctx, changes.get("event_types", endpoint.event_types))
    if "url" in changes:
        await check_url(settings, changes["url"])
    for field, value in changes.items():
        setattr(endpoint, field, value)
    if changes.get("enabled"):
        endpoint.disabled_reason = ""
        endpoint.failing_since = None
    elif changes.get("enabled") is False:
        await repo.fail_pending(db, endpoint.id, now)
    endpoint.updated_at = now
    audit.record_change(
        db,
        ctx,
        "webhook.update",
        target_type="webhook_endpoint",
        target_id=endpoint.id,
        data={"changed": sorted(changes)},
    )


async def delete(db: AsyncSession, ctx: OrgContext, endpoint: WebhookEndpoint) -> None:
    audit.record_change(
        db,
        ctx,
        "webhook.delete",
        target_type="webhook_endpoint",
        target_id=endpoint.id,
        data={"url": endpoint.url},
    )
    await db.delete(endpoint)


async def rotate_secret(
    db: AsyncSession,
    ctx: OrgContext,
    endpoint: WebhookEndpoint,
    overlap_seconds: int,
    sealer: Sealer,
    now: datetime,
) -> SecretRotated:
    expires = now + timedelta(seconds=overlap_seconds) if overlap_seconds else None
    secret = generate_secret()
    endpoint.previous_secret = endpoint.secret if expires else None
    endpoint.previous_secret_expires_at = expires
    endpoint.secret = sealer.seal(secret)
    endpoint.updated_at = now
    audit.record_change(
        db,
        ctx,
        "webhook.rotate_secret",
        target_type="webhook_endpoint",
        target_id=endpoint.id,
        data={"overlap_seconds": overlap_seconds},
    )
    return SecretRotated(secret=secret, previous_secret_expires_at=expires)


async def deliveries(
    db: AsyncSession,
    endpoint: WebhookEndpoint,
    *,
    status: str | None,
    before: datetime | None,
    limit: int,
) -> list[DeliveryOut]:
    rows = await repo.deliveries_page(db, endpoint.id, status=status, before=before, limit=limit)
    return [_delivery_out(delivery, event) for delivery, event in rows]


async def delivery_detail(
    db: AsyncSession, endpoint: WebhookEndpoint, delivery_id: uuid.UUID
) -> DeliveryDetail:
    delivery, event = await _delivery_of(db, endpoint, delivery_id)
    attempts = [
        AttemptOut.model_validate(a, from_attributes=True)
        for a in await repo.attempts_of(db, delivery.id)
    ]
    return DeliveryDetail(
        **_delivery_out(delivery, event).model_dump(),
        request_body=payload(event),
        attempt_log=attempts,
    )


async def retry(
    db: AsyncSession, endpoint: WebhookEndpoint, delivery_id: uuid.UUID, now: datetime
) -> DeliveryOut:
    """One more attempt, now; a delivery that still has retries left keeps its schedule."""
    _require_enabled(endpoint)
    delivery, event = await _delivery_of(db, endpoint, delivery_id)
    if delivery.status == repo.SUCCEEDED:
        raise conflict("This delivery already succeeded; replay its time range to send it again.")
    _queue(delivery, now)
    return _delivery_out(delivery, event)


async def replay(db: AsyncSession, endpoint: WebhookEndpoint, body: Replay, now: datetime) -> int:
    """Queue again every event of the range this endpoint subscribes to that it has not
    received: failed deliveries, and events from while it was disabled or unsubscribed."""
    _require_enabled(endpoint)
    until = body.until or now
    events = await repo.events_for_endpoint(db, endpoint, body.since, until)
    existing = await repo.deliveries_by_event(db, endpoint.id, [e.id for e in events])
    queued = 0
    for event in events:
        delivery = existing.get(event.id)
        if delivery is None:
            db.add(_new_delivery(endpoint, event, now))
        elif delivery.status == repo.FAILED:
            _queue(delivery, now)
        else:
            continue
        queued += 1
    return queued


async def send_test(db: AsyncSession, endpoint: WebhookEndpoint, now: datetime) -> DeliveryOut:
    _require_enabled(endpoint)
    event = WebhookEvent(
        organization_id=endpoint.organization_id,
        event_type=TEST_EVENT.name,
        data=TEST_EVENT.example,
        fanned_out=True,
        created_at=now,
    )
    db.add(event)
    await db.flush()
    delivery = _new_delivery(endpoint, event, now)
    db.add(delivery)
    await db.flush()
    return _delivery_out(delivery, event)


def _require_enabled(endpoint: WebhookEndpoint) -> None:
    if not endpoint.enabled:
        raise conflict("This endpoint is disabled; enable it first.", code="endpoint_disabled")


def _new_delivery(endpoint: WebhookEndpoint, event: WebhookEvent, now: datetime) -> WebhookDelivery:
    return WebhookDelivery(
        endpoint_id=endpoint.id,
        event_id=event.id,
        status=repo.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )


def _queue(delivery: WebhookDelivery, now: datetime) -> None:
    delivery.status = repo.PENDING
    delivery.next_attempt_at = now
    delivery.updated_at = now


async def _delivery_of(
    db: AsyncSession, endpoint: WebhookEndpoint, delivery_id: uuid.UUID
) -> tuple[WebhookDelivery, WebhookEvent]:
    delivery = await db.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise not_found("delivery")
    event = await db.get(WebhookEvent, delivery.event_id)
    if event is None:
        raise not_found("delivery")
    return delivery, event


def _delivery_out(delivery: WebhookDelivery, event: WebhookEvent) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.id,
        event_id=event.id,
        webhook_id=event.message_id,
        event_type=event.event_type,
        status=delivery.status,
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at,
        last_response_status=delivery.last_response_status,
        created_at=delivery.created_at,
        updated_at=delivery.updated_at,
    )
