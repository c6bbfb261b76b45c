"""The /v1 endpoints. Thin: each hands its surface to the shared pipeline.

The three POST surfaces are dispatched by `OpenAIDispatch` straight from the middleware
stack, and the model listings are plain Starlette routes: the hot path needs none of
FastAPI's routing and dependency machinery, which is a measurable share of a proxied
request. The API they implement is OpenAI's, documented there and in the README.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from gptapi.gateway import errors
from gptapi.gateway.catalog import CatalogModel
from gptapi.gateway.errors import OpenAIError
from gptapi.gateway.openai.chat import ChatSurface
from gptapi.gateway.openai.completions import CompletionSurface
from gptapi.gateway.openai.embeddings import EmbeddingSurface
from gptapi.gateway.openai.plan import Surface
from gptapi.gateway.openai.serving import OpenAIServing
from gptapi.kit.money import millis_to_decimal


def _serving(request: Request) -> OpenAIServing:
    serving: OpenAIServing = request.app.state.serving
    return serving


_SURFACES: dict[str, Surface] = {
    "/v1/chat/completions": ChatSurface(),
    "/v1/completions": CompletionSurface(),
    "/v1/embeddings": EmbeddingSurface(),
}


class OpenAIDispatch:
    """ASGI middleware: POSTs to the /v1 surfaces go to the pipeline; the rest to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        surface = (
            _SURFACES.get(scope["path"])
            if scope["type"] == "http" and scope["method"] == "POST"
            else None
        )
        if surface is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await _serving(request).handle(request, surface)
        except OpenAIError as exc:
            response = exc.response()
        await response(scope, receive, send)


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


async def list_models(request: Request) -> Response:
    serving = _serving(request)
    context = await serving.authenticate(request)
    data = [_model_object(m) for m in serving.catalog.all() if context.may_use(m.internal_name)]
    return Response(orjson.dumps({"object": "list", "data": data}), media_type="application/json")


async def retrieve_model(request: Request) -> Response:
    serving = _serving(request)
    context = await serving.authenticate(request)
    model_id: str = request.path_params["model_id"]
    model = serving.catalog.get(model_id)
    if model is None or not context.may_use(model_id):
        raise errors.model_not_found(model_id)
    return Response(orjson.dumps(_model_object(model)), media_type="application/json")


routes: list[BaseRoute] = [
    Route("/v1/models", list_models, methods=["GET"]),
    Route("/v1/models/{model_id:path}", retrieve_model, methods=["GET"]),
]
