"""Models and prices, cached in memory and refreshed from the database."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from gptapi.kit.db import SessionMaker
from gptapi.models import Model

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CatalogModel:
    id: int
    internal_name: str
    name: str
    kind: str
    input_price: int  # milli-dollars per 1M tokens = nano-dollars per token
    output_price: int
    description: str
    created_at: datetime

    def cost(self, prompt_tokens: int, completion_tokens: int) -> int:
        return prompt_tokens * self.input_price + completion_tokens * self.output_price


class ModelCatalog:
    def __init__(self, sessions: SessionMaker) -> None:
        self._sessions = sessions
        self._models: dict[str, CatalogModel] = {}

    def get(self, internal_name: str) -> CatalogModel | None:
        return self._models.get(internal_name)

    def all(self) -> list[CatalogModel]:
        return sorted(self._models.values(), key=lambda m: m.id)

    async def refresh(self) -> None:
        async with self._sessions() as session:
            rows = (await session.scalars(select(Model).where(Model.active.is_(True)))).all()
        self._models = {
            row.internal_name: CatalogModel(
                id=row.id,
                internal_name=row.internal_name,
                name=row.name,
                kind=row.kind,
                input_price=row.input_price_per_million_tokens,
                output_price=row.output_price_per_million_tokens,
                description=row.description,
                created_at=row.created_at,
            )
            for row in rows
        }

    async def run(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.refresh()
            except Exception:
                log.exception("could not refresh the model catalog")
