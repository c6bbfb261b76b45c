"""Operator changes to the GPU cloud's catalog and price list, shared by the operator API and
`gptapi admin`. Each change is one row written in the caller's transaction; the API's
snapshot (`price_list`) picks it up on its next refresh.

A price applies from the change on: deployments created or started from stopped afterwards
take the new price, one already running keeps the price it started with until it stops.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.compute.catalog import Category
from gptapi.models import ComputeCatalogEntry, ComputeRate, GpuPriceRow
from gptapi.models.compute_rate import STORAGE_PER_GB_HOUR

PROVIDERS = ("local", "runpod")
EDITABLE = (
    "name",
    "category",
    "provider",
    "gpu_type",
    "gpu_count",
    "price_nanos_per_hour",
    "storage_gb",
    "description",
    "model",
    "image",
    "args",
    "enabled",
)


@dataclass
class CatalogError(Exception):
    """A change the catalog cannot take, with the field at fault."""

    message: str
    param: str
    conflict: bool = False

    def __str__(self) -> str:
        return self.message


async def add_entry(
    session: AsyncSession, slug: str, fields: dict[str, Any], now: datetime
) -> ComputeCatalogEntry:
    if await session.get(ComputeCatalogEntry, slug) is not None:
        raise CatalogError(f"A catalog entry {slug!r} exists already.", "slug", conflict=True)
    missing = [f for f in ("name", "category", "provider", "gpu_type") if f not in fields]
    missing += [f for f in ("price_nanos_per_hour",) if f not in fields]
    if missing:
        raise CatalogError(f"{missing[0]} is required for a new entry.", missing[0])
    row = ComputeCatalogEntry(
        slug=slug,
        gpu_count=1,
        storage_gb=0,
        description="",
        args=[],
        enabled=True,
        position=await _next_position(session),
        updated_at=now,
    )
    _apply(row, fields)
    session.add(row)
    await session.flush()
    return row


async def change_entry(
    session: AsyncSession, slug: str, fields: dict[str, Any], now: datetime
) -> tuple[ComputeCatalogEntry, dict[str, Any]]:
    """The entry and what changed ({field: {"from", "to"}})."""
    row = await session.get(ComputeCatalogEntry, slug)
    if row is None:
        raise CatalogError(f"No catalog entry {slug!r}.", "slug")
    before = {field: getattr(row, field) for field in EDITABLE}
    _apply(row, fields)
    changed = {
        f: {"from": before[f], "to": getattr(row, f)}
        for f in EDITABLE
        if before[f] != getattr(row, f)
    }
    if changed:
        row.updated_at = now
    return row, changed


def _apply(row: ComputeCatalogEntry, fields: dict[str, Any]) -> None:
    for field, value in fields.items():
        if field not in EDITABLE:
            raise CatalogError(f"{field} cannot be changed.", field)
        if value is None and field not in ("model", "image"):
            raise CatalogError(f"{field} cannot be null.", field)
        setattr(row, field, list(value) if field == "args" else value)
    if row.category not in {c.value for c in Category}:
        raise CatalogError(f"No category {row.category!r}.", "category")
    if row.provider not in PROVIDERS:
        raise CatalogError(f"No provider {row.provider!r}; one of {PROVIDERS}.", "provider")
    if row.provider == "local" and (row.model is None or row.image is not None):
        # The local provider runs llama.cpp models, never containers.
        raise CatalogError("A local entry names a model and no image.", "model")
    if row.price_nanos_per_hour <= 0:
        raise CatalogError("The price must be above zero.", "price_per_hour")


async def _next_position(session: AsyncSession) -> int:
    highest = await session.scalar(select(func.max(ComputeCatalogEntry.position)))
    return (highest if highest is not None else -1) + 1


async def set_gpu_price(
    session: AsyncSession,
    gpu_type: str,
    *,
    memory_gb: int,
    community_nanos_per_hour: int,
    secure_nanos_per_hour: int,
    enabled: bool,
    now: datetime,
) -> tuple[GpuPriceRow, dict[str, Any]]:
    """Add a GPU type or replace its prices; the row and what changed."""
    if community_nanos_per_hour <= 0 or secure_nanos_per_hour <= 0:
        raise CatalogError("GPU prices must be above zero.", "community_per_hour")
    row = await session.get(GpuPriceRow, gpu_type)
    values = {
        "memory_gb": memory_gb,
        "community_nanos_per_hour": community_nanos_per_hour,
        "secure_nanos_per_hour": secure_nanos_per_hour,
        "enabled": enabled,
    }
    if row is None:
        row = GpuPriceRow(gpu_type=gpu_type, updated_at=now, **values)
        session.add(row)
        return row, {f: {"from": None, "to": v} for f, v in values.items()}
    changed = {
        f: {"from": getattr(row, f), "to": v} for f, v in values.items() if getattr(row, f) != v
    }
    for field, value in values.items():
        setattr(row, field, value)
    if changed:
        row.updated_at = now
    return row, changed


async def set_storage_price(session: AsyncSession, nanos_per_gb_hour: int, now: datetime) -> int:
    """The storage price per GB-hour; returns the previous one."""
    if nanos_per_gb_hour < 0:
        raise CatalogError("The storage price cannot be negative.", "per_gb_hour")
    row = await session.get(ComputeRate, STORAGE_PER_GB_HOUR)
    if row is None:
        row = ComputeRate(name=STORAGE_PER_GB_HOUR, nanos=0)
        session.add(row)
    previous = row.nanos
    row.nanos = nanos_per_gb_hour
    row.updated_at = now
    return previous
