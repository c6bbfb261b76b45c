"""Models and their price schedules.

A price change is a new `model_prices` row from its `effective_from` on. Usage records keep
the cost computed when each request arrived, so a change never re-prices past usage; a
change cannot start in the past either (beyond a small allowance for clock skew, and then it
starts now), so the schedule stays a true record of what applied when.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.console import audit
from gptapi.console.deps import Viewer
from gptapi.console.errors import bad_request, conflict, not_found
from gptapi.console.operator.schemas import (
    ModelCreate,
    ModelOut,
    ModelUpdate,
    PriceChange,
    PriceOut,
    Prices,
)
from gptapi.console.rows import get_or_404
from gptapi.kit.money import (
    dollars_to_millis,
    dollars_to_nanos,
    millis_to_decimal,
    nanos_to_decimal,
)
from gptapi.models import Deployment, Model, ModelPrice
from gptapi.models.model import UNITS

PAST_ALLOWANCE = timedelta(minutes=1)
FURTHEST_AHEAD = timedelta(days=3650)


SECONDS_PER_MINUTE = 60

# Each kind's price fields: those it needs, and those it may also take (an image model's
# token prices are 0 unless given). Any other field is refused.
PRICE_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "speech": (("input",), ()),
    "transcription": (("per_minute",), ()),
    "image": ((), ("input", "output", "per_image", "per_image_by_size")),
}
TOKEN_PRICE_FIELDS = (("input", "output"), ())


def stored_prices(kind: str, body: Prices) -> dict[str, Any]:
    """The price columns of a price set for a model of `kind`: nano-dollars per unit it is
    metered in (`UNITS`), or per image. Each kind takes its own fields and refuses the
    others."""
    needed, optional = PRICE_FIELDS.get(kind, TOKEN_PRICE_FIELDS)
    wanted = needed + optional
    for name in ("input", "output", "per_minute", "per_image", "per_image_by_size"):
        value = getattr(body, name)
        if name in needed and value is None:
            raise bad_request(f"A {kind} model's price needs '{name}'.", param=name)
        if name not in wanted and value is not None:
            raise bad_request(
                f"A {kind} model is not priced by '{name}'; it takes {', '.join(wanted)}.",
                param=name,
            )
    input_price = dollars_to_millis(body.input or Decimal(0))
    if body.per_minute is not None:
        nanos = dollars_to_nanos(body.per_minute)
        if nanos % SECONDS_PER_MINUTE:
            raise bad_request(
                "A price per minute is billed per second, so it must be a whole number of "
                f"nano-dollars per second (a multiple of $0.00000006); got {body.per_minute}.",
                param="per_minute",
            )
        input_price = nanos // SECONDS_PER_MINUTE
    by_size = body.per_image_by_size
    return {
        "input_price_per_million_tokens": input_price,
        "output_price_per_million_tokens": dollars_to_millis(body.output or Decimal(0)),
        "nanos_per_image": dollars_to_nanos(body.per_image or Decimal(0)),
        "nanos_per_image_by_size": (
            {size: dollars_to_nanos(price) for size, price in by_size.items()} if by_size else None
        ),
    }


def _price(
    kind: str, price_id: int | None, row: Model | ModelPrice, effective_from: datetime | None
) -> PriceOut:
    input_millis, output_millis = (
        row.input_price_per_million_tokens,
        row.output_price_per_million_tokens,
    )
    per_minute = None
    if kind == "transcription":
        per_minute = f"{nanos_to_decimal(input_millis * SECONDS_PER_MINUTE):.9f}"
    return PriceOut(
        id=price_id,
        unit=UNITS.get(kind, "tokens"),
        input_usd_per_million=f"{millis_to_decimal(input_millis):.3f}",
        output_usd_per_million=f"{millis_to_decimal(output_millis):.3f}",
        input_nanos_per_token=input_millis,
        output_nanos_per_token=output_millis,
        usd_per_minute=per_minute,
        usd_per_image=f"{nanos_to_decimal(row.nanos_per_image):.9f}",
        nanos_per_image=row.nanos_per_image,
        usd_per_image_by_size={
            size: f"{nanos_to_decimal(nanos):.9f}"
            for size, nanos in (row.nanos_per_image_by_size or {}).items()
        },
        effective_from=effective_from,
    )


def model_out(model: Model, prices: list[ModelPrice], now: datetime) -> ModelOut:
    """`prices` sorted by effective_from."""
    history = [_price(model.kind, None, model, None)]
    scheduled: list[PriceOut] = []
    for row in prices:
        price = _price(model.kind, row.id, row, row.effective_from)
        (history if row.effective_from <= now else scheduled).append(price)
    return ModelOut(
        id=model.id,
        name=model.name,
        internal_name=model.internal_name,
        kind=model.kind,
        description=model.description,
        active=model.active,
        created_at=model.created_at,
        price=history[-1],
        scheduled=scheduled,
        history=history,
    )


async def _schedules(db: AsyncSession, model_ids: list[int]) -> dict[int, list[ModelPrice]]:
    rows = await db.scalars(
        select(ModelPrice)
        .where(ModelPrice.model_id.in_(model_ids))
        .order_by(ModelPrice.model_id, ModelPrice.effective_from)
    )
    schedules: dict[int, list[ModelPrice]] = defaultdict(list)
    for row in rows:
        schedules[row.model_id].append(row)
    return schedules


async def list_models(db: AsyncSession, now: datetime) -> list[ModelOut]:
    # Deployments' private models (priced per second, not per token) are not on the list.
    public = Model.id.not_in(select(Deployment.model_id))
    models = list((await db.scalars(select(Model).where(public).order_by(Model.id))).all())
    schedules = await _schedules(db, [m.id for m in models])
    return [model_out(m, schedules.get(m.id, []), now) for m in models]


async def describe(db: AsyncSession, model: Model, now: datetime) -> ModelOut:
    schedules = await _schedules(db, [model.id])
    return model_out(model, schedules.get(model.id, []), now)


async def find_model(db: AsyncSession, model_id: int) -> Model:
    return await get_or_404(db, Model, model_id, "model")


async def create_model(db: AsyncSession, body: ModelCreate, admin: Viewer) -> Model:
    model = Model(
        name=body.name,
        internal_name=body.internal_name,
        kind=body.kind,
        description=body.description,
        active=body.active,
        **stored_prices(body.kind, body),
    )
    db.add(model)
    try:
        await db.flush()
    except IntegrityError:
        raise conflict(
            f"A model named {body.internal_name!r} exists.", code="model_exists"
        ) from None
    _record(db, admin, "model.create", model, body.model_dump(mode="json"))
    return model


async def update_model(db: AsyncSession, model_id: int, body: ModelUpdate, admin: Viewer) -> Model:
    model = await find_model(db, model_id)
    changes = body.model_dump(exclude_none=True)
    for field, value in changes.items():
        setattr(model, field, value)
    _record(db, admin, "model.update", model, changes)
    return model


async def schedule_price(
    db: AsyncSession, model_id: int, body: PriceChange, admin: Viewer, now: datetime
) -> Model:
    model = await find_model(db, model_id)
    effective_from = body.effective_from or now
    if effective_from < now - PAST_ALLOWANCE:
        raise bad_request(
            "A price cannot start in the past: usage already billed keeps its price.",
            param="effective_from",
            code="price_in_past",
        )
    if effective_from > now + FURTHEST_AHEAD:
        raise bad_request(
            "A price can be scheduled at most ten years ahead.", param="effective_from"
        )
    effective_from = max(effective_from, now)
    prices = stored_prices(model.kind, body)
    db.add(
        ModelPrice(
            model_id=model.id,
            effective_from=effective_from,
            created_by=admin.user.id,
            **prices,
        )
    )
    try:
        await db.flush()
    except IntegrityError:
        raise conflict(
            "This model already has a price starting then.", code="price_exists"
        ) from None
    _record(
        db,
        admin,
        "model.price_change",
        model,
        {
            **{
                name: str(value)
                for name, value in (
                    ("input_usd_per_million", body.input),
                    ("output_usd_per_million", body.output),
                    ("usd_per_minute", body.per_minute),
                    ("usd_per_image", body.per_image),
                )
                if value is not None
            },
            **(
                {"usd_per_image_by_size": {k: str(v) for k, v in body.per_image_by_size.items()}}
                if body.per_image_by_size
                else {}
            ),
            "effective_from": effective_from.isoformat(),
        },
    )
    return model


async def cancel_price(
    db: AsyncSession, model_id: int, price_id: int, admin: Viewer, now: datetime
) -> Model:
    """Withdraw a change not yet in force; one in force is history and stays."""
    model = await find_model(db, model_id)
    price = await db.get(ModelPrice, price_id)
    if price is None or price.model_id != model.id:
        raise not_found("price")
    if price.effective_from <= now:
        raise conflict(
            "This price is already in force; schedule a new one instead.", code="price_in_force"
        )
    await db.delete(price)
    _record(
        db,
        admin,
        "model.price_cancel",
        model,
        {"price_id": price.id, "effective_from": price.effective_from.isoformat()},
    )
    return model


def _record(
    db: AsyncSession, admin: Viewer, action: str, model: Model, data: dict[str, object]
) -> None:
    audit.record_operator_change(
        db, admin, action, target_type="model", target_id=model.id, data=data
    )
