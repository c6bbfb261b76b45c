"""Serverless on RunPod, against the double of its REST API v2: pods report no request
counters, so idleness and saturation come from what the gateway saw of the deployment's
traffic (its own registry and last-request marks, written to the database). A deployment
at zero is woken, kept warm by requests, given a second pod while every slot stays taken,
and scaled back to zero after its idle timeout, every pod billed exactly on its own."""

from __future__ import annotations

import asyncio

from sqlalchemy import select, update

from gptapi.compute.billing import cost_of
from gptapi.compute.supervisor import Supervisor, wake
from gptapi.gateway.traffic import DeploymentTraffic
from gptapi.gateway.upstream.registry import ServerSpec, UpstreamRegistry
from gptapi.kit.clock import ManualClock
from gptapi.kit.db import SessionMaker
from gptapi.models import Deployment, DeploymentReplica, DeploymentRun, Server
from tests.compute.test_runpod import _tick_until, provider_for, runpod  # noqa: F401
from tests.support.compute import PRICE, T0, books, opened, setup
from tests.support.runpod_double import RunPodDouble


async def _deployment(sessions: SessionMaker, dep_id: str) -> Deployment:
    async with sessions() as session:
        deployment = await session.get(Deployment, dep_id)
        assert deployment is not None
        return deployment


async def _servers(sessions: SessionMaker, dep_id: str) -> list[ServerSpec]:
    async with sessions() as session:
        rows = await session.scalars(select(Server).where(Server.model_name == dep_id))
        return [ServerSpec(dep_id, s.base_url, s.api_key) for s in rows]


async def _runs(sessions: SessionMaker, dep_id: str) -> list[DeploymentRun]:
    async with sessions() as session:
        rows = await session.scalars(
            select(DeploymentRun)
            .where(DeploymentRun.deployment_id == dep_id)
            .order_by(DeploymentRun.id)
        )
        return list(rows.all())


def test_scale_out_and_to_zero_on_runpod(database: str, runpod: RunPodDouble) -> None:  # noqa: F811
    async def scenario() -> None:
        async with opened(database) as sessions:
            organization_id, dep_id, _ = await setup(
                sessions, state="idle", run=False, instance_id=None
            )
            async with sessions() as session, session.begin():
                await session.execute(
                    update(Deployment)
                    .where(Deployment.id == dep_id)
                    .values(
                        mode="serverless", min_replicas=0, max_replicas=2, idle_timeout_seconds=60
                    )
                )
            clock = ManualClock(T0)
            supervisor = Supervisor(
                sessions,
                {"runpod": provider_for(runpod)},
                clock,
                start_timeout=600,
                scale_out_after=10,
            )
            registry = UpstreamRegistry(eject_after_failures=3, max_queue=8)
            traffic = DeploymentTraffic(sessions, registry, clock)

            # At zero nothing runs at RunPod; a request wakes it.
            await supervisor.tick()
            assert runpod.pods == {}
            async with sessions() as session, session.begin():
                assert await wake(session, dep_id, clock.now()) == "pending"
            ready = await _tick_until(sessions, supervisor, dep_id, "ready")
            assert len(runpod.pods) == 1
            assert ready.ready_at == T0
            registry.sync(await _servers(sessions, dep_id))
            (first,) = registry.servers
            registry.set_health(first, True, slots=1)

            # The gateway's requests keep it warm: RunPod itself reports no request counts.
            clock.advance(50)
            traffic.touch(dep_id)
            await traffic.flush()
            assert (await _deployment(sessions, dep_id)).last_request_at == clock.now()
            clock.advance(59)  # idle for 59 s: kept
            await supervisor.tick()
            assert (await _deployment(sessions, dep_id)).state == "ready"

            # Its one slot taken for a sustained moment: a second pod, ready, in the pool.
            held = await registry.acquire(dep_id, set(), timeout=1)
            await traffic.flush()
            busy = await _deployment(sessions, dep_id)
            assert busy.busy_since == clock.now() and busy.last_request_at == clock.now()
            await supervisor.tick()
            assert len(runpod.pods) == 1  # saturated, but not for long yet
            clock.advance(10)
            await traffic.flush()  # still every slot taken: the mark is refreshed
            await supervisor.tick()
            assert len(runpod.pods) == 2
            for _ in range(3):
                await supervisor.tick()
            async with sessions() as session:
                replica = await session.scalar(
                    select(DeploymentReplica).where(DeploymentReplica.deployment_id == dep_id)
                )
            assert replica is not None and replica.state == "ready"
            added_at = replica.ready_at
            assert added_at == clock.now()
            specs = await _servers(sessions, dep_id)
            assert len(specs) == 2
            # The new pod is started with the deployment's gateway-only key too.
            # (RunPod takes the arguments as one string.)
            args = [c["args"].split() for c in runpod.created]
            keys = {a[a.index("--api-key") + 1] for a in args}
            assert len(keys) == 1 and {s.api_key for s in specs} == keys
            registry.sync(specs)
            registry.release(held)
            await traffic.flush()
            assert (await _deployment(sessions, dep_id)).busy_since is None

            # A whole idle timeout: one pod, then (min_replicas 0) none; each billed alone.
            clock.advance(60)
            await supervisor.tick()
            assert len(runpod.pods) == 1
            assert (await _deployment(sessions, dep_id)).state == "ready"
            clock.advance(5)
            await supervisor.tick()
            idle = await _deployment(sessions, dep_id)
            assert idle.state == "idle"
            assert "Scaled to zero" in idle.state_reason
            assert runpod.pods == {}
            own, added = await _runs(sessions, dep_id)
            assert (own.billed_seconds, added.billed_seconds) == (50 + 59 + 10 + 65, 60)
            assert own.instance_id != added.instance_id
            total, _, _ = await books(sessions, organization_id)
            assert total == -(cost_of(PRICE, 184) + cost_of(PRICE, 60))
            # Idle, nothing more is charged however long.
            settled = await books(sessions, organization_id)
            clock.advance(3600)
            await supervisor.tick()
            assert await books(sessions, organization_id) == settled

    asyncio.run(scenario())
