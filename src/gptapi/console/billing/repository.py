"""Billing queries: spend, the transaction list with its running balance, statements."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, String, cast, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import Subquery

from gptapi.models import CreditTransaction, Model, StripePayment, UsageLog

Ledger = CreditTransaction


@dataclass(frozen=True, slots=True)
class Line:
    key: str
    kind: str
    at: datetime
    description: str
    entries: int
    amount_nanos: int
    balance_nanos: int
    reference: str  # the ledger entry's idempotency key ("" for summed usage)


@dataclass(frozen=True, slots=True)
class Cursor:
    at: datetime
    key: str


def _utc_day(session: AsyncSession, column: InstrumentedAttribute[datetime]) -> ColumnElement[str]:
    if session.get_bind().dialect.name == "sqlite":
        return func.strftime("%Y-%m-%d", column)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")


def _usage_key() -> ColumnElement[str]:
    return literal("usage:") + UsageLog.request_id


async def spend(
    session: AsyncSession, organization_id: uuid.UUID, start: datetime, end: datetime, by: str
) -> Sequence[tuple[str, int, int]]:
    """(name, requests, cost) by model name or by endpoint for usage in [start, end)."""
    group = Model.name if by == "model" else UsageLog.endpoint
    statement = (
        select(group, func.count(), func.coalesce(func.sum(UsageLog.cost_nanos), 0))
        .join(Model, Model.id == UsageLog.model_id)
        .where(
            UsageLog.organization_id == organization_id,
            UsageLog.created_at >= start,
            UsageLog.created_at < end,
        )
        .group_by(group)
        .order_by(func.sum(UsageLog.cost_nanos).desc(), group)
    )
    return (await session.execute(statement)).all()


def _lines(session: AsyncSession, organization_id: uuid.UUID) -> Subquery:
    """Every line of the organisation's history with the balance after it: usage summed per
    UTC day and model, every other entry on its own."""
    day = _utc_day(session, Ledger.created_at)
    usage = (
        select(
            (literal("usage:") + day + literal(":") + Model.name).label("key"),
            literal("usage").label("kind"),
            func.max(Ledger.created_at).label("at"),
            Model.name.label("description"),
            func.count().label("entries"),
            func.sum(Ledger.amount_nanos).label("amount"),
            literal("").label("reference"),
        )
        .join(UsageLog, _usage_key() == Ledger.idempotency_key)
        .join(Model, Model.id == UsageLog.model_id)
        .where(Ledger.organization_id == organization_id, Ledger.kind == "usage")
        .group_by(day, Model.name)
    )
    others = select(
        (literal("entry:") + cast(Ledger.id, String)).label("key"),
        Ledger.kind.label("kind"),
        Ledger.created_at.label("at"),
        Ledger.description.label("description"),
        literal(1).label("entries"),
        Ledger.amount_nanos.label("amount"),
        Ledger.idempotency_key.label("reference"),
    ).where(Ledger.organization_id == organization_id, Ledger.kind != "usage")
    lines = union_all(usage, others).subquery("lines")
    running = func.sum(lines.c.amount).over(order_by=(lines.c.at, lines.c.key))
    return select(*lines.c, running.label("balance")).subquery("history")


async def history(
    session: AsyncSession, organization_id: uuid.UUID, after: Cursor | None, limit: int
) -> list[Line]:
    """Newest first, `limit` lines older than `after`."""
    h = _lines(session, organization_id)
    statement = select(h).order_by(h.c.at.desc(), h.c.key.desc()).limit(limit)
    if after is not None:
        statement = statement.where(
            (h.c.at < after.at) | ((h.c.at == after.at) & (h.c.key < after.key))
        )
    rows = (await session.execute(statement)).all()
    return [
        Line(
            key=row.key,
            kind=row.kind,
            at=row.at,
            description=row.description,
            entries=int(row.entries),
            amount_nanos=int(row.amount),
            balance_nanos=int(row.balance),
            reference=row.reference,
        )
        for row in rows
    ]


async def receipts(session: AsyncSession, references: Sequence[str]) -> dict[str, str]:
    """Receipt URLs of the payments behind ledger entries `topup:<session>` and
    `auto_refill:<payment intent>`."""
    sessions = [ref.removeprefix("topup:") for ref in references if ref.startswith("topup:")]
    intents = [
        ref.removeprefix("auto_refill:") for ref in references if ref.startswith("auto_refill:")
    ]
    if not sessions and not intents:
        return {}
    rows = await session.execute(
        select(
            StripePayment.checkout_session_id,
            StripePayment.payment_intent_id,
            StripePayment.receipt_url,
        ).where(
            StripePayment.checkout_session_id.in_(sessions)
            | StripePayment.payment_intent_id.in_(intents)
        )
    )
    found: dict[str, str] = {}
    for checkout, intent, url in rows:
        if checkout:
            found[f"topup:{checkout}"] = url
        if intent:
            found[f"auto_refill:{intent}"] = url
    return found


async def ledger_sum_before(
    session: AsyncSession, organization_id: uuid.UUID, moment: datetime
) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(Ledger.amount_nanos), 0)).where(
            Ledger.organization_id == organization_id, Ledger.created_at < moment
        )
    )
    return int(total or 0)


async def entries_between(
    session: AsyncSession, organization_id: uuid.UUID, start: datetime, end: datetime
) -> Sequence[CreditTransaction]:
    """Every entry except usage, oldest first."""
    rows = await session.scalars(
        select(Ledger)
        .where(
            Ledger.organization_id == organization_id,
            Ledger.kind != "usage",
            Ledger.created_at >= start,
            Ledger.created_at < end,
        )
        .order_by(Ledger.created_at, Ledger.id)
    )
    return rows.all()


async def usage_charged(
    session: AsyncSession, organization_id: uuid.UUID, start: datetime, end: datetime
) -> Sequence[tuple[str, int, int]]:
    """(model, requests, ledger amount) of the usage entries booked in [start, end)."""
    statement = (
        select(Model.name, func.count(), func.sum(Ledger.amount_nanos))
        .join(UsageLog, _usage_key() == Ledger.idempotency_key)
        .join(Model, Model.id == UsageLog.model_id)
        .where(
            Ledger.organization_id == organization_id,
            Ledger.kind == "usage",
            Ledger.created_at >= start,
            Ledger.created_at < end,
        )
        .group_by(Model.name)
        .order_by(Model.name)
    )
    return (await session.execute(statement)).all()


def select_payment(organization_id: uuid.UUID, session_id: str) -> Select[StripePayment]:
    return select(StripePayment).where(
        StripePayment.organization_id == organization_id,
        StripePayment.checkout_session_id == session_id,
    )


async def payments(
    session: AsyncSession, organization_id: uuid.UUID, limit: int
) -> Sequence[StripePayment]:
    rows = await session.scalars(
        select(StripePayment)
        .where(StripePayment.organization_id == organization_id)
        .order_by(StripePayment.created_at.desc(), StripePayment.id.desc())
        .limit(limit)
    )
    return rows.all()
