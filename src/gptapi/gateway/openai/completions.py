"""POST /v1/completions."""

from __future__ import annotations

from typing import Any

from gptapi.gateway.catalog import CatalogModel
from gptapi.gateway.openai.fanout import split_generations
from gptapi.gateway.openai.plan import (
    TEMPLATE_OVERHEAD_TOKENS,
    Plan,
    resolve_max_tokens,
    split_prompts,
    upstream_payload,
)
from gptapi.gateway.openai.protocol import CompletionRequest, parse


class CompletionSurface:
    endpoint = "completions"
    path = "/v1/completions"
    kind = "chat"

    def plan(
        self, body: dict[str, Any], model: CatalogModel, *, body_size: int, output_cap: int
    ) -> Plan:
        request = parse(CompletionRequest, body)
        max_tokens = resolve_max_tokens(request.max_tokens, output_cap, "max_tokens")
        payload = upstream_payload(body, max_tokens, stream=request.stream)
        texts, token_count, prompts = split_prompts(request.prompt)
        return Plan(
            endpoint=self.endpoint,
            path=self.path,
            model=model,
            requested_model=request.model,
            stream=request.stream,
            include_usage=bool(request.stream_options and request.stream_options.include_usage),
            prompt_estimate=body_size + TEMPLATE_OVERHEAD_TOKENS,
            max_output=max_tokens * request.n * prompts,
            payload=payload,
            prompt_texts=texts,
            prompt_token_count=token_count,
            parts=split_generations(
                payload, _prompt_list(request.prompt), request.n, stream=request.stream
            ),
        )


def _prompt_list(prompt: str | list[str] | list[int] | list[list[int]]) -> list[Any]:
    """The request's prompts one by one (a flat token array is one prompt)."""
    if isinstance(prompt, str) or all(isinstance(p, int) for p in prompt):
        return [prompt]
    return list(prompt)
