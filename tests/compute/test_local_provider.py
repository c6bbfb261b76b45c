"""The local provider runs a real llama.cpp child and reports it truthfully."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from gptapi.compute.local import LOCAL_MODEL, LocalProvider
from gptapi.compute.provider import InstanceState, UnsupportedWorkload, Workload


async def _wait_running(provider: LocalProvider, instance_id: str) -> str:
    for _ in range(900):
        status = await provider.state(instance_id)
        assert status.state in (InstanceState.STARTING, InstanceState.RUNNING), status
        if status.state is InstanceState.RUNNING:
            assert status.url is not None
            return status.url
        await asyncio.sleep(0.2)
    raise AssertionError("the llama.cpp child never became healthy")


def test_start_serve_logs_metrics_stop(tmp_path: Path) -> None:
    async def scenario() -> None:
        provider = LocalProvider(tmp_path, parallel=1)
        instance_id = await provider.start(Workload(name="my-bot", model=LOCAL_MODEL))
        try:
            url = await _wait_running(provider, instance_id)
            assert provider.url(instance_id) == url
            async with httpx.AsyncClient(base_url=url, timeout=60) as client:
                reply = await client.post(
                    "/v1/chat/completions",
                    json={
                        "model": "my-bot",
                        "messages": [{"role": "user", "content": "Hi"}],
                        "max_tokens": 4,
                    },
                )
            assert reply.status_code == 200, reply.text
            assert reply.json()["usage"]["completion_tokens"] >= 1
            assert any("my-bot" in line for line in await provider.logs(instance_id))
            metrics = await provider.metrics(instance_id)
            assert metrics["tokens_predicted_total"] >= 1
            await provider.stop(instance_id)
            assert (await provider.state(instance_id)).state is InstanceState.STOPPED
            assert provider.url(instance_id) is None
            assert await provider.metrics(instance_id) == {}
        finally:
            await provider.terminate(instance_id)
        assert (await provider.state(instance_id)).state is InstanceState.MISSING

    asyncio.run(scenario())


def test_containers_and_unknown_models_are_refused(tmp_path: Path) -> None:
    provider = LocalProvider(tmp_path)
    with pytest.raises(UnsupportedWorkload, match="containers"):
        asyncio.run(provider.start(Workload(name="pod", image="pytorch/pytorch:2.1.0")))
    with pytest.raises(UnsupportedWorkload, match=r"llama-3\.1-70b"):
        asyncio.run(provider.start(Workload(name="big", model="llama-3.1-70b")))
    assert not list(tmp_path.iterdir())  # nothing was started


def test_a_child_that_dies_is_reported_exited(tmp_path: Path) -> None:
    async def scenario() -> None:
        provider = LocalProvider(tmp_path, parallel=1)
        instance_id = await provider.start(Workload(name="doomed", model=LOCAL_MODEL))
        process = provider._instances[instance_id].process
        assert process is not None
        process.kill()
        await asyncio.to_thread(process.wait)
        status = await provider.state(instance_id)
        assert status.state is InstanceState.EXITED
        assert "exited" in status.reason
        await provider.terminate(instance_id)

    asyncio.run(scenario())
