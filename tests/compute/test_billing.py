"""Per-second billing on real databases: exact to the nano-dollar, one-minute minimum, no
second lost or charged twice across stale writers, crashes and restarts, and deployments
stopped when the balance runs out."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from gptapi.billing.reconcile import reconcile
from gptapi.compute.billing import close_run, cost_of, meter_open_runs, meter_run
from gptapi.compute.local import LocalProvider
from gptapi.compute.supervisor import Supervisor
from gptapi.compute.transitions import EXHAUSTED
from gptapi.kit.clock import ManualClock
from gptapi.kit.db import SessionMaker
from gptapi.models import CreditTransaction, Deployment, DeploymentRun, Server, WebhookEvent
from tests.support.compute import PRICE, T0, books, opened, setup, stray_charge_caught


async def meter_at(sessions: SessionMaker, run_id: int, until: datetime) -> int | None:
    async with sessions() as session, session.begin():
        run = await session.get(DeploymentRun, run_id)
        assert run is not None
        charge = await meter_run(session, run, until)
        return None if charge is None else charge.amount_nanos


def test_exact_per_second_with_a_one_minute_minimum(database: str) -> None:
    async def scenario() -> None:
        async with opened(database) as sessions:
            organization_id, _, run_id = await setup(sessions)
            assert run_id is not None
            start_balance = (await books(sessions, organization_id))[2]
            # Ten seconds in, the minute is due.
            assert await meter_at(sessions, run_id, T0 + timedelta(seconds=10)) == cost_of(
                PRICE, 60
            )
            assert await meter_at(sessions, run_id, T0 + timedelta(seconds=59)) is None
            # Fractions of a second are not charged until the second is complete.
            partial = T0 + timedelta(seconds=61, milliseconds=900)
            assert await meter_at(sessions, run_id, partial) == cost_of(PRICE, 61) - cost_of(
                PRICE, 60
            )
            assert await meter_at(sessions, run_id, partial) is None
            for seconds in (62, 63, 1000, 1799, 3600):
                await meter_at(sessions, run_id, T0 + timedelta(seconds=seconds))
            total, count, balance = await books(sessions, organization_id)
            # An hour in slices costs exactly the hourly price, to the nano-dollar.
            assert total == -PRICE
            assert count == 7
            assert balance == start_balance - PRICE
            async with sessions() as session:
                keys = (
                    await session.scalars(
                        select(CreditTransaction.idempotency_key)
                        .where(CreditTransaction.kind == "compute")
                        .where(CreditTransaction.organization_id == organization_id)
                        .order_by(CreditTransaction.id)
                    )
                ).all()
            assert keys[0] == f"compute:{run_id}:0-60"
            assert keys[-1] == f"compute:{run_id}:1799-3600"
            # The books reconcile (the compute entries are exactly what the runs charged),
            # and a stray compute charge is caught.
            assert await stray_charge_caught(sessions, organization_id, "compute") == [
                ("ledger compute = charges of deployment runs", -PRICE, -PRICE - 1)
            ]

    asyncio.run(scenario())


def test_a_stale_writer_never_charges_a_second_twice(database: str) -> None:
    async def scenario() -> None:
        async with opened(database) as sessions:
            organization_id, _, run_id = await setup(sessions)
            assert run_id is not None
            # Two workers read the run before either charged it.
            async with sessions() as one, sessions() as two:
                first = await one.get(DeploymentRun, run_id)
                second = await two.get(DeploymentRun, run_id)
            assert first is not None and second is not None
            async with sessions() as session, session.begin():
                assert await meter_run(session, first, T0 + timedelta(seconds=120))
            async with sessions() as session, session.begin():
                assert await meter_run(session, second, T0 + timedelta(seconds=180)) is None
            total, count, _ = await books(sessions, organization_id)
            assert (total, count) == (-cost_of(PRICE, 120), 1)
            # The next reader starts from what was billed, not from what it remembers.
            await meter_at(sessions, run_id, T0 + timedelta(seconds=180))
            assert (await books(sessions, organization_id))[0] == -cost_of(PRICE, 180)

    asyncio.run(scenario())


def test_closing_a_run_settles_it_and_metering_leaves_it(database: str) -> None:
    async def scenario() -> None:
        async with opened(database) as sessions:
            organization_id, _, run_id = await setup(sessions)
            async with sessions() as session, session.begin():
                run = await session.get(DeploymentRun, run_id)
                assert run is not None
                run.last_seen_at = T0 + timedelta(seconds=200)
            await meter_open_runs(sessions)  # up to when it was last seen, not beyond
            assert (await books(sessions, organization_id))[0] == -cost_of(PRICE, 200)
            async with sessions() as session, session.begin():
                run = await session.get(DeploymentRun, run_id)
                assert run is not None
                await close_run(session, run, T0 + timedelta(seconds=245))
            await meter_open_runs(sessions)
            assert (await books(sessions, organization_id))[0] == -cost_of(PRICE, 245)

    asyncio.run(scenario())


def test_charges_are_reported_in_batches_that_add_up(database: str) -> None:
    async def charged_events(sessions: SessionMaker) -> list[dict[str, Any]]:
        async with sessions() as session:
            rows = await session.scalars(
                select(WebhookEvent.data).where(WebhookEvent.event_type == "compute.charged")
            )
            return sorted(rows, key=lambda data: int(data["from_seconds"]))

    async def scenario() -> None:
        async with opened(database) as sessions:
            organization_id, deployment_id, run_id = await setup(sessions)
            assert run_id is not None
            for seconds in (10, 120, 299):
                await meter_at(sessions, run_id, T0 + timedelta(seconds=seconds))
            assert await charged_events(sessions) == []
            # Five minutes of billed time since the last report: one event for all of them.
            await meter_at(sessions, run_id, T0 + timedelta(seconds=301))
            await meter_at(sessions, run_id, T0 + timedelta(seconds=450))
            async with sessions() as session, session.begin():
                run = await session.get(DeploymentRun, run_id)
                assert run is not None
                await close_run(session, run, T0 + timedelta(seconds=500))
                # Closing again reports nothing more.
                await close_run(session, run, T0 + timedelta(seconds=500))
            events = await charged_events(sessions)
            common = {
                "organization_id": str(organization_id),
                "deployment_id": deployment_id,
                "run_id": run_id,
                "price_nanos_per_hour": PRICE,
                "run_started_at": "2026-12-01T12:00:00Z",
            }
            assert events == [
                {
                    **common,
                    "from_seconds": 0,
                    "to_seconds": 301,
                    "amount_nanos": cost_of(PRICE, 301),
                    "run_ended": False,
                },
                {
                    **common,
                    "from_seconds": 301,
                    "to_seconds": 500,
                    "amount_nanos": cost_of(PRICE, 500) - cost_of(PRICE, 301),
                    "run_ended": True,
                },
            ]
            assert (
                sum(e["amount_nanos"] for e in events)
                == -(await books(sessions, organization_id))[0]
            )

    asyncio.run(scenario())


def test_a_restart_settles_lost_runs_and_readopts_without_duplicates(
    database: str, tmp_path: Path
) -> None:
    """The platform crashed while a local deployment ran: its llama.cpp child died with it.
    The new process charges up to the last second it was seen healthy, no more, no less, and
    starts the deployment again rather than leaving it orphaned."""

    async def scenario() -> None:
        async with opened(database) as sessions:
            organization_id, dep_id, run_id = await setup(
                sessions, slug="smollm2-135m", provider="local", instance_id="local-1-dead"
            )
            async with sessions() as session, session.begin():
                run = await session.get(DeploymentRun, run_id)
                assert run is not None
                run.last_seen_at = T0 + timedelta(seconds=300)
                await meter_run(session, run, run.last_seen_at)  # metered before the crash
                session.add(
                    Server(model_name=dep_id, base_url="http://127.0.0.1:1", source="deployment")
                )
            clock = ManualClock(T0 + timedelta(seconds=5000))
            provider = LocalProvider(tmp_path, parallel=1)
            supervisor = Supervisor(sessions, {"local": provider}, clock, start_timeout=120)
            try:
                await supervisor.tick()
                total, _, _ = await books(sessions, organization_id)
                assert total == -cost_of(PRICE, 300)
                async with sessions() as session:
                    deployment = await session.get(Deployment, dep_id)
                    assert deployment is not None
                    assert deployment.state == "pending"
                    assert "restart" in deployment.state_reason
                    run = await session.get(DeploymentRun, run_id)
                    assert run is not None and run.ended_at == T0 + timedelta(seconds=300)
                    assert await session.scalar(select(func.count(Server.id))) == 0
                for _ in range(600):
                    await supervisor.tick()
                    async with sessions() as session:
                        deployment = await session.get(Deployment, dep_id)
                        assert deployment is not None
                        if deployment.state == "ready":
                            break
                    await asyncio.sleep(0.1)
                assert deployment.state == "ready"
                await supervisor.tick()  # ticking on adds nothing: one open run, one server
                async with sessions() as session:
                    open_runs = await session.scalar(
                        select(func.count(DeploymentRun.id)).where(
                            DeploymentRun.deployment_id == dep_id,
                            DeploymentRun.ended_at.is_(None),
                        )
                    )
                    servers = await session.scalar(select(func.count(Server.id)))
                assert (open_runs, servers) == (1, 1)
                total, _, _ = await books(sessions, organization_id)
                # The lost run's 300 seconds, and the new run's one-minute minimum.
                assert total == -(cost_of(PRICE, 300) + cost_of(PRICE, 60))
            finally:
                await supervisor.close()

    asyncio.run(scenario())


def test_an_exhausted_balance_stops_deployments(database: str) -> None:
    async def scenario() -> None:
        async with opened(database) as sessions:
            organization_id, dep_id, _ = await setup(sessions, credit=1_000_000, instance_id=None)
            clock = ManualClock(T0 + timedelta(seconds=30))
            supervisor = Supervisor(sessions, {}, clock, start_timeout=60)
            await meter_open_runs(sessions)
            assert await supervisor.stop_unfunded()
            async with sessions() as session:
                deployment = await session.get(Deployment, dep_id)
                assert deployment is not None
                assert (deployment.state, deployment.state_reason) == ("stopping", EXHAUSTED)
            supervisor.providers["runpod"] = LocalProvider(Path("/nonexistent"))
            await supervisor.advance(dep_id)
            async with sessions() as session:
                deployment = await session.get(Deployment, dep_id)
                assert deployment is not None
                assert (deployment.state, deployment.state_reason) == ("stopped", EXHAUSTED)
                reasons = (
                    await session.scalars(
                        select(WebhookEvent.data).where(
                            WebhookEvent.event_type == "deployment.state_changed"
                        )
                    )
                ).all()
            assert [(r["state"], r["reason"]) for r in reasons] == [
                ("stopping", EXHAUSTED),
                ("stopped", EXHAUSTED),
            ]
            # The minute's minimum was charged as far as the balance went, never below zero;
            # the stop at 30 s adds nothing to it.
            assert cost_of(PRICE, 60) > 1_000_000
            total, count, balance = await books(sessions, organization_id)
            assert (total, count, balance) == (-1_000_000, 1, 0)
            async with sessions() as session:
                assert await reconcile(session) == []
            assert not await supervisor.stop_unfunded()

    asyncio.run(scenario())
