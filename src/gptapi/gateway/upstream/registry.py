"""Upstream servers, their per-model pools, and the choice of a server for each request.

A request takes the healthy, non-draining server of its model's pool with the fewest
requests in flight, never more in flight than the server has slots (llama-server queues
without limit, so admission control has to live here). When every slot is busy the request
waits, in order, up to a bounded time and queue length, then gets a 503. One server may be
in several pools (one llama-server serving two aliases); its slots are shared.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from gptapi.gateway.metrics import QUEUE_DEPTH, UPSTREAM_HEALTHY, UPSTREAM_IN_FLIGHT
from gptapi.gateway.upstream.errors import NoServerAvailable, PoolSaturated

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServerSpec:
    model: str
    base_url: str
    api_key: str | None = None
    draining: bool = False


@dataclass(eq=False)
class UpstreamServer:
    base_url: str
    api_key: str | None = None
    healthy: bool = False
    slots: int = 1
    n_ctx: int | None = None
    in_flight: int = 0
    consecutive_failures: int = 0
    draining_for: set[str] = field(default_factory=set)
    pools: set[str] = field(default_factory=set)
    last_error: str = ""

    @property
    def has_free_slot(self) -> bool:
        return self.healthy and self.in_flight < self.slots


@dataclass(eq=False)
class Pool:
    model: str
    servers: list[UpstreamServer] = field(default_factory=list)
    waiters: deque[asyncio.Future[None]] = field(default_factory=deque)

    def candidates(self, exclude: set[str]) -> list[UpstreamServer]:
        return [
            s
            for s in self.servers
            if s.healthy and self.model not in s.draining_for and s.base_url not in exclude
        ]

    @property
    def serving(self) -> bool:
        """Some server of the pool takes new requests."""
        return any(s.healthy and self.model not in s.draining_for for s in self.servers)

    @property
    def context_length(self) -> int | None:
        known = [s.n_ctx for s in self.servers if s.n_ctx]
        return min(known) if known else None


class UpstreamRegistry:
    def __init__(self, *, eject_after_failures: int, max_queue: int) -> None:
        self._servers: dict[str, UpstreamServer] = {}
        self._pools: dict[str, Pool] = {}
        self._eject_after = eject_after_failures
        self._max_queue = max_queue

    @property
    def servers(self) -> list[UpstreamServer]:
        return list(self._servers.values())

    def pool(self, model: str) -> Pool | None:
        return self._pools.get(model)

    def sync(
        self, specs: Iterable[ServerSpec]
    ) -> tuple[list[UpstreamServer], list[UpstreamServer]]:
        """Make the registry match `specs`; returns the servers added and removed."""
        wanted: dict[str, list[ServerSpec]] = {}
        for spec in specs:
            wanted.setdefault(spec.base_url.rstrip("/"), []).append(spec)
        added: list[UpstreamServer] = []
        removed: list[UpstreamServer] = []
        for url in list(self._servers):
            if url not in wanted:
                removed.append(self._servers.pop(url))
        for url, server_specs in wanted.items():
            server = self._servers.get(url)
            if server is None:
                server = self._servers[url] = UpstreamServer(url)
                added.append(server)
            server.api_key = server_specs[0].api_key
            server.pools = {s.model for s in server_specs}
            server.draining_for = {s.model for s in server_specs if s.draining}
        for pool in self._pools.values():
            pool.servers = []
        for server in self._servers.values():
            for model in server.pools:
                self._pools.setdefault(model, Pool(model)).servers.append(server)
        for server in removed:
            server.healthy = False
            UPSTREAM_HEALTHY.labels(server.base_url).set(0)
        for server in self._servers.values():
            self._wake(server)
        return added, removed

    async def acquire(self, model: str, exclude: set[str], timeout: float) -> UpstreamServer:
        pool = self._pools.get(model)
        if pool is None:
            raise NoServerAvailable(model)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            candidates = pool.candidates(exclude)
            if not candidates:
                raise NoServerAvailable(model)
            free = [s for s in candidates if s.in_flight < s.slots]
            if free:
                server = min(free, key=lambda s: s.in_flight / s.slots)
                server.in_flight += 1
                UPSTREAM_IN_FLIGHT.labels(server.base_url).set(server.in_flight)
                return server
            remaining = deadline - loop.time()
            if remaining <= 0 or len(pool.waiters) >= self._max_queue:
                raise PoolSaturated(model)
            waiter: asyncio.Future[None] = loop.create_future()
            pool.waiters.append(waiter)
            QUEUE_DEPTH.labels(model).set(len(pool.waiters))
            try:
                await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                raise PoolSaturated(model) from None
            finally:
                if waiter in pool.waiters:
                    pool.waiters.remove(waiter)
                QUEUE_DEPTH.labels(model).set(len(pool.waiters))

    def release(self, server: UpstreamServer) -> None:
        server.in_flight -= 1
        UPSTREAM_IN_FLIGHT.labels(server.base_url).set(server.in_flight)
        self._wake(server)

    def report_success(self, server: UpstreamServer) -> None:
        server.consecutive_failures = 0

    def report_failure(self, server: UpstreamServer, reason: str) -> None:
        server.consecutive_failures += 1
        server.last_error = reason
        if server.healthy and server.consecutive_failures >= self._eject_after:
            log.warning(
                "ejecting %s after %d failures: %s",
                server.base_url,
                server.consecutive_failures,
                reason,
            )
            self.set_health(server, False)

    def set_health(
        self,
        server: UpstreamServer,
        healthy: bool,
        *,
        slots: int | None = None,
        n_ctx: int | None = None,
    ) -> None:
        if slots:
            server.slots = slots
        if n_ctx:
            server.n_ctx = n_ctx
        if healthy and not server.healthy:
            server.consecutive_failures = 0
        server.healthy = healthy
        UPSTREAM_HEALTHY.labels(server.base_url).set(1 if healthy else 0)
        self._wake(server)

    def _wake(self, server: UpstreamServer) -> None:
        # Wake one waiter per free slot in each pool the server belongs to; woken waiters
        # re-check the pool, so a spurious wake-up costs one loop.
        for model in server.pools:
            pool = self._pools.get(model)
            if pool is None:
                continue
            free = sum(max(0, s.slots - s.in_flight) for s in pool.servers if s.healthy)
            # A pool with no healthy server wakes everyone, so waiters fail fast.
            if not any(s.healthy for s in pool.servers):
                free = len(pool.waiters)
            while free > 0 and pool.waiters:
                waiter = pool.waiters.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    free -= 1
