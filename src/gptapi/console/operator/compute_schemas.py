"""Bodies of the operator's GPU cloud catalog and price list endpoints."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from gptapi.compute.catalog import Category
from gptapi.console.compute.schemas import CatalogEntryOut, GpuOut, Image
from gptapi.console.fields import UsdAmount

HourlyPrice = Annotated[Decimal, UsdAmount(integer_digits=4, places=4)]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,99}$")]
Provider = Literal["local", "runpod"]
Arg = Annotated[str, Field(max_length=500, pattern=r"^[^\x00-\x1f\x7f]*$")]


class CatalogEntryChange(BaseModel):
    """Only the fields sent change (`model` and `image` may be null)."""

    model_config = ConfigDict(extra="forbid")

    name: str | SkipJsonSchema[None] = Field(default=None, min_length=1, max_length=200)
    category: Category | SkipJsonSchema[None] = None
    provider: Provider | SkipJsonSchema[None] = None
    gpu_type: str | SkipJsonSchema[None] = Field(default=None, min_length=1, max_length=100)
    gpu_count: int | SkipJsonSchema[None] = Field(default=None, ge=0, le=8)
    price_per_hour: HourlyPrice | SkipJsonSchema[None] = Field(
        default=None, description="USD per hour, GPU and the included storage."
    )
    storage_gb: int | SkipJsonSchema[None] = Field(default=None, ge=0, le=2000)
    description: str | SkipJsonSchema[None] = Field(default=None, max_length=500)
    model: str | None = Field(default=None, max_length=200, description="Local provider.")
    image: Image | None = Field(default=None, description="Container providers.")
    args: list[Arg] | SkipJsonSchema[None] = Field(default=None, max_length=64)
    enabled: bool | SkipJsonSchema[None] = Field(
        default=None, description="Disabled: hidden and not deployable; running ones go on."
    )


class CatalogEntryCreate(CatalogEntryChange):
    slug: Slug
    name: str = Field(min_length=1, max_length=200)
    category: Category
    provider: Provider
    gpu_type: str = Field(min_length=1, max_length=100)
    price_per_hour: HourlyPrice


class OperatorCatalogEntry(CatalogEntryOut):
    enabled: bool


class GpuPriceSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    memory_gb: int = Field(ge=1, le=4096)
    community_per_hour: HourlyPrice
    secure_per_hour: HourlyPrice
    enabled: bool = True


class OperatorGpu(GpuOut):
    community_nanos_per_hour: int
    secure_nanos_per_hour: int
    enabled: bool


class StoragePriceSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    per_gb_hour: Annotated[Decimal, UsdAmount(integer_digits=2, places=9)]


class PriceListOut(BaseModel):
    gpus: list[OperatorGpu]
    storage_per_gb_hour: str
    storage_nanos_per_gb_hour: int
