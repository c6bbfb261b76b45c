"""Live views of a deployment: its log followed as Server-Sent Events (the tail, then each
new line, ended when the deployment stops) and its metrics per hour for the graph, with a
real llama.cpp deployment and with a RunPod pod through the double of its API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import openai
from sqlalchemy import update

from gptapi.compute.supervisor import Supervisor
from gptapi.console.compute import live
from gptapi.kit.clock import ManualClock
from gptapi.models import Deployment
from tests.compute.test_deployments import api_key, deploy, deployments, wait_for_state
from tests.compute.test_runpod import _tick_until, provider_for, runpod  # noqa: F401
from tests.compute.test_serverless import MESSAGES, wait_served
from tests.support.compute import T0, opened, setup
from tests.support.console import Member
from tests.support.platform import Platform
from tests.support.runpod_double import RunPodDouble


def events(lines: Iterator[str]) -> Iterator[tuple[str, object]]:
    """(event name, decoded data) of each Server-Sent Event."""
    name = "message"
    for line in lines:
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield name, json.loads(line.removeprefix("data: "))
            name = "message"


def test_log_stream_and_series_of_a_local_deployment(gpu: Platform, owner: Member) -> None:
    dep_id = deploy(owner, name="chatty-bot").json()["id"]
    base = f"{deployments(owner)}/{dep_id}"
    wait_for_state(owner, dep_id, "ready")
    client = openai.OpenAI(base_url=f"{gpu.url}/v1", api_key=api_key(owner), max_retries=0)
    wait_served(client, "chatty-bot")

    # A client that leaves ends its stream; the deployment and the API carry on.
    with owner.client.http.stream("GET", f"{base}/logs/stream", params={"tail": 1}) as left:
        assert left.headers["content-type"].startswith("text/event-stream")
        assert next(events(left.iter_lines()))[0] == "message"
    assert owner.client.get(base).json()["state"] == "ready"

    with owner.client.http.stream(
        "GET", f"{base}/logs/stream", params={"tail": 3}, timeout=120
    ) as stream:
        received = events(stream.iter_lines())
        tail = [next(received) for _ in range(3)]
        assert all(name == "message" and isinstance(line, str) for name, line in tail)
        # A request is logged by the server as it ends: the stream sends the new lines.
        assert client.chat.completions.create(model="chatty-bot", messages=MESSAGES, max_tokens=3)
        for name, line in received:
            assert name == "message"
            if "stop processing" in str(line):
                break
        # Stopped: the stream says so and ends.
        assert owner.client.post(f"{base}/stop").status_code == 202
        rest = list(received)
    assert rest[-1] == ("end", {"state": "stopped"})

    series = owner.client.get(f"{base}/metrics/series")
    assert series.status_code == 200, series.text
    body = series.json()
    assert body["bucket_seconds"] == 3600 and len(body["points"]) == 24
    busy = [p for p in body["points"] if p["requests"]]
    assert sum(p["requests"] for p in busy) == 1
    assert busy[0]["avg_latency_ms"] is not None and busy[0]["tokens_per_second"] is not None
    assert busy[0]["completion_tokens"] >= 1
    assert all(p["avg_latency_ms"] is None for p in body["points"] if not p["requests"])
    # Stopped: no uptime; the local provider reports no GPU utilisation (it runs on the CPU).
    assert (body["uptime_seconds"], body["gpu_util_percent"], body["replicas"]) == (None, None, 0)
    assert owner.client.get(f"{deployments(owner)}/dep_nope/metrics/series").status_code == 404
    assert owner.client.get(f"{deployments(owner)}/dep_nope/logs/stream").status_code == 404


async def _collect(stream: AsyncIterator[bytes], count: int) -> list[tuple[str, object]]:
    chunks = [await anext(stream) for _ in range(count)]
    return list(events(iter(b"".join(chunks).decode().splitlines())))


def test_log_stream_and_series_of_a_runpod_pod(database: str, runpod: RunPodDouble) -> None:  # noqa: F811
    async def scenario() -> None:
        async with opened(database) as sessions:
            _, dep_id, _ = await setup(sessions, state="pending", run=False, instance_id=None)
            clock = ManualClock(T0)
            provider = provider_for(runpod)
            supervisor = Supervisor(sessions, {"runpod": provider}, clock, start_timeout=600)
            ready = await _tick_until(sessions, supervisor, dep_id, "ready")
            assert ready.instance_id is not None
            stream = live.follow(sessions, dep_id, provider, tail=10, poll_seconds=0.01)
            assert await _collect(stream, 1) == [
                ("message", "llama-server for bot listening on 8080")
            ]
            runpod.write_log(ready.instance_id, "srv  log_server_r: request: POST /v1/chat")
            runpod.write_log(ready.instance_id, "slot release: stop processing")
            assert await _collect(stream, 2) == [
                ("message", "srv  log_server_r: request: POST /v1/chat"),
                ("message", "slot release: stop processing"),
            ]

            clock.advance(125)
            async with sessions() as session:
                deployment = await session.get(Deployment, dep_id)
                assert deployment is not None
                series = await live.series(session, deployment, {"runpod": provider}, clock)
            assert series.gpu_util_percent == 78.0  # RunPod reports it per GPU
            assert series.uptime_seconds == 125 and series.replicas == 1
            assert series.points[-1].start == clock.now().replace(minute=0, second=0)
            assert series.points[0].start == series.points[-1].start - timedelta(hours=23)
            assert all(p.requests == 0 for p in series.points)

            async with sessions() as session, session.begin():
                await session.execute(
                    update(Deployment).where(Deployment.id == dep_id).values(state="stopping")
                )
            await _tick_until(sessions, supervisor, dep_id, "stopped")
            assert [e async for e in stream][-1].startswith(b"event: end\n")

    asyncio.run(scenario())
