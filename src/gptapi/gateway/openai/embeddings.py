"""POST /v1/embeddings."""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import Callable
from typing import Any

from gptapi.gateway.catalog import CatalogModel
from gptapi.gateway.errors import invalid_request
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
        payload = body
        finish = None
        if request.dimensions is not None:
            # Shortened here: the full vectors come up as floats, whatever the client asked.
            payload = {k: v for k, v in body.items() if k != "dimensions"}
            payload["encoding_format"] = "float"
            finish = _shorten(request.dimensions, request.encoding_format == "base64")
        return Plan(
            endpoint=self.endpoint,
            path=self.path,
            model=model,
            requested_model=request.model,
            prompt_estimate=body_size + PER_INPUT_OVERHEAD_TOKENS * inputs,
            payload=payload,
            prompt_texts=texts,
            prompt_token_count=token_count,
            finish=finish,
            dimensions=request.dimensions,
        )


def check_dimensions(dimensions: int, native: int | None, model: str) -> None:
    """Refuse, before anything is sent, a size the model's vectors cannot be cut to."""
    if native is None:
        raise invalid_request(
            f"'dimensions' is not supported for `{model}`: its servers do not report their "
            "embedding size.",
            param="dimensions",
            code="unsupported_parameter",
        )
    if dimensions > native:
        raise invalid_request(
            f"Invalid value for 'dimensions': `{model}` makes vectors of {native} "
            f"dimensions, so at most {native} (got {dimensions}).",
            param="dimensions",
            code="invalid_value",
        )


def _shorten(dimensions: int, as_base64: bool) -> Callable[[dict[str, Any]], None]:
    """Each vector cut to its first `dimensions` values and scaled back to unit length, as
    OpenAI shortens its own. (How much meaning a prefix keeps depends on the model: those
    trained for it, Matryoshka-style, lose little.)"""

    def shorten(data: dict[str, Any]) -> None:
        for item in data.get("data") or ():
            vector = [float(x) for x in item["embedding"][:dimensions]]
            norm = math.sqrt(sum(x * x for x in vector))
            vector = [x / norm for x in vector] if norm > 0 else vector
            if as_base64:
                packed = struct.pack(f"<{len(vector)}f", *vector)
                item["embedding"] = base64.b64encode(packed).decode()
            else:
                item["embedding"] = vector

    return shorten
