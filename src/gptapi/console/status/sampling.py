"""What the monitor measures: upstream servers (registry health plus a timed probe), the
gateway's error counters, and a round trip to the database."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from gptapi.gateway.metrics import REQUESTS
from gptapi.gateway.upstream.client import UpstreamClient
from gptapi.gateway.upstream.registry import UpstreamRegistry, UpstreamServer
from gptapi.kit.db import SessionMaker

PROBE_TIMEOUT = 2.0


def elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def server_name(base_url: str) -> str:
    """A stable public name that does not reveal where the server lives."""
    return "srv-" + hashlib.sha256(base_url.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class ServerReading:
    name: str
    models: tuple[str, ...]
    healthy: bool
    draining: bool
    in_flight: int
    slots: int
    latency_ms: int | None

    def serves(self, model: str) -> bool:
        return model in self.models and self.healthy and not self.draining


async def read_servers(registry: UpstreamRegistry, client: UpstreamClient) -> list[ServerReading]:
    """Every registered server; health as the gateway's checker last saw it."""
    servers = registry.servers
    latencies = await asyncio.gather(*(_probe(client, server) for server in servers))
    return [
        ServerReading(
            name=server_name(server.base_url),
            models=tuple(sorted(server.pools)),
            healthy=server.healthy,
            draining=bool(server.pools) and server.draining_for >= server.pools,
            in_flight=server.in_flight,
            slots=server.slots,
            latency_ms=latency,
        )
        for server, latency in zip(servers, latencies, strict=True)
    ]


async def _probe(client: UpstreamClient, server: UpstreamServer) -> int | None:
    started = time.monotonic()
    try:
        status, _ = await client.get_json(server, "/health", PROBE_TIMEOUT)
    except OSError:
        return None
    return elapsed_ms(started) if status == 200 else None


@dataclass(frozen=True)
class DatabaseProbe:
    ok: bool
    latency_ms: int | None
    problem: str = ""


async def probe_database(sessions: SessionMaker) -> DatabaseProbe:
    started = time.monotonic()
    try:
        async with sessions() as session:
            await session.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        return DatabaseProbe(False, None, f"database unreachable ({type(exc).__name__})")
    return DatabaseProbe(True, elapsed_ms(started))


Counts = dict[str, tuple[int, int]]  # model -> (requests, 5xx answers)


class ErrorCounter:
    """Requests and server errors per model since the previous read, from the /v1 counter of
    this process (a worker running apart from the gateways sees none, and judges by health)."""

    def __init__(self) -> None:
        self._last: Counts | None = None

    def read(self) -> Counts:
        current = _totals()
        previous = current if self._last is None else self._last
        self._last = current
        deltas: Counts = {}
        for model, (requests, errors) in current.items():
            before_requests, before_errors = previous.get(model, (0, 0))
            deltas[model] = (requests - before_requests, errors - before_errors)
        return deltas


def _totals() -> Counts:
    totals: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0])
    for metric in REQUESTS.collect():
        for sample in metric.samples:
            if not sample.name.endswith("_total"):
                continue
            counts = totals[sample.labels["model"]]
            counts[0] += int(sample.value)
            if sample.labels["status"].startswith("5"):
                counts[1] += int(sample.value)
    return {model: (requests, errors) for model, (requests, errors) in totals.items()}
