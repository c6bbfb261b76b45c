"""/api/orgs/{org_id}/keys: the organisation's API keys."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from gptapi.console.deps import ConfirmedViewer, DbSession, OrgContext, State, require
from gptapi.console.keys import service
from gptapi.console.keys.schemas import KeyCreate, KeyCreated, KeyOut, KeyUpdate
from gptapi.console.permissions import Capability

router = APIRouter(prefix="/orgs/{org_id}/keys", tags=["api keys"])

KeysRead = Annotated[OrgContext, Depends(require(Capability.KEYS_READ))]
KeysWrite = Annotated[OrgContext, Depends(require(Capability.KEYS_WRITE))]


@router.get("", summary="The organization's API keys (secrets are never shown again)")
async def list_keys(ctx: KeysRead, db: DbSession, state: State) -> list[KeyOut]:
    return await service.list_keys(db, ctx, state.clock.now())


@router.post("", status_code=201, summary="Create an API key; the response holds the secret, once")
async def create_key(ctx: KeysWrite, body: KeyCreate, db: DbSession, state: State) -> KeyCreated:
    return await service.create(db, ctx, body, state.clock.now())


@router.get("/{key_id}", summary="One API key")
async def get_key(ctx: KeysRead, key_id: uuid.UUID, db: DbSession, state: State) -> KeyOut:
    return await service.key_out(db, ctx, key_id, state.clock.now())


@router.patch("/{key_id}", summary="Rename a key or change its limits, spend cap, models or expiry")
async def update_key(
    ctx: KeysWrite, key_id: uuid.UUID, body: KeyUpdate, db: DbSession, state: State
) -> KeyOut:
    key = await service.get_key(db, ctx, key_id)
    await service.update(db, ctx, key, body, state.clock.now())
    return await service.key_out(db, ctx, key_id, state.clock.now())


@router.post(
    "/{key_id}/revoke",
    summary="Revoke a key (needs a recent confirmation); the gateway refuses it within seconds",
)
async def revoke_key(
    ctx: KeysWrite, key_id: uuid.UUID, _: ConfirmedViewer, db: DbSession, state: State
) -> KeyOut:
    key = await service.get_key(db, ctx, key_id)
    await service.revoke(db, ctx, key, state.clock.now(), reason="revoked from the console")
    return await service.key_out(db, ctx, key_id, state.clock.now())
