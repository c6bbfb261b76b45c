"""POST /v1/chat/completions."""

from __future__ import annotations

from typing import Any

from gptapi.gateway.catalog import CatalogModel
from gptapi.gateway.openai.fanout import split_generations
from gptapi.gateway.openai.plan import (
    TEMPLATE_OVERHEAD_TOKENS,
    Plan,
    resolve_max_tokens,
    upstream_payload,
)
from gptapi.gateway.openai.protocol import ChatCompletionRequest, parse
from gptapi.gateway.openai.tools import constrain


class ChatSurface:
    endpoint = "chat.completions"
    path = "/v1/chat/completions"
    kind = "chat"

    def plan(
        self, body: dict[str, Any], model: CatalogModel, *, body_size: int, output_cap: int
    ) -> Plan:
        request = parse(ChatCompletionRequest, body)
        param = "max_completion_tokens" if request.max_completion_tokens else "max_tokens"
        max_tokens = resolve_max_tokens(
            request.max_completion_tokens or request.max_tokens, output_cap, param
        )
        payload, tools = constrain(
            request, upstream_payload(body, max_tokens, stream=request.stream)
        )
        include_usage = bool(request.stream_options and request.stream_options.include_usage)
        return Plan(
            endpoint=self.endpoint,
            path=self.path,
            model=model,
            requested_model=request.model,
            stream=request.stream,
            include_usage=include_usage,
            # Byte-level BPE never makes more tokens than bytes, so the body size bounds
            # the rendered messages, tools and schema.
            prompt_estimate=body_size + TEMPLATE_OVERHEAD_TOKENS,
            max_output=max_tokens * request.n,
            payload=payload,
            prompt_texts=[],
            prompt_token_count=0,
            parts=split_generations(payload, None, request.n),
            tools=tools,
        )
