"""Upstream servers, as `gptapi admin servers` manages them, with this process's live view.

Changes land in the `servers` table, which every gateway re-reads every
`server_sync_seconds`; the process that served the change syncs at once.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.admin import service as admin_service
from gptapi.admin.service import AdminError
from gptapi.console import audit
from gptapi.console.deps import Viewer
from gptapi.console.errors import bad_request
from gptapi.console.operator.schemas import ServerCreate, ServerHealth, ServerOut
from gptapi.console.rows import get_or_404
from gptapi.gateway.upstream.registry import UpstreamRegistry
from gptapi.models import Server


def server_out(server: Server, registry: UpstreamRegistry | None) -> ServerOut:
    live = None
    if registry is not None:
        live = next((s for s in registry.servers if s.base_url == server.base_url), None)
    health = None
    if live is not None and server.model_name in live.pools:
        health = ServerHealth(
            healthy=live.healthy,
            in_flight=live.in_flight,
            slots=live.slots,
            n_ctx=live.n_ctx,
            consecutive_failures=live.consecutive_failures,
            last_error=live.last_error,
        )
    return ServerOut(
        id=server.id,
        model=server.model_name,
        base_url=server.base_url,
        state=server.state,
        source=server.source,
        created_at=server.created_at,
        health=health,
    )


async def list_servers(db: AsyncSession, registry: UpstreamRegistry | None) -> list[ServerOut]:
    return [server_out(row, registry) for row in await admin_service.list_servers(db)]


async def find_server(db: AsyncSession, server_id: int) -> Server:
    return await get_or_404(db, Server, server_id, "server")


def _record(db: AsyncSession, admin: Viewer, action: str, server: Server) -> None:
    audit.record_operator_change(
        db,
        admin,
        action,
        target_type="server",
        target_id=server.id,
        data={"model": server.model_name, "base_url": server.base_url},
    )


async def add_server(db: AsyncSession, body: ServerCreate, admin: Viewer) -> Server:
    try:
        server = await admin_service.add_server(db, body.model, str(body.base_url), body.api_key)
    except AdminError as exc:
        raise bad_request(str(exc), code="invalid_server") from None
    _record(db, admin, "server.create", server)
    return server


async def set_state(db: AsyncSession, server_id: int, state: str, admin: Viewer) -> Server:
    server = await find_server(db, server_id)
    if server.state != state:
        server.state = state
        _record(db, admin, "server.drain" if state == "draining" else "server.undrain", server)
    return server


async def remove_server(db: AsyncSession, server_id: int, admin: Viewer) -> None:
    server = await find_server(db, server_id)
    _record(db, admin, "server.delete", server)
    await db.delete(server)
