"""/api/orgs/{org_id}/playground: what the browser playground needs to call /v1."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from gptapi.console.deps import DbSession, OrgContext, State, require
from gptapi.console.permissions import Capability
from gptapi.console.playground import service
from gptapi.console.playground.schemas import PlaygroundKey

router = APIRouter(prefix="/orgs/{org_id}/playground", tags=["playground"])

# The browser's own key: a script has its API key already.
Caller = Annotated[OrgContext, Depends(require(Capability.KEYS_WRITE, people_only=True))]


@router.post(
    "/key",
    status_code=201,
    summary="A short-lived key for the playground (the previous one stops working)",
)
async def playground_key(ctx: Caller, db: DbSession, state: State) -> PlaygroundKey:
    return await service.issue_key(db, ctx, state.clock.now())
