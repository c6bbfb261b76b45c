"""Tier 1, the model catalog: deployable templates with a posted hourly price that includes
the GPU and the storage listed (billed per second, one-minute minimum per start).

The entries live in the database (`compute_catalog_entries`, seeded by migration 0020 and
edited by operators); `gptapi.compute.price_list` loads them. LLMs and embedding models run
the official llama.cpp server image with the model fetched from Hugging Face; `local`
entries run on this machine through the local provider.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from gptapi.models import ComputeCatalogEntry


class Category(StrEnum):
    CHAT = "chat"
    EMBEDDINGS = "embeddings"
    SPEECH_TO_TEXT = "speech_to_text"
    TEXT_TO_SPEECH = "text_to_speech"
    IMAGE = "image"


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    slug: str
    name: str
    category: Category
    provider: str  # "local" | "runpod"
    gpu_type: str  # "CPU" for the local llama.cpp
    gpu_count: int
    price_nanos_per_hour: int  # GPU and the included storage, in one price
    storage_gb: int
    description: str
    model: str | None = None  # what the local provider serves
    image: str | None = None  # the container a container provider runs
    args: tuple[str, ...] = field(default_factory=tuple)
    enabled: bool = True  # a disabled entry is hidden and cannot be deployed

    @classmethod
    def of(cls, row: ComputeCatalogEntry) -> CatalogEntry:
        return cls(
            slug=row.slug,
            name=row.name,
            category=Category(row.category),
            provider=row.provider,
            gpu_type=row.gpu_type,
            gpu_count=row.gpu_count,
            price_nanos_per_hour=row.price_nanos_per_hour,
            storage_gb=row.storage_gb,
            description=row.description,
            model=row.model,
            image=row.image,
            args=tuple(row.args),
            enabled=row.enabled,
        )
