"""Live views of a deployment: its log followed as Server-Sent Events, and its metrics as a
time series for the graph (per UTC hour over 24 hours, from its requests' usage rows, with
its uptime and the GPU utilisation its provider reports).

A log is followed by asking its provider for the tail again and again and sending what is
new: the lines after the longest overlap between the previous tail and the new one. That
works for any provider that can give a tail (a local log file, RunPod's log API), even one
that only keeps a window of recent lines. The stream follows the deployment's own instance
and ends, with an `end` event, once nothing of it runs (stopped, idle, failed or deleted);
a client that leaves ends it too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.compute.provider import ComputeProvider
from gptapi.console.compute import repository
from gptapi.console.compute.schemas import DeploymentSeries, SeriesPoint
from gptapi.kit.clock import Clock
from gptapi.kit.db import SessionMaker
from gptapi.kit.sse import event
from gptapi.models import Deployment

# States in which the deployment has (or is about to have) an instance whose log grows.
FOLLOWED_STATES = ("pending", "starting", "ready")
# How many of the latest lines each look reads: more than a second of a busy server logs.
LOOK_LINES = 1000
# A comment sent when no line came for this long: keeps proxies from closing a quiet
# stream, and finds out (the write fails) that a client has left.
KEEPALIVE_SECONDS = 15.0
KEEPALIVE = b": keep-alive\n\n"


def new_lines(previous: Sequence[str], current: Sequence[str]) -> list[str]:
    """What `current` (a later tail of the same log) adds to `previous`."""
    for overlap in range(min(len(previous), len(current)), 0, -1):
        if list(previous[-overlap:]) == list(current[:overlap]):
            return list(current[overlap:])
    return list(current)


def line_event(line: str) -> bytes:
    return event(orjson.dumps(line))


async def follow(
    sessions: SessionMaker,
    deployment_id: str,
    provider: ComputeProvider | None,
    *,
    tail: int,
    poll_seconds: float,
) -> AsyncIterator[bytes]:
    """The last `tail` lines, then each new line as it is written; an `end` event (with
    the state) when the deployment no longer runs."""
    # Every look reads the same window, so a later one is the earlier one rolled forward.
    window = max(tail, LOOK_LINES)
    instance: str | None = None
    seen: list[str] = []
    first = True
    loop = asyncio.get_running_loop()
    quiet_since = loop.time()
    while True:
        async with sessions() as session:
            deployment = await session.get(Deployment, deployment_id)
        state = deployment.state if deployment is not None else "deleted"
        current = deployment.instance_id if deployment is not None else None
        if provider is not None and current is not None:
            if current != instance:  # a new instance (started again): its log from the top
                instance, seen = current, []
            lines = await provider.logs(current, window)
            for line in lines[-tail:] if first else new_lines(seen, lines):
                yield line_event(line)
                quiet_since = loop.time()
            seen = lines
        first = False
        if loop.time() - quiet_since >= KEEPALIVE_SECONDS:
            yield KEEPALIVE
            quiet_since = loop.time()
        if state not in FOLLOWED_STATES:
            yield b"event: end\n" + event(orjson.dumps({"state": state}))
            return
        await asyncio.sleep(poll_seconds)


def hour_starts(now: datetime, hours: int) -> list[datetime]:
    """The starts of the last `hours` whole hours, the current one included, oldest first."""
    top = now.replace(minute=0, second=0, microsecond=0)
    return [top - timedelta(hours=h) for h in range(hours - 1, -1, -1)]


async def series(
    db: AsyncSession, deployment: Deployment, providers: dict[str, ComputeProvider], clock: Clock
) -> DeploymentSeries:
    now = clock.now()
    hours = hour_starts(now, 24)
    per_hour = await repository.request_series(db, deployment, hours[0])
    points = []
    for start in hours:
        requests, latency_ms, tokens = per_hour.get(start, (0, 0, 0))
        points.append(
            SeriesPoint(
                start=start,
                requests=requests,
                avg_latency_ms=latency_ms / requests if requests else None,
                completion_tokens=tokens,
                tokens_per_second=tokens * 1000 / latency_ms if latency_ms else None,
            )
        )
    provider = providers.get(deployment.provider)
    reported: dict[str, float] = {}
    if provider is not None and deployment.instance_id is not None:
        reported = await provider.metrics(deployment.instance_id)
    running = deployment.state == "ready" and deployment.ready_at is not None
    replicas = (await repository.replicas(db, [deployment.id])).get(deployment.id, [])
    return DeploymentSeries(
        points=points,
        replicas=(1 if running else 0) + sum(1 for r in replicas if r.state == "ready"),
        uptime_seconds=int((now - deployment.ready_at).total_seconds())
        if running and deployment.ready_at is not None
        else None,
        gpu_util_percent=reported.get("gpu_util_percent"),
    )
