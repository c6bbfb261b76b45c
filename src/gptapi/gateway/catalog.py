"""Models and prices, cached in memory and refreshed from the database.

Each model carries its price schedule: the price in force now and any changes scheduled
after it. `get` swaps in a scheduled price the moment it takes effect, by comparing the
clock with the one next change it knows of, so a request is priced at the price in force
when it arrived without a query. A request keeps the `CatalogModel` it was planned with,
so a change during the request does not apply to it.
"""

from __future__ import annotations

import asyncio
import bisect
import dataclasses
import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from gptapi.kit.db import SessionMaker
from gptapi.models import Model, ModelPrice

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PricePoint:
    effective_from: float  # Unix time
    input_price: int  # milli-dollars per 1M tokens = nano-dollars per token
    output_price: int


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


def price_at(model: Model, prices: Sequence[ModelPrice], when: datetime) -> tuple[int, int]:
    """(input, output) in force at `when`; `prices` sorted by effective_from."""
    current = (model.input_price_per_million_tokens, model.output_price_per_million_tokens)
    for price in prices:
        if price.effective_from > when:
            break
        current = (price.input_price_per_million_tokens, price.output_price_per_million_tokens)
    return current


class ModelCatalog:
    def __init__(self, sessions: SessionMaker, *, clock: Callable[[], float] = time.time) -> None:
        self._sessions = sessions
        self._clock = clock
        self._models: dict[str, CatalogModel] = {}
        # Price changes not yet in force, per model, soonest first.
        self._pending: dict[str, list[PricePoint]] = {}
        self._next_change = math.inf

    def get(self, internal_name: str) -> CatalogModel | None:
        if self._clock() >= self._next_change:
            self._apply_due()
        return self._models.get(internal_name)

    def all(self) -> list[CatalogModel]:
        if self._clock() >= self._next_change:
            self._apply_due()
        return sorted(self._models.values(), key=lambda m: m.id)

    async def refresh(self) -> None:
        async with self._sessions() as session:
            rows = (await session.scalars(select(Model).where(Model.active.is_(True)))).all()
            price_rows = (
                await session.scalars(
                    select(ModelPrice)
                    .join(Model, Model.id == ModelPrice.model_id)
                    .where(Model.active.is_(True))
                    .order_by(ModelPrice.model_id, ModelPrice.effective_from)
                )
            ).all()
        schedules: dict[int, list[ModelPrice]] = defaultdict(list)
        for price in price_rows:
            schedules[price.model_id].append(price)
        now = datetime.fromtimestamp(self._clock(), UTC)
        models: dict[str, CatalogModel] = {}
        pending: dict[str, list[PricePoint]] = {}
        for row in rows:
            schedule = schedules.get(row.id, [])
            input_price, output_price = price_at(row, schedule, now)
            models[row.internal_name] = CatalogModel(
                id=row.id,
                internal_name=row.internal_name,
                name=row.name,
                kind=row.kind,
                input_price=input_price,
                output_price=output_price,
                description=row.description,
                created_at=row.created_at,
            )
            future = [
                PricePoint(
                    p.effective_from.timestamp(),
                    p.input_price_per_million_tokens,
                    p.output_price_per_million_tokens,
                )
                for p in schedule
                if p.effective_from > now
            ]
            if future:
                pending[row.internal_name] = future
        self._models, self._pending = models, pending
        self._next_change = _soonest(pending)

    def _apply_due(self) -> None:
        now = self._clock()
        for name, points in list(self._pending.items()):
            due = bisect.bisect_right([p.effective_from for p in points], now)
            if not due:
                continue
            model = self._models.get(name)
            if model is not None:
                latest = points[due - 1]
                self._models[name] = dataclasses.replace(
                    model, input_price=latest.input_price, output_price=latest.output_price
                )
            if due == len(points):
                del self._pending[name]
            else:
                self._pending[name] = points[due:]
        self._next_change = _soonest(self._pending)

    async def run(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.refresh()
            except Exception:
                log.exception("could not refresh the model catalog")


def _soonest(pending: dict[str, list[PricePoint]]) -> float:
    return min((points[0].effective_from for points in pending.values()), default=math.inf)
