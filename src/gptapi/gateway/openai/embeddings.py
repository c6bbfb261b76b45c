"""POST /v1/embeddings."""

from __future__ import annotations

from typing import Any

from gptapi.gateway.catalog import CatalogModel
from gptapi.gateway.openai.plan import Plan, split_prompts
from gptapi.gateway.openai.protocol import EmbeddingRequest, parse

# BOS/EOS and separators added per input.
PER_INPUT_OVERHEAD_TOKENS = 4


class EmbeddingSurface:
    endpoint = "embeddings"
    path = "/v1/embeddings"
    kind = "embedding"

    def plan(
        self, body: dict[str, Any], model: CatalogModel, *, body_size: int, output_cap: int
    ) -> Plan:
        request = parse(EmbeddingRequest, body)
        texts, token_count, inputs = split_prompts(request.input)
        return Plan(
            endpoint=self.endpoint,
            path=self.path,
            model=model,
            requested_model=request.model,
            stream=False,
            include_usage=False,
            prompt_estimate=body_size + PER_INPUT_OVERHEAD_TOKENS * inputs,
            max_output=0,
            payload=body,
            prompt_texts=texts,
            prompt_token_count=token_count,
        )
