"""Proof that the books balance, organisation by organisation.

For each organisation: the stored balance equals the sum of its ledger; the ledger's top-ups
equal what Stripe payments we recorded as paid; its refunds equal what was refunded; its usage
equals the cost of its usage records; and every usage record has exactly one ledger entry
(and every usage entry a record).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.billing.stripe_client import NANOS_PER_CENT
from gptapi.kit.money import format_usd
from gptapi.models import CreditTransaction, Organization, StripePayment, UsageLog
from gptapi.models.credit_transaction import KINDS


@dataclass(frozen=True)
class Difference:
    organization_id: uuid.UUID
    name: str
    check: str
    expected: int
    actual: int
    money: bool  # nano-dollars, else a count of rows

    def show(self, value: int) -> str:
        return format_usd(value) if self.money else str(value)

    @property
    def delta(self) -> str:
        return self.show(self.actual - self.expected)


async def _per_org(session: AsyncSession, statement: object) -> dict[uuid.UUID, int]:
    rows = await session.execute(statement)  # type: ignore[call-overload]
    return defaultdict(int, {org: int(total or 0) for org, total in rows})


def _ledger_sum(*where: ColumnElement[bool]) -> object:
    return (
        select(CreditTransaction.organization_id, func.sum(CreditTransaction.amount_nanos))
        .where(*where)
        .group_by(CreditTransaction.organization_id)
    )


async def reconcile(session: AsyncSession) -> list[Difference]:
    ledger = CreditTransaction
    usage_key = literal("usage:") + UsageLog.request_id
    totals = await _per_org(session, _ledger_sum())
    topups = await _per_org(session, _ledger_sum(ledger.kind.in_(("topup", "auto_refill"))))
    refunds = await _per_org(
        session, _ledger_sum(ledger.kind == "refund", ledger.idempotency_key.like("refund:%"))
    )
    usage = await _per_org(session, _ledger_sum(ledger.kind == "usage"))
    paid = await _per_org(
        session,
        select(StripePayment.organization_id, func.sum(StripePayment.amount_cents))
        .where(StripePayment.status == "paid")
        .group_by(StripePayment.organization_id),
    )
    refunded = await _per_org(
        session,
        select(StripePayment.organization_id, func.sum(StripePayment.refunded_cents)).group_by(
            StripePayment.organization_id
        ),
    )
    usage_cost = await _per_org(
        session,
        select(UsageLog.organization_id, func.sum(UsageLog.cost_nanos)).group_by(
            UsageLog.organization_id
        ),
    )
    unmatched_usage = await _per_org(
        session,
        select(UsageLog.organization_id, func.count())
        .outerjoin(ledger, ledger.idempotency_key == usage_key)
        .where(ledger.id.is_(None))
        .group_by(UsageLog.organization_id),
    )
    orphan_entries = await _per_org(
        session,
        select(ledger.organization_id, func.count())
        .outerjoin(UsageLog, ledger.idempotency_key == usage_key)
        .where(ledger.kind == "usage", UsageLog.id.is_(None))
        .group_by(ledger.organization_id),
    )
    unknown_kinds = await _per_org(
        session,
        select(ledger.organization_id, func.count())
        .where(ledger.kind.not_in(KINDS))
        .group_by(ledger.organization_id),
    )
    differences: list[Difference] = []
    organizations = (
        await session.execute(
            select(Organization.id, Organization.name, Organization.balance_nanos)
        )
    ).all()
    for organization_id, name, balance in organizations:
        org = organization_id
        checks = (
            ("balance = sum of ledger", totals[org], balance, True),
            (
                "ledger top-ups = paid Stripe payments",
                paid[org] * NANOS_PER_CENT,
                topups[org],
                True,
            ),
            (
                "ledger refunds = Stripe refunds",
                -refunded[org] * NANOS_PER_CENT,
                refunds[org],
                True,
            ),
            ("ledger usage = cost of usage records", -usage_cost[org], usage[org], True),
            ("usage records without a ledger entry", 0, unmatched_usage[org], False),
            ("usage ledger entries without a usage record", 0, orphan_entries[org], False),
            ("ledger entries of an unknown kind", 0, unknown_kinds[org], False),
        )
        differences += [
            Difference(org, name, label, expected, actual, money)
            for label, expected, actual, money in checks
            if expected != actual
        ]
    return differences
