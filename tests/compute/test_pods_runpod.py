"""The compute worker's side of custom pods against RunPod's REST v2 double, on real
databases under a manual clock: RunPod's failures (401, 429, 5xx), a pod that never runs
(never charged, nothing left behind), one that dies (its GPUs billed to when it was last
seen, its volume until it is terminated), a restart of the platform that re-adopts pods
without charging a second twice, and an exhausted balance."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from gptapi.billing.reconcile import reconcile
from gptapi.compute.billing import cost_of
from gptapi.compute.runpod import RunPodProvider
from gptapi.compute.supervisor import Supervisor
from gptapi.compute.transitions import EXHAUSTED
from gptapi.kit.clock import ManualClock
from gptapi.kit.db import SessionMaker
from gptapi.models import Pod, WebhookEvent
from tests.support.compute import PRICE, T0, books, opened, setup_pod, stray_charge_caught
from tests.support.runpod_double import API_KEY, RunPodDouble

STORAGE = 100_000_000  # $0.10 an hour
POD_KINDS = ("pod",)
STORAGE_KINDS = ("storage",)


@pytest.fixture
def runpod() -> Iterator[RunPodDouble]:
    double = RunPodDouble().start()
    try:
        yield double
    finally:
        double.stop()


def supervisor_for(
    sessions: SessionMaker, double: RunPodDouble, clock: ManualClock, key: str = API_KEY
) -> Supervisor:
    provider = RunPodProvider(key, api_base=double.base_url, proxy_url=double.proxy_url)
    return Supervisor(sessions, {"runpod": provider}, clock, start_timeout=300)


async def pod_of(sessions: SessionMaker, pod_id: str) -> Pod:
    async with sessions() as session:
        pod = await session.get(Pod, pod_id)
    assert pod is not None
    return pod


async def tick_until(
    sessions: SessionMaker, supervisor: Supervisor, pod_id: str, state: str
) -> Pod:
    seen = ""
    for _ in range(20):
        await supervisor.tick()
        pod = await pod_of(sessions, pod_id)
        if pod.state == state:
            return pod
        seen = pod.state
    raise AssertionError(f"{pod_id} never reached {state}; it is {seen}")


async def want(sessions: SessionMaker, pod_id: str, state: str) -> None:
    async with sessions() as session, session.begin():
        pod = await session.get(Pod, pod_id)
        assert pod is not None
        pod.state = state


def test_rate_limits_and_outages_retry_bad_credentials_fail(
    database: str, runpod: RunPodDouble
) -> None:
    async def scenario() -> None:
        async with opened(database) as sessions:
            clock = ManualClock(T0)
            supervisor = supervisor_for(sessions, runpod, clock)
            _, pod_id = await setup_pod(sessions)
            runpod.fail_next(429, "too many requests", {"Retry-After": "1"})
            runpod.fail_next(502, "upstream connect error")
            await supervisor.tick()
            await supervisor.tick()
            assert (await pod_of(sessions, pod_id)).state == "pending"
            assert runpod.pods == {}
            await tick_until(sessions, supervisor, pod_id, "running")
            assert len(runpod.created) == 1  # the retries created one pod, not three

            refused = supervisor_for(sessions, runpod, clock, key="wrong")
            other_org, other_pod = await setup_pod(sessions, name="refused")
            failed = await tick_until(sessions, refused, other_pod, "failed")
            assert "401" in failed.state_reason
            assert (await books(sessions, other_org, ("pod", "storage")))[:2] == (0, 0)

    asyncio.run(scenario())


def test_a_pod_that_never_runs_is_terminated_and_never_charged(
    database: str, runpod: RunPodDouble
) -> None:
    async def scenario() -> None:
        async with opened(database) as sessions:
            clock = ManualClock(T0)
            supervisor = supervisor_for(sessions, runpod, clock)
            runpod.never_ready.add("stuck")
            organization_id, pod_id = await setup_pod(sessions, name="stuck")
            await tick_until(sessions, supervisor, pod_id, "starting")
            await supervisor.tick()
            clock.advance(301)
            failed = await tick_until(sessions, supervisor, pod_id, "failed")
            assert failed.state_reason == "not running after 300 s"
            assert failed.instance_id is None
            assert runpod.pods == {}  # nothing left behind at RunPod to bill
            assert (await books(sessions, organization_id, ("pod", "storage")))[:2] == (0, 0)

    asyncio.run(scenario())


def test_a_pod_that_dies_keeps_its_volume_until_terminated(
    database: str, runpod: RunPodDouble
) -> None:
    async def scenario() -> None:
        async with opened(database) as sessions:
            clock = ManualClock(T0)
            supervisor = supervisor_for(sessions, runpod, clock)
            organization_id, pod_id = await setup_pod(sessions)
            running = await tick_until(sessions, supervisor, pod_id, "running")
            assert running.instance_id is not None
            clock.advance(90)
            await supervisor.tick()  # seen running at +90 s
            clock.advance(500)
            runpod.die(running.instance_id)
            died = await tick_until(sessions, supervisor, pod_id, "failed")
            assert died.state_reason == "the pod exited on RunPod"
            assert died.connection is None
            # Its GPUs up to when it was last seen running; its volume is still there.
            assert (await books(sessions, organization_id, POD_KINDS))[0] == -cost_of(PRICE, 90)
            assert (await books(sessions, organization_id, STORAGE_KINDS))[0] == -cost_of(
                STORAGE, 590
            )
            clock.advance(10)
            await want(sessions, pod_id, "terminating")
            await tick_until(sessions, supervisor, pod_id, "terminated")
            assert runpod.pods == {}
            assert (await books(sessions, organization_id, STORAGE_KINDS))[0] == -cost_of(
                STORAGE, 600
            )
            clock.advance(1000)
            await supervisor.tick()  # a terminated pod is billed no more
            assert (await books(sessions, organization_id, STORAGE_KINDS))[0] == -cost_of(
                STORAGE, 600
            )
            # A stray storage charge, which no pod run accounts for, is caught.
            expected = -(cost_of(PRICE, 90) + cost_of(STORAGE, 600))
            assert await stray_charge_caught(sessions, organization_id, "storage") == [
                ("ledger pods and storage = charges of pod runs", expected, expected - 1)
            ]

    asyncio.run(scenario())


def test_a_restart_readopts_pods_without_charging_twice(
    database: str, runpod: RunPodDouble
) -> None:
    """The platform restarts while a pod runs and another is stopped: the new process (a
    fresh provider that remembers nothing) finds both by their RunPod ids, creates nothing,
    and bills on from exactly where the books stopped."""

    async def scenario() -> None:
        async with opened(database) as sessions:
            clock = ManualClock(T0)
            before = supervisor_for(sessions, runpod, clock)
            org_a, running_id = await setup_pod(sessions, name="running")
            org_b, stopped_id = await setup_pod(sessions, name="stopped")
            await tick_until(sessions, before, running_id, "running")
            await tick_until(sessions, before, stopped_id, "running")
            clock.advance(200)
            await want(sessions, stopped_id, "stopping")
            await tick_until(sessions, before, stopped_id, "stopped")
            entries = (await books(sessions, org_a, ("pod", "storage")))[1]

            # Down for 100 s; RunPod kept running the one and keeping the other's volume.
            clock.advance(100)
            after = supervisor_for(sessions, runpod, clock)
            await after.tick()
            await after.tick()  # ticking again at the same moment adds nothing
            assert len(runpod.created) == 2
            adopted = await pod_of(sessions, running_id)
            assert adopted.state == "running"
            assert adopted.instance_id in runpod.pods
            assert (await books(sessions, org_a, POD_KINDS))[0] == -cost_of(PRICE, 300)
            assert (await books(sessions, org_a, STORAGE_KINDS))[0] == -cost_of(STORAGE, 300)
            # One entry per kind for the 200 s to 300 s, however many ticks looked.
            assert (await books(sessions, org_a, ("pod", "storage")))[1] == entries + 2
            # Stopped: storage only, also across the restart.
            assert (await books(sessions, org_b, POD_KINDS))[0] == -cost_of(PRICE, 200)
            assert (await books(sessions, org_b, STORAGE_KINDS))[0] == -cost_of(STORAGE, 300)

            # Started again after the restart: the same RunPod pod resumes on its volume.
            await want(sessions, stopped_id, "pending")
            resumed = await tick_until(sessions, after, stopped_id, "running")
            assert resumed.instance_id is not None
            assert runpod.pods[resumed.instance_id].actions == ["stop", "start"]
            assert len(runpod.created) == 2
            async with sessions() as session:
                assert await reconcile(session) == []

    asyncio.run(scenario())


def test_an_exhausted_balance_stops_pods_and_keeps_their_volume(
    database: str, runpod: RunPodDouble
) -> None:
    async def scenario() -> None:
        async with opened(database) as sessions:
            clock = ManualClock(T0)
            supervisor = supervisor_for(sessions, runpod, clock)
            organization_id, pod_id = await setup_pod(sessions, credit=1_000_000)
            stopped = await tick_until(sessions, supervisor, pod_id, "stopped")
            # The first minute costs more than the balance: charged as far as it goes, and
            # the pod stopped at once, saying why.
            assert cost_of(PRICE, 60) > 1_000_000
            assert stopped.state_reason == EXHAUSTED
            assert stopped.instance_id is not None
            assert runpod.pods[stopped.instance_id].status == "EXITED"  # the volume is kept
            async with sessions() as session:
                changes = (
                    await session.scalars(
                        select(WebhookEvent.data)
                        .where(WebhookEvent.event_type == "pod.state_changed")
                        .order_by(WebhookEvent.created_at)
                    )
                ).all()
            assert [(c["state"], c["reason"]) for c in changes] == [
                ("starting", ""),
                ("running", ""),
                ("stopping", EXHAUSTED),
                ("stopped", EXHAUSTED),
            ]
            clock.advance(3600)
            await supervisor.tick()
            total, _, balance = await books(sessions, organization_id, ("pod", "storage"))
            assert (total, balance) == (-1_000_000, 0)
            async with sessions() as session:
                assert await reconcile(session) == []

    asyncio.run(scenario())


def test_a_pod_whose_provider_is_gone_fails_and_is_charged_no_more(
    database: str, runpod: RunPodDouble
) -> None:
    async def scenario() -> None:
        async with opened(database) as sessions:
            clock = ManualClock(T0)
            organization_id, pod_id = await setup_pod(sessions)
            await tick_until(sessions, supervisor_for(sessions, runpod, clock), pod_id, "running")
            clock.advance(120)
            # Restarted without RUNPOD_API_KEY: nothing here can manage the pod any more.
            without = Supervisor(sessions, {}, clock, start_timeout=300)
            failed = await tick_until(sessions, without, pod_id, "failed")
            assert failed.state_reason == "provider runpod not configured"
            clock.advance(3600)
            await without.tick()
            total, _, _ = await books(sessions, organization_id, ("pod", "storage"))
            # Its GPUs to when they were last seen running, its volume to when it was let go.
            assert total == -(cost_of(PRICE, 60) + cost_of(STORAGE, 120))

    asyncio.run(scenario())
