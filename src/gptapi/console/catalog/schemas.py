"""The model descriptions the console sends."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from gptapi.console.status.schemas import StatusValue
from gptapi.gateway.catalog import PriceUnit

Capability = Literal[
    "chat",
    "completions",
    "streaming",
    "tools",
    "json_schema",
    "embeddings",
    "rerank",
    "image_generation",
    "speech",
    "transcription",
]


class ModelPricing(BaseModel):
    """USD per `unit`: 1M tokens, 1M characters (speech, no output price: 0), an audio
    minute (transcription, billed per second; no output price: 0) or an image (`per_image`,
    `per_image_by_size`; no token prices: 0). A cached-input price joins these once the
    catalog has one."""

    currency: Literal["USD"] = "USD"
    unit: PriceUnit = "1M tokens"
    input: Decimal
    output: Decimal
    per_image: Decimal | None = Field(
        default=None, description="Image models: one image (of any size it is not priced by)."
    )
    per_image_by_size: dict[str, Decimal] = Field(
        default_factory=dict, description="Image models priced by size: one image of each."
    )


class ModelInfo(BaseModel):
    id: str = Field(description="What to send as `model`.")
    name: str
    type: str
    description: str
    owned_by: Literal["platform", "organization"] = Field(
        description="A platform model, or one of the organisation's own deployments."
    )
    endpoint: str = Field(description="The /v1 path that serves it.")
    context_length: int | None = Field(description="Tokens per request; null while unknown.")
    capabilities: list[Capability]
    pricing: ModelPricing
    status: StatusValue
    latency_ms: int | None = Field(description="Latest health probe; null while unmeasured.")


class ModelList(BaseModel):
    data: list[ModelInfo]
