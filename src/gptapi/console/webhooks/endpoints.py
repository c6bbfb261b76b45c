"""/api/orgs/{org_id}/webhooks: endpoints, their delivery log, retry, replay and test events;
/api/webhooks/event-types: the public event catalogue."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from gptapi.console.deps import DbSession, OrgContext, State, require
from gptapi.console.permissions import Capability
from gptapi.console.webhooks import service
from gptapi.console.webhooks.schemas import (
    DeliveryDetail,
    DeliveryOut,
    DeliveryStatus,
    EndpointCreate,
    EndpointCreated,
    EndpointOut,
    EndpointUpdate,
    EventTypeOut,
    Replay,
    Replayed,
    SecretRotate,
    SecretRotated,
)
from gptapi.webhooks.signing import secret_sealer

router = APIRouter(tags=["webhooks"])
ENDPOINTS = "/orgs/{org_id}/webhooks"
ONE = ENDPOINTS + "/{endpoint_id}"

WebhooksRead = Annotated[OrgContext, Depends(require(Capability.WEBHOOKS_READ))]
WebhooksWrite = Annotated[OrgContext, Depends(require(Capability.WEBHOOKS_WRITE))]


@router.get("/webhooks/event-types", summary="Every event type, with an example payload")
async def event_types() -> list[EventTypeOut]:
    return service.event_types()


@router.get(ENDPOINTS, summary="The organization's webhook endpoints")
async def list_endpoints(ctx: WebhooksRead, db: DbSession) -> list[EndpointOut]:
    return await service.list_endpoints(db, ctx)


@router.post(
    ENDPOINTS, status_code=201, summary="Add an endpoint; the response holds its secret, once"
)
async def create_endpoint(
    ctx: WebhooksWrite, body: EndpointCreate, db: DbSession, state: State
) -> EndpointCreated:
    sealer = secret_sealer(state.secret_key)
    return await service.create(db, ctx, body, state.settings, sealer, state.clock.now())


@router.get(ONE, summary="One webhook endpoint")
async def get_endpoint(ctx: WebhooksRead, endpoint_id: uuid.UUID, db: DbSession) -> EndpointOut:
    return service.endpoint_out(await service.get_endpoint(db, ctx, endpoint_id))


@router.patch(ONE, summary="Change the URL, description, event types, or enable/disable")
async def update_endpoint(
    ctx: WebhooksWrite, endpoint_id: uuid.UUID, body: EndpointUpdate, db: DbSession, state: State
) -> EndpointOut:
    endpoint = await service.get_endpoint(db, ctx, endpoint_id)
    await service.update(db, ctx, endpoint, body, state.settings, state.clock.now())
    return service.endpoint_out(endpoint)


@router.delete(ONE, status_code=204, summary="Delete an endpoint and its delivery log")
async def delete_endpoint(ctx: WebhooksWrite, endpoint_id: uuid.UUID, db: DbSession) -> None:
    await service.delete(db, ctx, await service.get_endpoint(db, ctx, endpoint_id))


@router.post(
    ONE + "/rotate-secret",
    summary="New signing secret; the old one keeps signing too for the overlap",
)
async def rotate_secret(
    ctx: WebhooksWrite,
    endpoint_id: uuid.UUID,
    db: DbSession,
    state: State,
    body: SecretRotate | None = None,
) -> SecretRotated:
    endpoint = await service.get_endpoint(db, ctx, endpoint_id)
    overlap = (body or SecretRotate()).overlap_seconds
    sealer = secret_sealer(state.secret_key)
    return await service.rotate_secret(db, ctx, endpoint, overlap, sealer, state.clock.now())


@router.get(ONE + "/deliveries", summary="The delivery log, newest first")
async def list_deliveries(
    ctx: WebhooksRead,
    endpoint_id: uuid.UUID,
    db: DbSession,
    status: DeliveryStatus | None = None,
    before: Annotated[AwareDatetime | None, Query(description="Page: created before this.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[DeliveryOut]:
    endpoint = await service.get_endpoint(db, ctx, endpoint_id)
    return await service.deliveries(db, endpoint, status=status, before=before, limit=limit)


@router.get(ONE + "/deliveries/{delivery_id}", summary="A delivery with its request and attempts")
async def get_delivery(
    ctx: WebhooksRead, endpoint_id: uuid.UUID, delivery_id: uuid.UUID, db: DbSession
) -> DeliveryDetail:
    endpoint = await service.get_endpoint(db, ctx, endpoint_id)
    return await service.delivery_detail(db, endpoint, delivery_id)


@router.post(
    ONE + "/deliveries/{delivery_id}/retry",
    status_code=202,
    summary="Send a pending or failed delivery again now",
)
async def retry_delivery(
    ctx: WebhooksWrite, endpoint_id: uuid.UUID, delivery_id: uuid.UUID, db: DbSession, state: State
) -> DeliveryOut:
    endpoint = await service.get_endpoint(db, ctx, endpoint_id)
    return await service.retry(db, endpoint, delivery_id, state.clock.now())


@router.post(
    ONE + "/replay",
    status_code=202,
    summary="Send again every event of a time range this endpoint has not received",
)
async def replay(
    ctx: WebhooksWrite, endpoint_id: uuid.UUID, body: Replay, db: DbSession, state: State
) -> Replayed:
    endpoint = await service.get_endpoint(db, ctx, endpoint_id)
    return Replayed(replayed=await service.replay(db, endpoint, body, state.clock.now()))


@router.post(ONE + "/test", status_code=202, summary="Send a webhook.test event to this endpoint")
async def send_test(
    ctx: WebhooksWrite, endpoint_id: uuid.UUID, db: DbSession, state: State
) -> DeliveryOut:
    endpoint = await service.get_endpoint(db, ctx, endpoint_id)
    return await service.send_test(db, endpoint, state.clock.now())
