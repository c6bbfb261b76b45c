"""The /v1 routes. Thin: each hands its surface to the shared pipeline."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from gptapi.gateway import errors
from gptapi.gateway.catalog import CatalogModel
from gptapi.gateway.openai.chat import ChatSurface
from gptapi.gateway.openai.completions import CompletionSurface
from gptapi.gateway.openai.embeddings import EmbeddingSurface
from gptapi.gateway.openai.serving import OpenAIServing
from gptapi.kit.money import millis_to_decimal

router = APIRouter(prefix="/v1", tags=["OpenAI-compatible API"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid request"},
    401: {"description": "Missing or invalid API key"},
    404: {"description": "Unknown model"},
    413: {"description": "Body too large"},
    429: {"description": "Rate limited, or out of credit (`insufficient_quota`)"},
    502: {"description": "Upstream failure"},
    503: {"description": "No capacity for the model right now"},
}

_CHAT, _COMPLETIONS, _EMBEDDINGS = ChatSurface(), CompletionSurface(), EmbeddingSurface()


def _serving(request: Request) -> OpenAIServing:
    serving: OpenAIServing = request.app.state.serving
    return serving


@router.post("/chat/completions", responses=_ERRORS, summary="Create a chat completion")
async def chat_completions(request: Request) -> Response:
    return await _serving(request).handle(request, _CHAT)


@router.post("/completions", responses=_ERRORS, summary="Create a text completion")
async def completions(request: Request) -> Response:
    return await _serving(request).handle(request, _COMPLETIONS)


@router.post("/embeddings", responses=_ERRORS, summary="Create embeddings")
async def embeddings(request: Request) -> Response:
    return await _serving(request).handle(request, _EMBEDDINGS)


def _model_object(model: CatalogModel) -> dict[str, Any]:
    return {
        "id": model.internal_name,
        "object": "model",
        "created": int(model.created_at.timestamp()),
        "owned_by": "gpt-api",
        "name": model.name,
        "type": model.kind,
        "description": model.description,
        "pricing": {
            "currency": "USD",
            "unit": "1M tokens",
            "input": str(millis_to_decimal(model.input_price)),
            "output": str(millis_to_decimal(model.output_price)),
        },
    }


@router.get("/models", responses=_ERRORS, summary="List models with their prices")
async def list_models(request: Request) -> Response:
    serving = _serving(request)
    await serving.authenticate(request)
    data = [_model_object(m) for m in serving.catalog.all()]
    return Response(orjson.dumps({"object": "list", "data": data}), media_type="application/json")


@router.get("/models/{model_id}", responses=_ERRORS, summary="Retrieve a model")
async def retrieve_model(model_id: str, request: Request) -> Response:
    serving = _serving(request)
    await serving.authenticate(request)
    model = serving.catalog.get(model_id)
    if model is None:
        raise errors.model_not_found(model_id)
    return Response(orjson.dumps(_model_object(model)), media_type="application/json")
