"""Proof that the books balance, organisation by organisation.

For each organisation: the stored balance equals the sum of its ledger and is not negative;
the ledger's top-ups equal what Stripe payments we recorded as paid; its crypto top-ups what
confirmed Coinbase charges credited; its plan credit what paid subscription invoices
granted; its refunds equal what was refunded; its usage equals the cost of its
usage (the hourly rollup, which outlives the raw rows); every usage record has exactly one
ledger entry, no test-mode request was charged, no usage charge went above its hold, its
compute charges equal what its deployments' runs say they charged, and its pod and storage
charges what its pods' runs say they charged.

Raw usage rows older than the retention horizon (`usage_retention`) may be gone: from the
horizon on, every usage ledger entry has its record and the rollup equals the records;
before it, the rollup stands for them.

Every check is a set-based scan or an index-driven join, a fixed number of statements
whatever the size of the books: the time grows linearly with the rows (an O(n log n) sort
at worst), never with rows times rows.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Executable, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.billing.stripe_client import NANOS_PER_CENT
from gptapi.kit.money import format_usd
from gptapi.models import (
    CreditTransaction,
    CryptoCharge,
    DeploymentRun,
    Organization,
    PodRun,
    StripePayment,
    SubscriptionInvoice,
    UsageHourly,
    UsageLog,
)
from gptapi.models.credit_transaction import KINDS
from gptapi.usage_history.retention import kept_from

USAGE_KEY_PREFIX = "usage:"


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


Sums = dict[str, defaultdict[uuid.UUID, int]]


async def _per_org(session: AsyncSession, statement: Executable) -> Sums:
    """Run a statement of (organization_id, named sums...) into {name: {org: total}}."""
    result = await session.execute(statement)
    names = list(result.keys())[1:]
    sums: Sums = {name: defaultdict(int) for name in names}
    for org, *totals in result:
        for name, total in zip(names, totals, strict=True):
            sums[name][org] = int(total or 0)
    return sums


def _sum_if(condition: ColumnElement[bool], value: Any, name: str) -> Any:
    return func.sum(case((condition, value), else_=0)).label(name)


def _ledger_sums() -> Executable:
    """Every ledger total reconcile needs, in one scan of the ledger."""
    ledger = CreditTransaction
    amount = ledger.amount_nanos
    return select(
        ledger.organization_id,
        func.sum(amount).label("total"),
        _sum_if(ledger.kind.in_(("topup", "auto_refill")), amount, "topups"),
        _sum_if(
            (ledger.kind == "refund") & ledger.idempotency_key.like("refund:%"), amount, "refunds"
        ),
        _sum_if(ledger.kind == "usage", amount, "usage"),
        _sum_if(ledger.kind == "crypto", amount, "crypto"),
        _sum_if(ledger.kind == "plan_credit", amount, "plan_credit"),
        _sum_if(ledger.kind == "compute", amount, "compute"),
        _sum_if(ledger.kind.in_(("pod", "storage")), amount, "pods"),
        _sum_if(ledger.kind.not_in(KINDS), 1, "unknown_kinds"),
    ).group_by(ledger.organization_id)


def _since(column: Any, horizon: datetime | None) -> ColumnElement[bool]:
    return literal(True) if horizon is None else column >= horizon


def _rollup_sums(horizon: datetime | None) -> Executable:
    """The rollup's cost over all time, and its requests and cost from the horizon on."""
    kept = _since(UsageHourly.hour, horizon)
    return select(
        UsageHourly.organization_id,
        func.sum(UsageHourly.cost_nanos).label("rollup_cost"),
        _sum_if(kept, UsageHourly.requests, "kept_rollup_requests"),
        _sum_if(kept, UsageHourly.cost_nanos, "kept_rollup_cost"),
        _sum_if(kept, UsageHourly.characters, "kept_rollup_characters"),
        _sum_if(kept, UsageHourly.audio_seconds, "kept_rollup_audio_seconds"),
        _sum_if(kept, UsageHourly.images, "kept_rollup_images"),
    ).group_by(UsageHourly.organization_id)


def _usage_matching(horizon: datetime | None) -> Executable:
    """Usage records against their ledger entries: the join probes the ledger's unique
    idempotency-key index once per record (the key is computed from the outer row)."""
    ledger = CreditTransaction
    has_entry = ledger.id.is_not(None)
    kept = _since(UsageLog.created_at, horizon)
    return (
        select(
            UsageLog.organization_id,
            _sum_if(kept, 1, "kept_requests"),
            _sum_if(kept, UsageLog.cost_nanos, "kept_cost"),
            _sum_if(kept, UsageLog.characters, "kept_characters"),
            _sum_if(kept, UsageLog.audio_seconds, "kept_audio_seconds"),
            _sum_if(kept, UsageLog.images, "kept_images"),
            _sum_if(~has_entry & UsageLog.test_mode.is_(False), 1, "unmatched_usage"),
            # Test-mode requests must never touch the books: no cost, no ledger entry.
            _sum_if(
                UsageLog.test_mode.is_(True) & (has_entry | (UsageLog.cost_nanos != 0)),
                1,
                "charged_tests",
            ),
        )
        .outerjoin(
            ledger, ledger.idempotency_key == literal(USAGE_KEY_PREFIX) + UsageLog.request_id
        )
        .group_by(UsageLog.organization_id)
    )


def _orphan_entries(horizon: datetime | None) -> Executable:
    """Usage ledger entries from the horizon on with no usage record: the other direction
    probes the usage records' unique request-id index (comparing a computed key against the
    ledger column instead would scan every record for every entry)."""
    ledger = CreditTransaction
    request_id = func.substr(ledger.idempotency_key, len(USAGE_KEY_PREFIX) + 1)
    return (
        select(ledger.organization_id, func.count().label("orphan_entries"))
        .outerjoin(UsageLog, UsageLog.request_id == request_id)
        .where(
            ledger.kind == "usage",
            _since(ledger.created_at, horizon),
            UsageLog.id.is_(None),
        )
        .group_by(ledger.organization_id)
    )


def _charges_above_hold() -> Executable:
    """Usage charges that took the balance below zero.

    A request is admitted only with a hold no larger than the organisation's available
    balance (balance less pending costs and open holds), so a charge that stays within its
    hold never makes the running balance negative: one that does was charged above its
    hold. The running balance is the ledger summed in the order it was written.
    """
    ledger = CreditTransaction
    running = (
        select(
            ledger.organization_id,
            ledger.kind,
            ledger.amount_nanos,
            func.sum(ledger.amount_nanos)
            .over(partition_by=ledger.organization_id, order_by=ledger.id)
            .label("balance_after"),
        )
    ).subquery()
    return (
        select(running.c.organization_id, func.count().label("charges_above_hold"))
        .where(running.c.kind == "usage", running.c.amount_nanos < 0, running.c.balance_after < 0)
        .group_by(running.c.organization_id)
    )


async def reconcile(session: AsyncSession) -> list[Difference]:
    sums: Sums = {}
    horizon = await kept_from(session)
    for statement in (
        _ledger_sums(),
        _rollup_sums(horizon),
        _usage_matching(horizon),
        _orphan_entries(horizon),
        _charges_above_hold(),
        select(
            CryptoCharge.organization_id,
            func.sum(CryptoCharge.credited_cents).label("crypto_credited"),
        ).group_by(CryptoCharge.organization_id),
        select(
            SubscriptionInvoice.organization_id,
            func.sum(SubscriptionInvoice.credit_nanos).label("plan_granted"),
        ).group_by(SubscriptionInvoice.organization_id),
        select(
            DeploymentRun.organization_id,
            func.sum(DeploymentRun.charged_nanos).label("compute_charged"),
        ).group_by(DeploymentRun.organization_id),
        select(
            PodRun.organization_id,
            func.sum(PodRun.charged_nanos).label("pods_charged"),
        ).group_by(PodRun.organization_id),
        select(
            StripePayment.organization_id,
            _sum_if(StripePayment.status == "paid", StripePayment.amount_cents, "paid"),
            func.sum(StripePayment.refunded_cents).label("refunded"),
        ).group_by(StripePayment.organization_id),
    ):
        sums.update(await _per_org(session, statement))
    s = sums
    differences: list[Difference] = []
    organizations = await session.execute(
        select(Organization.id, Organization.name, Organization.balance_nanos)
    )
    for org, name, balance in organizations:
        checks = (
            ("balance = sum of ledger", s["total"][org], balance, True),
            ("balance is not negative", max(balance, 0), balance, True),
            (
                "ledger top-ups = paid Stripe payments",
                s["paid"][org] * NANOS_PER_CENT,
                s["topups"][org],
                True,
            ),
            (
                "ledger refunds = Stripe refunds",
                -s["refunded"][org] * NANOS_PER_CENT,
                s["refunds"][org],
                True,
            ),
            (
                "ledger crypto top-ups = confirmed crypto charges",
                s["crypto_credited"][org] * NANOS_PER_CENT,
                s["crypto"][org],
                True,
            ),
            (
                "ledger plan credit = credit of paid plan invoices",
                s["plan_granted"][org],
                s["plan_credit"][org],
                True,
            ),
            (
                "ledger usage = cost in the hourly rollup",
                -s["rollup_cost"][org],
                s["usage"][org],
                True,
            ),
            (
                "hourly rollup = usage records (requests)",
                s["kept_requests"][org],
                s["kept_rollup_requests"][org],
                False,
            ),
            (
                "hourly rollup = usage records (cost)",
                s["kept_cost"][org],
                s["kept_rollup_cost"][org],
                True,
            ),
            # What audio and image requests were metered in: the rollup a report reads says
            # what the records say.
            (
                "hourly rollup = usage records (characters)",
                s["kept_characters"][org],
                s["kept_rollup_characters"][org],
                False,
            ),
            (
                "hourly rollup = usage records (audio seconds)",
                s["kept_audio_seconds"][org],
                s["kept_rollup_audio_seconds"][org],
                False,
            ),
            (
                "hourly rollup = usage records (images)",
                s["kept_images"][org],
                s["kept_rollup_images"][org],
                False,
            ),
            (
                "ledger compute = charges of deployment runs",
                -s["compute_charged"][org],
                s["compute"][org],
                True,
            ),
            (
                "ledger pods and storage = charges of pod runs",
                -s["pods_charged"][org],
                s["pods"][org],
                True,
            ),
            ("usage records without a ledger entry", 0, s["unmatched_usage"][org], False),
            ("usage ledger entries without a usage record", 0, s["orphan_entries"][org], False),
            ("test-mode usage records that were charged", 0, s["charged_tests"][org], False),
            ("usage charges above their hold", 0, s["charges_above_hold"][org], False),
            ("ledger entries of an unknown kind", 0, s["unknown_kinds"][org], False),
        )
        differences += [
            Difference(org, name, label, expected, actual, money)
            for label, expected, actual, money in checks
            if expected != actual
        ]
    return differences
