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
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

from sqlalchemy import and_, or_, select

from gptapi.compute.supervisor import wake
from gptapi.kit.db import SessionMaker
from gptapi.kit.money import millis_to_decimal, nanos_to_decimal
from gptapi.models import Deployment, Model, ModelPrice

log = logging.getLogger(__name__)

SECONDS_PER_MINUTE = 60


@dataclass(frozen=True, slots=True)
class Price:
    input_price: int  # milli-dollars per 1M tokens = nano-dollars per token
    output_price: int
    image_price: int = 0  # nano-dollars per image
    # Per image by size ("1024x1024": nanos); when set, the only sizes offered.
    image_sizes: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, row: Model | ModelPrice) -> Price:
        return cls(
            row.input_price_per_million_tokens,
            row.output_price_per_million_tokens,
            row.nanos_per_image,
            dict(row.nanos_per_image_by_size or {}),
        )


@dataclass(frozen=True, slots=True)
class PricePoint:
    effective_from: float  # Unix time
    price: Price


PriceUnit = Literal["1M tokens", "1M characters", "minute", "image"]


@dataclass(frozen=True, slots=True)
class ShownPrice:
    """A model's price as price lists show it, per `unit`: "1M tokens" (input and output),
    "1M characters" or "minute" (input only: audio has no output price), or "image"."""

    unit: PriceUnit
    input: Decimal | None = None
    output: Decimal | None = None
    per_image: Decimal | None = None
    by_size: Mapping[str, Decimal] = field(default_factory=dict)


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
    image_price: int = 0  # nano-dollars per image (image models)
    image_sizes: Mapping[str, int] = field(default_factory=dict)  # per image, by size
    private: bool = False  # an organisation's deployment, named `name` on /v1
    # A deployment's state: ready, or for serverless idle (at zero), pending or starting.
    deployment_state: str | None = None

    def cost(self, prompt_tokens: int, completion_tokens: int) -> int:
        """In nano-dollars; an audio model's units (characters, seconds) are its input."""
        return prompt_tokens * self.input_price + completion_tokens * self.output_price

    def shown_price(self) -> ShownPrice:
        """In USD as price lists show it: per 1M tokens, per 1M characters (speech), per
        minute (transcription, stored per second) or per image (by size when so priced)."""
        if self.kind == "image":
            by_size = {size: nanos_to_decimal(n) for size, n in self.image_sizes.items()}
            return ShownPrice(
                "image", per_image=nanos_to_decimal(self.image_price), by_size=by_size
            )
        if self.kind == "speech":
            return ShownPrice("1M characters", millis_to_decimal(self.input_price))
        if self.kind == "transcription":
            per_minute = nanos_to_decimal(self.input_price * SECONDS_PER_MINUTE).normalize()
            return ShownPrice("minute", per_minute)
        return ShownPrice(
            "1M tokens", millis_to_decimal(self.input_price), millis_to_decimal(self.output_price)
        )

    def image_cost(self, size: str | None) -> int | None:
        """What one image of `size` costs (None: the model's default size); None when the
        model is priced by size and has no price for this one."""
        if self.image_sizes:
            return self.image_sizes.get(size) if size is not None else None
        return self.image_price


# Retry-After for a cold start when the deployment has none measured yet.
DEFAULT_COLD_START_SECONDS = 10
WARMING_STATES = ("idle", "pending", "starting")


@dataclass(frozen=True, slots=True)
class ColdDeployment:
    """A serverless deployment not ready yet (at zero, or starting): a request for it
    wakes it and is told when to come back."""

    deployment_id: str
    state: str
    cold_start_seconds: int  # the last measured cold start, else a default


def _cold_start_seconds(deployment: Deployment) -> int:
    started, ready = deployment.start_requested_at, deployment.ready_at
    if started is None or ready is None or ready < started:
        return DEFAULT_COLD_START_SECONDS
    return max(1, math.ceil((ready - started).total_seconds()))


def price_at(model: Model, prices: Sequence[ModelPrice], when: datetime) -> Price:
    """The price in force at `when`; `prices` sorted by effective_from."""
    current = Price.of(model)
    for price in prices:
        if price.effective_from > when:
            break
        current = Price.of(price)
    return current


class ModelCatalog:
    def __init__(self, sessions: SessionMaker, *, clock: Callable[[], float] = time.time) -> None:
        self._sessions = sessions
        self._clock = clock
        self._models: dict[str, CatalogModel] = {}
        # Price changes not yet in force, per model, soonest first.
        self._pending: dict[str, list[PricePoint]] = {}
        self._next_change = math.inf
        # Ready deployments: private models, by (organisation, name). Their pool is named
        # after the deployment id and their token prices are zero: they bill by the second.
        self._private: dict[tuple[uuid.UUID, str], CatalogModel] = {}
        # What /v1/models lists of an organisation's own: its ready deployments and its
        # serverless ones at zero or waking (a request waits for them), by (org, name).
        self._listed: dict[tuple[uuid.UUID, str], CatalogModel] = {}

    def resolve(self, name: str, organization_id: uuid.UUID) -> CatalogModel | None:
        """The model `name` means for this organisation: its own deployment, else public."""
        return self._private.get((organization_id, name)) or self.get(name)

    async def cold(self, name: str, organization_id: uuid.UUID) -> ColdDeployment | None:
        """The organisation's serverless deployment `name` if it is not ready yet. Read
        from the database (one indexed row) and only for names the cache does not know,
        so a deployment created or scaled down a moment ago by another process counts."""
        if "\x00" in name:
            return None  # no name holds one (PostgreSQL refuses NUL in text outright)
        async with self._sessions() as session:
            deployment = await session.scalar(
                select(Deployment).where(
                    Deployment.organization_id == organization_id,
                    Deployment.name == name,
                    Deployment.mode == "serverless",
                    # Ready but not in this cache yet: about to be served, come back soon.
                    Deployment.state.in_((*WARMING_STATES, "ready")),
                )
            )
        if deployment is None:
            return None
        wait = 1 if deployment.state == "ready" else _cold_start_seconds(deployment)
        return ColdDeployment(deployment.id, deployment.state, wait)

    async def wake(self, cold: ColdDeployment) -> bool:
        """Start a deployment at zero (a no-op when another request did first). False when
        it is no longer a warming deployment (stopped or deleted in the meantime)."""
        if cold.state != "idle":
            return True
        async with self._sessions() as session, session.begin():
            state = await wake(
                session, cold.deployment_id, datetime.fromtimestamp(self._clock(), UTC)
            )
        return state in WARMING_STATES or state == "ready"

    def private_for(self, organization_id: uuid.UUID) -> list[CatalogModel]:
        """The organisation's deployments it can call: ready, or serverless at zero."""
        return sorted(
            (m for (org, _), m in self._listed.items() if org == organization_id),
            key=lambda m: m.name,
        )

    def listed(self, name: str, organization_id: uuid.UUID) -> CatalogModel | None:
        """`name` as /v1/models shows it to this organisation (a deployment at zero too)."""
        return self._listed.get((organization_id, name)) or self.get(name)

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
            deployments = (
                await session.scalars(
                    select(Deployment).where(
                        or_(
                            Deployment.state == "ready",
                            # Serverless at zero or waking: a request waits for it.
                            and_(
                                Deployment.state.in_(WARMING_STATES),
                                Deployment.mode == "serverless",
                            ),
                        )
                    )
                )
            ).all()
        listed = {
            (d.organization_id, d.name): CatalogModel(
                id=d.model_id,
                internal_name=d.id,
                name=d.name,
                kind="chat",
                input_price=0,
                output_price=0,
                description=f"Deployment of {d.catalog_slug}",
                created_at=d.created_at,
                private=True,
                deployment_state=d.state,
            )
            for d in deployments
        }
        private = {k: m for k, m in listed.items() if m.deployment_state == "ready"}
        schedules: dict[int, list[ModelPrice]] = defaultdict(list)
        for price in price_rows:
            schedules[price.model_id].append(price)
        now = datetime.fromtimestamp(self._clock(), UTC)
        models: dict[str, CatalogModel] = {}
        pending: dict[str, list[PricePoint]] = {}
        for row in rows:
            schedule = schedules.get(row.id, [])
            current = price_at(row, schedule, now)
            models[row.internal_name] = CatalogModel(
                id=row.id,
                internal_name=row.internal_name,
                name=row.name,
                kind=row.kind,
                input_price=current.input_price,
                output_price=current.output_price,
                description=row.description,
                created_at=row.created_at,
                image_price=current.image_price,
                image_sizes=current.image_sizes,
            )
            future = [
                PricePoint(p.effective_from.timestamp(), Price.of(p))
                for p in schedule
                if p.effective_from > now
            ]
            if future:
                pending[row.internal_name] = future
        self._models, self._pending = models, pending
        self._private, self._listed = private, listed
        self._next_change = _soonest(pending)

    def _apply_due(self) -> None:
        now = self._clock()
        for name, points in list(self._pending.items()):
            due = bisect.bisect_right([p.effective_from for p in points], now)
            if not due:
                continue
            model = self._models.get(name)
            if model is not None:
                latest = points[due - 1].price
                self._models[name] = dataclasses.replace(
                    model,
                    input_price=latest.input_price,
                    output_price=latest.output_price,
                    image_price=latest.image_price,
                    image_sizes=latest.image_sizes,
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
