"""The /v1 endpoints. Thin: each hands its surface to the shared pipeline.

The POST surfaces are served by `OpenAIPipeline`, which the application calls before
FastAPI's middleware stack and routing (see `gptapi.app.Application`), and the model
listings are plain Starlette routes: the hot path needs none of FastAPI's routing,
dependency, error and body-limit layers, which were a fifth of a proxied request. The API
they implement is OpenAI's, documented there and in the README.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from gptapi.gateway import errors
from gptapi.gateway.catalog import CatalogModel
from gptapi.gateway.errors import OpenAIError
from gptapi.gateway.openai.responses import response_routes
from gptapi.gateway.openai.serving import SURFACE_PATHS, OpenAIServing
from gptapi.gateway.upstream.registry import Pool

log = logging.getLogger(__name__)


def _serving(request: Request) -> OpenAIServing:
    serving: OpenAIServing = request.app.state.serving
    return serving


class OpenAIPipeline:
    """ASGI app for POSTs to the /v1 surfaces (`SURFACE_PATHS`); any error becomes an
    OpenAI-shaped answer, an unexpected one a logged 500."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            serving = _serving(request)
            response = await serving.handle(request, serving.surfaces[scope["path"]])
        except OpenAIError as exc:
            response = exc.response()
        except Exception:
            log.exception("unhandled error on POST %s", scope["path"])
            response = errors.internal_error().response()
        await response(scope, receive, send)


__all__ = ["SURFACE_PATHS", "OpenAIPipeline", "routes"]


def _model_object(model: CatalogModel, pool: Pool | None, owner: uuid.UUID) -> dict[str, Any]:
    """OpenAI's model object, with what a client needs to choose one beside it: what the
    model can do, its context length (per request, as the servers report it) and prices.
    `owner` is the caller's organisation, the owner of any private model it is shown."""
    chat = model.kind == "chat"
    modalities = pool.modalities if pool else frozenset()
    extra: dict[str, Any] = {}
    if model.private:
        # Ready, or a serverless deployment at zero (idle) or waking that requests wait for.
        extra["deployment"] = {"id": model.internal_name, "state": model.deployment_state}
    return {
        # A deployment is called by its name; it belongs to the organisation.
        "id": model.name if model.private else model.internal_name,
        "object": "model",
        "created": int(model.created_at.timestamp()),
        "owned_by": str(owner) if model.private else "gpt-api",
        **extra,
        "name": model.name,
        "type": model.kind,
        "description": model.description,
        "context_length": pool.context_length if pool else None,
        "capabilities": {
            "chat": chat,
            "completions": chat,
            # Tool calls are constrained by the gateway, so every chat model has them.
            "tools": chat,
            "structured_outputs": chat,
            "vision": chat and "vision" in modalities,
            "audio": chat and "audio" in modalities,
            "embeddings": model.kind == "embedding",
            "rerank": model.kind == "rerank",
            "image_generation": model.kind == "image",
            "speech": model.kind == "speech",
            "transcription": model.kind == "transcription",
        },
        "pricing": _pricing(model),
    }


def _pricing(model: CatalogModel) -> dict[str, Any]:
    price = model.shown_price()
    shown: dict[str, Any] = {"currency": "USD", "unit": price.unit}
    if price.input is not None:
        shown["input"] = str(price.input)
    if price.output is not None:
        shown["output"] = str(price.output)
    if price.unit == "image":
        # Per image; by size when the model is priced so (and then only those sizes).
        shown["per_image"] = str(price.per_image)
        shown["per_image_by_size"] = {size: str(usd) for size, usd in price.by_size.items()}
    return shown


async def list_models(request: Request) -> Response:
    serving = _serving(request)
    context = await serving.authenticate(request)
    models = [*serving.catalog.private_for(context.organization_id), *serving.catalog.all()]
    data = [
        _model_object(m, serving.registry.pool(m.internal_name), context.organization_id)
        for m in models
        if context.may_use(m.internal_name)
    ]
    return Response(orjson.dumps({"object": "list", "data": data}), media_type="application/json")


async def retrieve_model(request: Request) -> Response:
    serving = _serving(request)
    context = await serving.authenticate(request)
    model_id: str = request.path_params["model_id"]
    model = serving.catalog.listed(model_id, context.organization_id)
    if model is None or not context.may_use(model.internal_name):
        raise errors.model_not_found(model_id)
    pool = serving.registry.pool(model.internal_name)
    shown = _model_object(model, pool, context.organization_id)
    return Response(orjson.dumps(shown), media_type="application/json")


async def unknown_url(request: Request) -> Response:
    return errors.unknown_url(request.method, request.url.path).response()


routes: list[BaseRoute] = [
    Route("/v1/models", list_models, methods=["GET"]),
    Route("/v1/models/{model_id:path}", retrieve_model, methods=["GET"]),
    *response_routes,
    # Last: every other path and method under /v1 (a known path with another method too)
    # is OpenAI's 404, never the console's page or a 405.
    Route("/v1", unknown_url, methods=None),
    Route("/v1/{path:path}", unknown_url, methods=None),
]
