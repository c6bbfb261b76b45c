"""/api/admin/…: platform operators only (everyone else gets 403)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Header, Query, Request, Response

from gptapi.console import audit
from gptapi.console.deps import DbSession, PlatformAdmin, State, platform_admin
from gptapi.console.fields import RowId
from gptapi.console.operator import accounts, pricing, servers
from gptapi.console.operator.schemas import (
    AuditEntryOut,
    AuditPage,
    CreditGrant,
    CreditGrantOut,
    ModelCreate,
    ModelOut,
    ModelUpdate,
    OrganizationOut,
    OrganizationPage,
    PriceChange,
    ServerCreate,
    ServerOut,
    ServerUpdate,
    UserOut,
    UserPage,
)
from gptapi.gateway import announcements
from gptapi.gateway.upstream.registry import UpstreamRegistry

router = APIRouter(prefix="/admin", tags=["operator"], dependencies=[Depends(platform_admin)])

Cursor = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=200)]
Search = Annotated[str | None, Query(max_length=200)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=150)]


def _runtime(request: Request) -> Any:
    return getattr(request.app.state, "runtime", None)


def _registry(request: Request) -> UpstreamRegistry | None:
    runtime = _runtime(request)
    return runtime.serving.registry if runtime is not None else None


def _refresh_catalog(request: Request, tasks: BackgroundTasks, db: DbSession) -> None:
    """This process's gateway sees the change at once (after the commit); every other
    process when the announcement reaches it (with Redis), else within its catalog refresh
    interval. Background tasks run, and announcements go, only once the change committed,
    so a refused change refreshes nothing."""
    announcements.catalog_changed(db)
    runtime = _runtime(request)
    if runtime is not None:
        tasks.add_task(runtime.serving.catalog.refresh)


def _sync_servers(request: Request, tasks: BackgroundTasks, db: DbSession) -> None:
    announcements.catalog_changed(db)
    runtime = _runtime(request)
    if runtime is not None:
        tasks.add_task(runtime.sync_servers)


RefreshesCatalog = Depends(_refresh_catalog)
SyncsServers = Depends(_sync_servers)


# ---------------------------------------------------------------- models and prices


@router.get("/models", summary="Every model, with its price now and its scheduled changes")
async def list_models(db: DbSession, state: State) -> list[ModelOut]:
    return await pricing.list_models(db, state.clock.now())


@router.post("/models", status_code=201, summary="Add a model", dependencies=[RefreshesCatalog])
async def create_model(
    body: ModelCreate,
    admin: PlatformAdmin,
    db: DbSession,
    state: State,
) -> ModelOut:
    model = await pricing.create_model(db, body, admin)
    return await pricing.describe(db, model, state.clock.now())


@router.get("/models/{model_id}", summary="One model and its price schedule")
async def get_model(model_id: RowId, db: DbSession, state: State) -> ModelOut:
    return await pricing.describe(db, await pricing.find_model(db, model_id), state.clock.now())


@router.patch(
    "/models/{model_id}",
    summary="Rename, describe, or (de)activate a model",
    dependencies=[RefreshesCatalog],
)
async def update_model(
    model_id: RowId,
    body: ModelUpdate,
    admin: PlatformAdmin,
    db: DbSession,
    state: State,
) -> ModelOut:
    model = await pricing.update_model(db, model_id, body, admin)
    return await pricing.describe(db, model, state.clock.now())


@router.post(
    "/models/{model_id}/prices",
    status_code=201,
    summary="Change a model's price from a moment on (now by default); past usage keeps its cost",
    dependencies=[RefreshesCatalog],
)
async def change_price(
    model_id: RowId,
    body: PriceChange,
    admin: PlatformAdmin,
    db: DbSession,
    state: State,
) -> ModelOut:
    now = state.clock.now()
    model = await pricing.schedule_price(db, model_id, body, admin, now)
    return await pricing.describe(db, model, now)


@router.delete(
    "/models/{model_id}/prices/{price_id}",
    summary="Withdraw a scheduled price change that is not yet in force",
    dependencies=[RefreshesCatalog],
)
async def cancel_price(
    model_id: RowId,
    price_id: RowId,
    admin: PlatformAdmin,
    db: DbSession,
    state: State,
) -> ModelOut:
    now = state.clock.now()
    model = await pricing.cancel_price(db, model_id, price_id, admin, now)
    return await pricing.describe(db, model, now)


# ---------------------------------------------------------------- upstream servers


@router.get("/servers", summary="Upstream servers, with live health where this process has it")
async def list_servers(db: DbSession, request: Request) -> list[ServerOut]:
    return await servers.list_servers(db, _registry(request))


@router.post(
    "/servers",
    status_code=201,
    summary="Add a server to a model's pool",
    dependencies=[SyncsServers],
)
async def add_server(
    body: ServerCreate,
    admin: PlatformAdmin,
    db: DbSession,
    request: Request,
) -> ServerOut:
    server = await servers.add_server(db, body, admin)
    return servers.server_out(server, _registry(request))


@router.patch(
    "/servers/{server_id}",
    summary="Drain a server (no new requests) or undrain it",
    dependencies=[SyncsServers],
)
async def update_server(
    server_id: RowId,
    body: ServerUpdate,
    admin: PlatformAdmin,
    db: DbSession,
    request: Request,
) -> ServerOut:
    server = await servers.set_state(db, server_id, body.state, admin)
    return servers.server_out(server, _registry(request))


@router.delete(
    "/servers/{server_id}",
    status_code=204,
    summary="Remove a server from its pool",
    dependencies=[SyncsServers],
)
async def remove_server(
    server_id: RowId,
    admin: PlatformAdmin,
    db: DbSession,
) -> Response:
    await servers.remove_server(db, server_id, admin)
    return Response(status_code=204)


# ---------------------------------------------------------------- users and organisations


@router.get("/users", summary="Users, newest first; `query` matches email or name")
async def list_users(
    db: DbSession, query: Search = None, cursor: Cursor = None, limit: Limit = 50
) -> UserPage:
    return await accounts.list_users(db, query, cursor, limit)


@router.post("/users/{user_id}/suspend", summary="Suspend a user: sessions end, keys stop")
async def suspend_user(user_id: uuid.UUID, admin: PlatformAdmin, db: DbSession) -> UserOut:
    return accounts.user_out(await accounts.set_user_active(db, user_id, False, admin))


@router.post("/users/{user_id}/unsuspend", summary="Lift a user's suspension")
async def unsuspend_user(user_id: uuid.UUID, admin: PlatformAdmin, db: DbSession) -> UserOut:
    return accounts.user_out(await accounts.set_user_active(db, user_id, True, admin))


@router.get("/orgs", summary="Organisations, newest first; `query` matches the name")
async def list_organizations(
    db: DbSession, query: Search = None, cursor: Cursor = None, limit: Limit = 50
) -> OrganizationPage:
    return await accounts.list_organizations(db, query, cursor, limit)


@router.post("/orgs/{org_id}/suspend", summary="Suspend an organisation: its keys stop")
async def suspend_organization(
    org_id: uuid.UUID, admin: PlatformAdmin, db: DbSession
) -> OrganizationOut:
    return accounts.organization_out(
        await accounts.set_organization_active(db, org_id, False, admin)
    )


@router.post("/orgs/{org_id}/unsuspend", summary="Lift an organisation's suspension")
async def unsuspend_organization(
    org_id: uuid.UUID, admin: PlatformAdmin, db: DbSession
) -> OrganizationOut:
    return accounts.organization_out(
        await accounts.set_organization_active(db, org_id, True, admin)
    )


@router.post(
    "/orgs/{org_id}/credit-grants",
    summary="Grant credit (or correct it with a negative amount); Idempotency-Key makes retries "
    "safe",
)
async def grant_credit(
    org_id: uuid.UUID,
    body: CreditGrant,
    admin: PlatformAdmin,
    db: DbSession,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CreditGrantOut:
    result = await accounts.grant_credit(
        db, org_id, body, idempotency_key or uuid.uuid4().hex, admin
    )
    response.status_code = 201 if result.applied else 200
    return result


# ---------------------------------------------------------------- audit log


@router.get("/audit-log", summary="Everything audited, newest first")
async def audit_log(
    db: DbSession,
    action: Annotated[str | None, Query(max_length=80)] = None,
    org_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
    limit: Limit = 50,
) -> AuditPage:
    where = audit.AuditFilter(action, org_id, actor_id)
    entries, next_cursor = await audit.page(db, where, cursor, limit, AuditEntryOut)
    return AuditPage(data=entries, next_cursor=next_cursor)
