"""The models: the public price list (landing page, Models page, documentation) and the
models an organisation may call (the playground)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from gptapi.console.catalog import service
from gptapi.console.catalog.schemas import ModelList
from gptapi.console.deps import DbSession, OrgContext, require
from gptapi.console.permissions import Capability

router = APIRouter(tags=["catalog"])

Member = Annotated[OrgContext, Depends(require(Capability.ORG_READ))]


@router.get("/models", summary="Models, prices, context, capabilities and health (public)")
async def list_models(request: Request, db: DbSession) -> ModelList:
    serving = request.app.state.serving
    return ModelList(data=await service.public_models(db, serving.catalog, serving.registry))


@router.get("/orgs/{org_id}/models", summary="The models this organization may call")
async def organization_models(request: Request, ctx: Member, db: DbSession) -> ModelList:
    serving = request.app.state.serving
    models = await service.models_for(db, ctx.organization.id, serving.catalog, serving.registry)
    return ModelList(data=models)
