"""The GPU cloud's catalog and price list, read from the database and held in memory.

The API reads the snapshot (`PriceListCache.current`), never the database, so the public
catalog costs no query; it is refreshed every few seconds like the model catalog, and at
once in the process where an operator changed it. The compute worker reads the entry it is
about to start from the database itself, so it always runs what the catalog says now.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.compute.catalog import CatalogEntry
from gptapi.compute.prices import GpuPrice
from gptapi.kit.db import SessionMaker
from gptapi.models import ComputeCatalogEntry, ComputeRate, GpuPriceRow
from gptapi.models.compute_rate import STORAGE_PER_GB_HOUR

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PriceList:
    entries: tuple[CatalogEntry, ...] = ()  # disabled ones included, in catalog order
    gpus: tuple[GpuPrice, ...] = ()
    storage_nanos_per_gb_hour: int = 0
    _by_slug: dict[str, CatalogEntry] = field(default_factory=dict, compare=False)

    def entry(self, slug: str) -> CatalogEntry | None:
        return self._by_slug.get(slug)

    def listed(self) -> list[CatalogEntry]:
        return [entry for entry in self.entries if entry.enabled]

    def gpu(self, gpu_type: str) -> GpuPrice | None:
        return next((g for g in self.gpus if g.gpu_type == gpu_type and g.enabled), None)

    def listed_gpus(self) -> list[GpuPrice]:
        return [gpu for gpu in self.gpus if gpu.enabled]


async def load(session: AsyncSession) -> PriceList:
    rows = (
        await session.scalars(
            select(ComputeCatalogEntry).order_by(
                ComputeCatalogEntry.position, ComputeCatalogEntry.slug
            )
        )
    ).all()
    gpus = (await session.scalars(select(GpuPriceRow).order_by(GpuPriceRow.gpu_type))).all()
    storage = await session.scalar(
        select(ComputeRate.nanos).where(ComputeRate.name == STORAGE_PER_GB_HOUR)
    )
    entries = tuple(CatalogEntry.of(row) for row in rows)
    return PriceList(
        entries=entries,
        gpus=tuple(sorted((GpuPrice.of(g) for g in gpus), key=_gpu_order)),
        storage_nanos_per_gb_hour=storage or 0,
        _by_slug={entry.slug: entry for entry in entries},
    )


async def entry(session: AsyncSession, slug: str) -> CatalogEntry | None:
    row = await session.get(ComputeCatalogEntry, slug)
    return CatalogEntry.of(row) if row is not None else None


def _gpu_order(gpu: GpuPrice) -> tuple[int, str]:
    return gpu.community_nanos_per_hour, gpu.gpu_type


class PriceListCache:
    def __init__(self, sessions: SessionMaker) -> None:
        self._sessions = sessions
        self.current = PriceList()

    async def refresh(self) -> None:
        async with self._sessions() as session:
            self.current = await load(session)
