"""Billing queries: spend, the transaction list with its running balance, statements."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Join,
    Select,
    String,
    cast,
    func,
    literal,
    outerjoin,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import Subquery

from gptapi import usage_sums
from gptapi.models import (
    CreditTransaction,
    CryptoCharge,
    Deployment,
    DeploymentRun,
    Model,
    StripePayment,
    SubscriptionInvoice,
    UsageLog,
)

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
    reference: str  # the ledger entry's idempotency key ("" for summed lines)
    seconds: int  # summed deployment charges: the running time they paid for (else 0)


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


def _ledger_with_models() -> Join:
    """Ledger entries with the model of their usage record, where the record is still kept
    (raw usage rows past the retention are gone; their entries stay)."""
    return outerjoin(Ledger, UsageLog, _usage_key() == Ledger.idempotency_key).outerjoin(
        Model, Model.id == UsageLog.model_id
    )


def _charged_model() -> ColumnElement[str]:
    # Past the retention, the entry's own description ("<model> <endpoint>") names it.
    return func.coalesce(Model.name, Ledger.description)


async def spend_by_model(
    session: AsyncSession, organization_id: uuid.UUID, start: datetime, end: datetime
) -> list[tuple[str, int, int]]:
    """(model name, requests, cost) for usage in [start, end), the costliest first: from the
    hourly rollup, so a month past the raw usage retention keeps its figures."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    rows = await usage_sums.sums(session, organization_id, start, end, "model_id")
    names = dict(
        (
            await session.execute(
                select(Model.id, Model.name).where(Model.id.in_({r.group for r in rows}))
            )
        ).all()
    )
    for row in rows:
        total = totals[names[row.group]]
        total[0] += row.requests
        total[1] += row.cost_nanos
    lines = [(name, requests, cost) for name, (requests, cost) in totals.items()]
    return sorted(lines, key=lambda line: (-line[2], line[0]))


async def spend_by_endpoint(
    session: AsyncSession, organization_id: uuid.UUID, start: datetime, end: datetime
) -> Sequence[tuple[str, int, int]]:
    """(endpoint, requests, cost) for usage in [start, end), from the request rows (the
    rollup has no endpoint): nothing for months past the raw usage retention."""
    statement = (
        select(UsageLog.endpoint, func.count(), func.coalesce(func.sum(UsageLog.cost_nanos), 0))
        .where(
            UsageLog.organization_id == organization_id,
            UsageLog.created_at >= start,
            UsageLog.created_at < end,
        )
        .group_by(UsageLog.endpoint)
        .order_by(func.sum(UsageLog.cost_nanos).desc(), UsageLog.endpoint)
    )
    return list((await session.execute(statement)).tuples())


def _deployment_charges(
    session: AsyncSession, organization_id: uuid.UUID
) -> Select[str, str, datetime, str, int, int, str, int]:
    """Per-second charges summed per UTC day and deployment, named by the deployment, with the
    seconds they paid for. A charge is keyed `compute:{run}:{from}-{to}` and its amount is
    `price * seconds // 3600` rounded down, so the seconds come back from the sum at the
    deployment's price (a charge the balance could only partly cover counts what it paid)."""
    day = _utc_day(session, Ledger.created_at)
    paid = -func.sum(Ledger.amount_nanos)
    price = Deployment.price_nanos_per_hour
    of_run = literal("compute:") + cast(DeploymentRun.id, String) + literal(":")
    return (
        select(
            (literal("compute:") + day + literal(":") + Deployment.id).label("key"),
            literal("compute").label("kind"),
            func.max(Ledger.created_at).label("at"),
            Deployment.name.label("description"),
            func.count().label("entries"),
            func.sum(Ledger.amount_nanos).label("amount"),
            literal("").label("reference"),
            ((paid * 3600 + price // 2) // price).label("seconds"),
        )
        .join(DeploymentRun, Ledger.idempotency_key.startswith(of_run))
        .join(Deployment, Deployment.id == DeploymentRun.deployment_id)
        .where(
            Ledger.organization_id == organization_id,
            Ledger.kind == "compute",
            DeploymentRun.organization_id == organization_id,
        )
        .group_by(day, Deployment.id, Deployment.name, price)
    )


def _lines(session: AsyncSession, organization_id: uuid.UUID) -> Subquery:
    """Every line of the organisation's history with the balance after it: usage summed per
    UTC day and model, deployment charges per UTC day and deployment, every other entry on
    its own."""
    day = _utc_day(session, Ledger.created_at)
    model = _charged_model()
    usage = (
        select(
            (literal("usage:") + day + literal(":") + model).label("key"),
            literal("usage").label("kind"),
            func.max(Ledger.created_at).label("at"),
            model.label("description"),
            func.count().label("entries"),
            func.sum(Ledger.amount_nanos).label("amount"),
            literal("").label("reference"),
            literal(0).label("seconds"),
        )
        .select_from(_ledger_with_models())
        .where(Ledger.organization_id == organization_id, Ledger.kind == "usage")
        .group_by(day, model)
    )
    others = select(
        (literal("entry:") + cast(Ledger.id, String)).label("key"),
        Ledger.kind.label("kind"),
        Ledger.created_at.label("at"),
        Ledger.description.label("description"),
        literal(1).label("entries"),
        Ledger.amount_nanos.label("amount"),
        Ledger.idempotency_key.label("reference"),
        literal(0).label("seconds"),
    ).where(Ledger.organization_id == organization_id, Ledger.kind.not_in(("usage", "compute")))
    compute = _deployment_charges(session, organization_id)
    lines = union_all(usage, compute, others).subquery("lines")
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
            seconds=int(row.seconds),
        )
        for row in rows
    ]


async def receipts(session: AsyncSession, references: Sequence[str]) -> dict[str, str]:
    """Receipt URLs of the payments behind ledger entries `topup:<session>`,
    `auto_refill:<payment intent>`, `crypto:<charge>` (Commerce's hosted page) and
    `plan_credit:<invoice>` (Stripe's hosted invoice)."""
    sessions = [ref.removeprefix("topup:") for ref in references if ref.startswith("topup:")]
    intents = [
        ref.removeprefix("auto_refill:") for ref in references if ref.startswith("auto_refill:")
    ]
    charges = [ref.removeprefix("crypto:") for ref in references if ref.startswith("crypto:")]
    invoices = [
        ref.removeprefix("plan_credit:") for ref in references if ref.startswith("plan_credit:")
    ]
    found: dict[str, str] = {}
    if charges:
        crypto = await session.execute(
            select(CryptoCharge.charge_id, CryptoCharge.hosted_url).where(
                CryptoCharge.charge_id.in_(charges)
            )
        )
        found.update({f"crypto:{charge}": url for charge, url in crypto})
    if invoices:
        paid = await session.execute(
            select(
                SubscriptionInvoice.stripe_invoice_id, SubscriptionInvoice.hosted_invoice_url
            ).where(SubscriptionInvoice.stripe_invoice_id.in_(invoices))
        )
        found.update({f"plan_credit:{invoice}": url for invoice, url in paid})
    if not sessions and not intents:
        return found
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
    model = _charged_model()
    statement = (
        select(model, func.count(), func.sum(Ledger.amount_nanos))
        .select_from(_ledger_with_models())
        .where(
            Ledger.organization_id == organization_id,
            Ledger.kind == "usage",
            Ledger.created_at >= start,
            Ledger.created_at < end,
        )
        .group_by(model)
        .order_by(model)
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
