"""`gptapi admin reconcile`: balance = ledger = top-ups + grants - refunds - usage, and one
ledger entry per usage record; any difference is named and the exit status is 1."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import stripe
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.billing.reconcile import reconcile
from gptapi.models import CreditTransaction, Organization, StripePayment
from tests.billing.env import BillingEnv, billing_env
from tests.support.console import Member

GPTAPI = str(Path(sys.executable).parent / "gptapi")
NANOS = 1_000_000_000


def run_reconcile(env: BillingEnv) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GPTAPI, "admin", "reconcile"],
        env={**os.environ, "DATABASE_URL": env.platform.settings.resolved_database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def busy_organisation(env: BillingEnv) -> Member:
    member = env.member()
    session_id = env.top_up(member, 50)
    env.stripe.complete_checkout(session_id)
    env.deliver("checkout.session.completed", env.stripe.object(session_id))
    intent = str(env.stripe.object(session_id)["payment_intent"])
    stripe.StripeClient(
        env.platform.settings.stripe_secret_key, base_addresses={"api": env.stripe.url}
    ).v1.refunds.create({"payment_intent": intent, "amount": 500})
    charge = env.stripe.object(str(env.stripe.object(intent)["latest_charge"]))
    env.deliver("charge.refunded", charge)
    env.grant(member.org_id, "10")
    env.add_usage(member, "alpha", 3 * NANOS, datetime.now(UTC))
    return member


def test_books_that_balance_pass(env: BillingEnv) -> None:
    member = busy_organisation(env)
    assert env.balance(member.org_id) == (50 - 5 + 10 - 3) * NANOS
    result = run_reconcile(env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "books balance" in result.stdout


def test_every_kind_of_difference_is_named(backend: str, tmp_path: Path) -> None:
    # Its own database: the books are broken on purpose.
    with billing_env(backend, tmp_path) as env:
        names_differences(env)


def names_differences(env: BillingEnv) -> None:
    member = busy_organisation(env)
    env.add_usage(member, "alpha", NANOS, datetime.now(UTC), ledger=False)

    async def tamper(session: AsyncSession) -> None:
        await session.execute(
            update(Organization)
            .where(Organization.id == member.org_id)
            .values(balance_nanos=Organization.balance_nanos + 7)
        )
        await session.execute(
            update(StripePayment)
            .where(StripePayment.organization_id == member.org_id)
            .values(refunded_cents=600)
        )

    env.platform.run(tamper)
    differences = {
        d.check: d.delta for d in env.platform.run(reconcile) if d.organization_id == member.org_id
    }
    assert differences == {
        "balance = sum of ledger": "$0.000000007",
        "ledger refunds = Stripe refunds": "$1.000000000",
        "ledger usage = cost of usage records": "$1.000000000",
        "usage records without a ledger entry": "1",
    }
    result = run_reconcile(env)
    assert result.returncode == 1
    assert str(member.org_id) in result.stdout
    assert "usage records without a ledger entry" in result.stdout

    async def repair(session: AsyncSession) -> None:
        await session.execute(
            update(Organization)
            .where(Organization.id == member.org_id)
            .values(balance_nanos=Organization.balance_nanos - 7)
        )
        await session.execute(
            update(StripePayment)
            .where(StripePayment.organization_id == member.org_id)
            .values(refunded_cents=500)
        )
        await session.execute(
            delete(CreditTransaction).where(CreditTransaction.organization_id == member.org_id)
        )
        await session.execute(
            update(Organization).where(Organization.id == member.org_id).values(balance_nanos=0)
        )

    env.platform.run(repair)
    orphaned = {d.check for d in env.platform.run(reconcile) if d.organization_id == member.org_id}
    assert "ledger top-ups = paid Stripe payments" in orphaned
