"""The RunPod provider against a loopback double of RunPod's REST API v2: the pod lifecycle,
"running" that is not yet "ready", and every failure RunPod gives: no capacity for a GPU
type, 401, 429, 5xx, a pod that dies, a pod that never gets ready. Nothing is charged for a
pod that never became ready."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from gptapi.compute.billing import cost_of
from gptapi.compute.provider import (
    InstanceState,
    ProviderError,
    UnsupportedWorkload,
    Workload,
)
from gptapi.compute.runpod import RunPodProvider
from gptapi.compute.supervisor import Supervisor
from gptapi.kit.clock import ManualClock
from gptapi.kit.db import SessionMaker
from gptapi.models import Deployment, DeploymentRun, Server
from tests.support.compute import PRICE, T0, books, opened, setup
from tests.support.runpod_double import API_KEY, NO_CAPACITY, RunPodDouble

# The seeded catalog's llama-3.1-70b entry.
A100 = "NVIDIA A100 80GB PCIe"
WORKLOAD = Workload(
    name="big-bot",
    image="ghcr.io/ggml-org/llama.cpp:server-cuda",
    args=(
        *("-hf", "bartowski/Meta-Llama-3.1-70B-Instruct-GGUF:Q4_K_M", "--host", "0.0.0.0"),
        *("--port", "8080", "-ngl", "99", "--metrics", "-np", "4", "-c", "16384"),
    ),
    gpu_type=A100,
    gpu_count=1,
)


@pytest.fixture
def runpod() -> Iterator[RunPodDouble]:
    double = RunPodDouble().start()
    try:
        yield double
    finally:
        double.stop()


def provider_for(double: RunPodDouble, key: str = API_KEY) -> RunPodProvider:
    return RunPodProvider(key, api_base=double.base_url, proxy_url=double.proxy_url)


def test_pod_lifecycle_speaks_rest_v2(runpod: RunPodDouble) -> None:
    async def scenario() -> None:
        provider = provider_for(runpod)
        pod_id = await provider.start(WORKLOAD)
        sent = runpod.created[0]
        assert sent["gpu"] == {"id": "NVIDIA A100 80GB PCIe", "count": 1}
        assert (sent["image"], sent["cloud"], sent["ports"]) == (
            "ghcr.io/ggml-org/llama.cpp:server-cuda",
            "SECURE",
            ["8080/http"],
        )
        assert sent["args"].startswith("-hf bartowski/Meta-Llama-3.1-70B-Instruct-GGUF:Q4_K_M ")
        assert (sent["disk"], "mounts" in sent) == (50, False)  # no volume: nothing to keep
        # RUNNING on RunPod, but /health still says 503: starting, not ready.
        first = await provider.state(pod_id)
        assert first.state is InstanceState.STARTING
        assert first.url == f"{runpod.base_url}/proxy/{pod_id}-8080"
        ready = await provider.state(pod_id)
        assert ready.state is InstanceState.RUNNING
        assert await provider.logs(pod_id) == ["llama-server for big-bot listening on 8080"]
        assert await provider.metrics(pod_id) == {"uptime_seconds": 42.0, "gpu_util_percent": 78.0}
        await provider.stop(pod_id)
        assert runpod.pods[pod_id].status == "EXITED"  # kept, with its volume
        assert (await provider.state(pod_id)).state is InstanceState.STOPPED
        await provider.terminate(pod_id)
        assert pod_id not in runpod.pods
        assert (await provider.state(pod_id)).state is InstanceState.MISSING
        await provider.terminate(pod_id)  # terminating a pod already gone is no error
        # After a restart a fresh provider finds the pod and its proxy URL from RunPod alone.
        again = await provider.start(WORKLOAD)
        fresh = provider_for(runpod)
        assert (await fresh.state(again)).url == f"{runpod.base_url}/proxy/{again}-8080"
        assert runpod.pods[again].actions == []

    asyncio.run(scenario())


def test_failures_are_reported_and_classified(runpod: RunPodDouble) -> None:
    async def scenario() -> None:
        provider = provider_for(runpod)
        runpod.no_capacity.add(A100)
        with pytest.raises(ProviderError) as no_capacity:
            await provider.start(WORKLOAD)
        assert NO_CAPACITY in str(no_capacity.value)
        assert not no_capacity.value.retryable
        runpod.no_capacity.clear()

        with pytest.raises(ProviderError) as unauthorised:
            await provider_for(runpod, key="wrong").start(WORKLOAD)
        assert "401" in str(unauthorised.value)
        assert not unauthorised.value.retryable

        runpod.fail_next(429, "too many requests", {"Retry-After": "7"})
        with pytest.raises(ProviderError) as limited:
            await provider.start(WORKLOAD)
        assert limited.value.retryable
        assert "retry after 7 s" in str(limited.value)

        runpod.fail_next(503, "upstream connect error")
        with pytest.raises(ProviderError) as broken:
            await provider.start(WORKLOAD)
        assert broken.value.retryable
        assert "upstream connect error" in str(broken.value)
        assert runpod.pods == {}  # none of those created a pod

        unreachable = RunPodProvider(API_KEY, api_base="http://127.0.0.1:9", proxy_url="x")
        with pytest.raises(ProviderError) as down:
            await unreachable.state("pod0001xyz")
        assert down.value.retryable

        with pytest.raises(UnsupportedWorkload):
            await provider.start(Workload(name="no-image", model="smollm2-135m"))

        pod_id = await provider.start(WORKLOAD)
        runpod.die(pod_id)
        died = await provider.state(pod_id)
        assert died.state is InstanceState.EXITED
        assert died.reason == "the pod exited on RunPod"
        runpod.die(pod_id, "ERROR")
        assert (await provider.state(pod_id)).reason == "RunPod reports the pod in ERROR"

    asyncio.run(scenario())


async def _tick_until(
    sessions: SessionMaker, supervisor: Supervisor, dep_id: str, state: str
) -> Deployment:
    seen = ""
    for _ in range(50):
        await supervisor.tick()
        async with sessions() as session:
            deployment = await session.get(Deployment, dep_id)
            assert deployment is not None
            if deployment.state == state:
                return deployment
            seen = deployment.state
    raise AssertionError(f"{dep_id} never reached {state}; it is {seen}")


def test_deployment_on_runpod_end_to_end(database: str, runpod: RunPodDouble) -> None:
    async def scenario() -> None:
        async with opened(database) as sessions:
            organization_id, dep_id, _ = await setup(
                sessions, state="pending", run=False, instance_id=None
            )
            clock = ManualClock(T0)
            supervisor = Supervisor(
                sessions, {"runpod": provider_for(runpod)}, clock, start_timeout=600
            )
            # A rate limit and a RunPod outage keep it pending; the next attempt creates it.
            runpod.fail_next(429, headers={"Retry-After": "1"})
            runpod.fail_next(502)
            await supervisor.tick()
            await supervisor.tick()
            async with sessions() as session:
                pending = await session.get(Deployment, dep_id)
                assert pending is not None and pending.state == "pending"
            ready = await _tick_until(sessions, supervisor, dep_id, "ready")
            assert ready.url is not None and ready.url.startswith(runpod.base_url + "/proxy/pod")
            assert len(runpod.pods) == 1
            # Behind RunPod's public proxy the server takes only the gateway's key.
            args = runpod.created[-1]["args"].split()
            key = args[args.index("--api-key") + 1]
            async with sessions() as session:
                server = await session.scalar(select(Server).where(Server.model_name == dep_id))
            assert server is not None
            assert (server.base_url, server.api_key) == (ready.url, key)
            clock.advance(100)
            await supervisor.tick()
            async with sessions() as session, session.begin():
                deployment = await session.get(Deployment, dep_id)
                assert deployment is not None
                deployment.state = "stopping"
            await _tick_until(sessions, supervisor, dep_id, "stopped")
            assert runpod.pods == {}  # a stopped catalog deployment keeps nothing at RunPod
            total, _, _ = await books(sessions, organization_id)
            assert total == -cost_of(PRICE, 100)

    asyncio.run(scenario())


def test_runpod_failures_fail_the_deployment_and_charge_nothing(
    database: str, runpod: RunPodDouble
) -> None:
    async def scenario() -> None:
        async with opened(database) as sessions:
            clock = ManualClock(T0)
            supervisor = Supervisor(
                sessions, {"runpod": provider_for(runpod)}, clock, start_timeout=300
            )
            # No capacity for the GPU type: failed, with RunPod's reason.
            runpod.no_capacity.add(A100)
            org_a, dep_a, _ = await setup(sessions, state="pending", run=False, instance_id=None)
            failed = await _tick_until(sessions, supervisor, dep_a, "failed")
            assert NO_CAPACITY in failed.state_reason
            runpod.no_capacity.clear()

            # Never ready: failed after the start timeout, the pod terminated, nothing charged.
            runpod.never_ready.add("bot")
            org_b, dep_b, _ = await setup(sessions, state="pending", run=False, instance_id=None)
            await _tick_until(sessions, supervisor, dep_b, "starting")
            await supervisor.tick()
            clock.advance(301)
            failed = await _tick_until(sessions, supervisor, dep_b, "failed")
            assert "not ready after 300 s" in failed.state_reason
            assert runpod.pods == {}
            runpod.never_ready.clear()
            for organization_id in (org_a, org_b):
                assert (await books(sessions, organization_id))[:2] == (0, 0)

            # A pod that dies while serving: failed, billed up to when it was last seen.
            org_c, dep_c, _ = await setup(sessions, state="pending", run=False, instance_id=None)
            ready = await _tick_until(sessions, supervisor, dep_c, "ready")
            assert ready.instance_id is not None
            clock.advance(90)
            await supervisor.tick()  # seen healthy at +90 s
            clock.advance(500)
            runpod.die(ready.instance_id)
            died = await _tick_until(sessions, supervisor, dep_c, "failed")
            assert died.state_reason == "the pod exited on RunPod"
            assert (await books(sessions, org_c))[0] == -cost_of(PRICE, 90)
            async with sessions() as session:
                run = await session.scalar(
                    select(DeploymentRun).where(DeploymentRun.deployment_id == dep_c)
                )
                assert run is not None and run.ended_at is not None

    asyncio.run(scenario())
