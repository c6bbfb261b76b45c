"""`gptapi admin reconcile`: balance = ledger = top-ups + grants - refunds - usage, and one
ledger entry per usage record; any difference is named and the exit status is 1."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import stripe
from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from gptapi.billing.reconcile import reconcile
from gptapi.gateway.metering import USAGE_COLUMNS
from gptapi.models import CreditTransaction, Organization, StripePayment, UsageHourly, UsageLog
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


def usage_rows(env: BillingEnv, member: Member) -> int:
    return len(env.platform.rows(select(UsageLog).where(UsageLog.organization_id == member.org_id)))


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
        # A record claiming audio and images its rollup never counted.
        await session.execute(
            update(UsageLog)
            .where(UsageLog.organization_id == member.org_id)
            .values(audio_seconds=UsageLog.audio_seconds + 5, images=UsageLog.images + 2)
        )

    env.platform.run(tamper)
    differences = {
        d.check: d.delta for d in env.platform.run(reconcile) if d.organization_id == member.org_id
    }
    assert differences == {
        "balance = sum of ledger": "$0.000000007",
        "ledger refunds = Stripe refunds": "$1.000000000",
        "ledger usage = cost in the hourly rollup": "$1.000000000",
        "usage records without a ledger entry": "1",
        "hourly rollup = usage records (audio seconds)": str(-5 * usage_rows(env, member)),
        "hourly rollup = usage records (images)": str(-2 * usage_rows(env, member)),
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


def test_negative_balance_and_charges_above_the_hold_fail(backend: str, tmp_path: Path) -> None:
    # Its own database: the books are broken on purpose.
    with billing_env(backend, tmp_path) as env:
        member = env.member()
        env.grant(member.org_id, "1")
        # A server that over-reported usage: the charge ran past the whole balance, so past
        # any hold the request could have been given.
        env.add_usage(member, "alpha", 3 * NANOS, datetime.now(UTC))
        assert env.balance(member.org_id) == -2 * NANOS
        differences = {
            d.check: d.delta
            for d in env.platform.run(reconcile)
            if d.organization_id == member.org_id
        }
        assert differences == {
            "balance is not negative": "-$2.000000000",
            "usage charges above their hold": "1",
        }
        result = run_reconcile(env)
        assert result.returncode == 1
        assert "balance is not negative" in result.stdout
        assert "usage charges above their hold" in result.stdout

        # A later top-up makes the balance whole again; the overcharge is still named.
        env.grant(member.org_id, "5")
        checks = {
            d.check for d in env.platform.run(reconcile) if d.organization_id == member.org_id
        }
        assert checks == {"usage charges above their hold"}
        assert run_reconcile(env).returncode == 1


def bulk_usage(env: BillingEnv, member: Member, start: int, count: int) -> None:
    """`count` more usage records of 1 n$ each, with their ledger entries and rollup."""
    seed = env.add_usage(member, "alpha", 1, datetime.now(UTC))
    series = (
        "WITH RECURSIVE s(n) AS "
        "(SELECT CAST(:start AS INTEGER) UNION ALL SELECT n + 1 FROM s WHERE n < :stop) "
    )
    columns = ", ".join(USAGE_COLUMNS[1:])

    async def work(session: AsyncSession) -> None:
        bounds = {"start": start, "stop": start + count - 1, "seed": seed}
        await session.execute(
            text(
                f"INSERT INTO usage_logs (request_id, {columns}) {series}"
                f"SELECT 'bulk_' || n, {columns} FROM usage_logs, s WHERE request_id = :seed"
            ),
            bounds,
        )
        await session.execute(
            text(
                "INSERT INTO credit_transactions (organization_id, amount_nanos, kind, "
                f"idempotency_key, description, created_at) {series}"
                "SELECT organization_id, amount_nanos, kind, 'usage:bulk_' || n, description, "
                "created_at FROM credit_transactions, s WHERE idempotency_key = :key"
            ),
            {**bounds, "key": f"usage:{seed}"},
        )
        await session.execute(
            update(UsageHourly)
            .where(
                UsageHourly.api_key_id
                == select(UsageLog.api_key_id).where(UsageLog.request_id == seed).scalar_subquery()
            )
            .values(
                requests=UsageHourly.requests + count,
                prompt_tokens=UsageHourly.prompt_tokens + 10 * count,
                completion_tokens=UsageHourly.completion_tokens + 20 * count,
                cost_nanos=UsageHourly.cost_nanos + count,
            )
        )
        await session.execute(
            update(Organization)
            .where(Organization.id == member.org_id)
            .values(balance_nanos=Organization.balance_nanos - count)
        )
        if (await session.connection()).dialect.name == "postgresql":
            await session.execute(text("ANALYZE"))  # as autovacuum keeps it in production

    env.platform.run(work)


def reconcile_work(env: BillingEnv) -> int:
    """What one reconcile costs the database, counted, not timed: SQLite's virtual machine
    steps, or the rows PostgreSQL read from tables and indexes (on a connection of its own:
    a backend's counters cover everything it did since it started)."""

    async def work() -> int:
        url = env.platform.settings.resolved_database_url
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with AsyncSession(engine) as session, session.begin():
                connection = await session.connection()
                if connection.dialect.name != "sqlite":
                    assert await reconcile(session) == []
                    read = await session.scalar(
                        text(
                            "SELECT sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0))"
                            " FROM pg_stat_xact_user_tables"
                        )
                    )
                    return int(read or 0)
                steps = [0]

                def count() -> int:
                    steps[0] += 1
                    return 0  # carry on

                raw: Any = (await connection.get_raw_connection()).driver_connection
                await raw.set_progress_handler(count, 100)
                assert await reconcile(session) == []
                return steps[0]
        finally:
            await engine.dispose()

    return env.platform.portal.call(work())


def test_reconcile_work_grows_linearly_with_the_books(backend: str, tmp_path: Path) -> None:
    with billing_env(backend, tmp_path) as env:
        member = busy_organisation(env)
        rows = 3000
        bulk_usage(env, member, 0, rows)
        once = reconcile_work(env)
        bulk_usage(env, member, rows, rows)
        twice = reconcile_work(env)
        # Twice the rows: about twice the work (a sort adds a little); a join that scans
        # one table per row of the other would make it four times.
        assert twice < 2.6 * once, (once, twice)
