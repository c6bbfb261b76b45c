"""What the console says about each model: prices, context, what it can do, and how it is
doing right now. One description for the public price list, the Models page and the
playground's model picker, so a new kind of model (an organisation's own deployment) is
added in one place: `models_for`."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.console.catalog.schemas import ModelInfo, ModelPricing
from gptapi.console.status import repository as status
from gptapi.gateway.catalog import CatalogModel, ModelCatalog
from gptapi.gateway.upstream.registry import UpstreamRegistry

# What each kind of model answers; llama.cpp's chat endpoint takes tools and JSON schemas.
CAPABILITIES = {
    "chat": ["chat", "completions", "streaming", "tools", "json_schema"],
    "embedding": ["embeddings"],
    "rerank": ["rerank"],
    "image": ["image_generation"],
    "speech": ["speech"],
    "transcription": ["transcription"],
}
ENDPOINTS = {
    "chat": "/v1/chat/completions",
    "embedding": "/v1/embeddings",
    "rerank": "/v1/rerank",
    "image": "/v1/images/generations",
    "speech": "/v1/audio/speech",
    "transcription": "/v1/audio/transcriptions",
}


def _describe(
    model: CatalogModel, registry: UpstreamRegistry, health: dict[str, tuple[str, int | None]]
) -> ModelInfo:
    pool = registry.pool(model.internal_name)
    state, latency = health.get(model.internal_name, (None, None))
    if pool is None or not pool.serving:
        state = "major_outage"
    return ModelInfo(
        id=model.internal_name,
        name=model.name,
        type=model.kind,
        description=model.description,
        owned_by="platform",
        endpoint=ENDPOINTS.get(model.kind, "/v1/chat/completions"),
        context_length=pool.context_length if pool is not None else None,
        capabilities=CAPABILITIES.get(model.kind, []),
        pricing=_pricing(model),
        status=state or "operational",
        latency_ms=latency,
    )


def _pricing(model: CatalogModel) -> ModelPricing:
    price = model.shown_price()
    return ModelPricing(
        unit=price.unit,
        input=price.input or Decimal(0),
        output=price.output or Decimal(0),
        per_image=price.per_image,
        per_image_by_size=dict(price.by_size),
    )


async def _health(session: AsyncSession) -> dict[str, tuple[str, int | None]]:
    """Each model's state and latency as the status monitor last measured them."""
    found = {}
    for service in await status.active_services(session):
        if service.key.startswith("model:"):
            found[service.key.removeprefix("model:")] = (service.status, service.latency_ms)
    return found


async def public_models(
    session: AsyncSession, catalog: ModelCatalog, registry: UpstreamRegistry
) -> list[ModelInfo]:
    health = await _health(session)
    return [_describe(model, registry, health) for model in catalog.all()]


async def models_for(
    session: AsyncSession,
    organization_id: uuid.UUID,
    catalog: ModelCatalog,
    registry: UpstreamRegistry,
) -> list[ModelInfo]:
    """Every model this organisation may call: the platform's, then (once deployments
    exist) its own."""
    del organization_id  # the platform's models are everyone's; deployments will use it
    return await public_models(session, catalog, registry)
