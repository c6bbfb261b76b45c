"""Upstream servers, their per-model pools, and the choice of a server for each request.

A request takes the healthy, non-draining server of its model's pool with the fewest
requests in flight, never more in flight than the server has slots (llama-server queues
without limit, so admission control has to live here). When every slot is busy the request
waits, up to a bounded time and queue length, then gets a 503. One server may be in several
pools (one llama-server serving two aliases); its slots are shared.

The wait is fair between tenants (organisations): each has its own line, and a freed slot
goes to the lines in turn, so an organisation with hundreds of requests queued (or one
request of many generations) delays another's next request by at most one of its own per
slot, instead of the whole backlog. A freed slot is handed to the waiter it goes to, so a
request arriving meanwhile cannot take it.

A server whose usage figures cannot be trusted (it reported more than its request could
cost) is marked suspect: it keeps serving, since its answers may be fine and ejecting it
could empty the pool, but it is chosen only when no trusted server has a free slot, and
it shows in the metrics and the log until the gateway restarts or the server is re-added.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

from gptapi.gateway.metrics import (
    QUEUE_DEPTH,
    UPSTREAM_HEALTHY,
    UPSTREAM_SUSPECT,
    in_flight_gauge,
)
from gptapi.gateway.upstream.errors import (
    NoServerAvailable,
    PoolSaturated,
    QueueShareExceeded,
)

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
    # What the loaded model takes besides text ("vision", "audio"), from `/props`; None
    # until a server has said.
    modalities: frozenset[str] | None = None
    # The model's embedding size (`/v1/models` meta `n_embd`), for embeddings `dimensions`.
    n_embd: int | None = None
    in_flight: int = 0
    consecutive_failures: int = 0
    draining_for: set[str] = field(default_factory=set)
    pools: set[str] = field(default_factory=set)
    last_error: str = ""
    suspect: str = ""  # why its usage figures are not trusted; "" when they are

    @property
    def has_free_slot(self) -> bool:
        return self.healthy and self.in_flight < self.slots


@dataclass(eq=False, slots=True)
class _Waiter:
    # Resolves to the server handed over (a slot already taken for it), or None: look again.
    future: asyncio.Future[UpstreamServer | None]
    exclude: set[str]


@dataclass(eq=False)
class Pool:
    model: str
    servers: list[UpstreamServer] = field(default_factory=list)
    # One line per tenant, in arrival order; the dict's order is whose turn comes next.
    lines: dict[Hashable, deque[_Waiter]] = field(default_factory=dict)

    @property
    def waiters(self) -> list[_Waiter]:
        return [w for line in self.lines.values() for w in line]

    def takes(self, server: UpstreamServer, waiter: _Waiter) -> bool:
        return (
            server.healthy
            and server.in_flight < server.slots
            and self.model not in server.draining_for
            and server.base_url not in waiter.exclude
        )

    def next_for(self, server: UpstreamServer) -> _Waiter | None:
        """The waiter whose turn it is that `server` can serve, out of its line, its
        tenant moved to the back of the turns."""
        for tenant, line in self.lines.items():
            for waiter in line:
                if not waiter.future.done() and self.takes(server, waiter):
                    line.remove(waiter)
                    del self.lines[tenant]
                    if line:
                        self.lines[tenant] = line
                    return waiter
        return None

    def leave(self, tenant: Hashable, waiter: _Waiter) -> None:
        line = self.lines.get(tenant)
        if line is not None and waiter in line:
            line.remove(waiter)
            if not line:
                del self.lines[tenant]

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

    @property
    def embedding_length(self) -> int | None:
        known = [s.n_embd for s in self.servers if s.n_embd]
        return min(known) if known else None

    @property
    def modalities(self) -> frozenset[str]:
        """What every server of the pool that has said takes, so any of them can serve it."""
        known = [s.modalities for s in self.servers if s.modalities is not None]
        return frozenset.intersection(*known) if known else frozenset()


class UpstreamRegistry:
    def __init__(
        self, *, eject_after_failures: int, max_queue: int, max_queue_per_tenant: int | None = None
    ) -> None:
        self._servers: dict[str, UpstreamServer] = {}
        self._pools: dict[str, Pool] = {}
        self._eject_after = eject_after_failures
        self._max_queue = max_queue
        self._max_line = max_queue if max_queue_per_tenant is None else max_queue_per_tenant

    @property
    def servers(self) -> list[UpstreamServer]:
        return list(self._servers.values())

    def pool(self, model: str) -> Pool | None:
        return self._pools.get(model)

    def unservable(self) -> list[str]:
        """Models that have servers meant to take their requests (not draining) but none
        that can: every such server is down. A pool with no server at all (scaled to zero,
        or every server drained on purpose) is not counted."""
        return sorted(
            pool.model
            for pool in self._pools.values()
            if any(pool.model not in s.draining_for for s in pool.servers) and not pool.serving
        )

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
            UPSTREAM_SUSPECT.labels(server.base_url).set(0)
        for server in self._servers.values():
            self._wake(server)
        return added, removed

    async def acquire(
        self, model: str, exclude: set[str], timeout: float, tenant: Hashable = None
    ) -> UpstreamServer:
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
                server = min(free, key=lambda s: (bool(s.suspect), s.in_flight / s.slots))
                self._take(server)
                return server
            remaining = deadline - loop.time()
            queued = sum(len(line) for line in pool.lines.values())
            own = len(pool.lines.get(tenant, ()))
            if own >= self._max_line:
                raise QueueShareExceeded(model)
            if remaining <= 0 or queued >= self._max_queue:
                raise PoolSaturated(model)
            waiter = _Waiter(loop.create_future(), exclude)
            pool.lines.setdefault(tenant, deque()).append(waiter)
            QUEUE_DEPTH.labels(model).set(queued + 1)
            try:
                handed = await asyncio.wait_for(asyncio.shield(waiter.future), remaining)
            except BaseException as exc:
                pool.leave(tenant, waiter)
                if waiter.future.done() and not waiter.future.cancelled():
                    # Handed a slot just as it gave up: give it back to the next in turn.
                    if (given := waiter.future.result()) is not None:
                        self.release(given)
                else:
                    waiter.future.cancel()
                QUEUE_DEPTH.labels(model).set(sum(len(line) for line in pool.lines.values()))
                if isinstance(exc, TimeoutError):
                    raise PoolSaturated(model) from None
                raise
            pool.leave(tenant, waiter)  # woken to look again (no slot handed): not in line
            QUEUE_DEPTH.labels(model).set(sum(len(line) for line in pool.lines.values()))
            if handed is not None:
                return handed

    def _take(self, server: UpstreamServer) -> None:
        server.in_flight += 1
        in_flight_gauge(server.base_url).set(server.in_flight)

    def release(self, server: UpstreamServer) -> None:
        server.in_flight -= 1
        in_flight_gauge(server.base_url).set(server.in_flight)
        self._wake(server)

    def report_success(self, server: UpstreamServer) -> None:
        server.consecutive_failures = 0

    def report_failure(self, server: UpstreamServer, reason: str) -> None:
        server.consecutive_failures += 1
        server.last_error = reason
        if server.healthy and server.consecutive_failures >= self._eject_after:
            if orphaned := self._served_only_by(server):
                # Ejecting the last server turns a blip into a 503 for every request until
                # the next health check: it keeps serving, each request failing or not on
                # its own, and the health checks (not request failures) take it out if it
                # is really down.
                if server.consecutive_failures == self._eject_after:
                    log.warning(
                        "not ejecting %s after %d failures (%s): the last server of %s",
                        server.base_url,
                        server.consecutive_failures,
                        reason,
                        ", ".join(sorted(orphaned)),
                    )
                return
            log.warning(
                "ejecting %s after %d failures: %s",
                server.base_url,
                server.consecutive_failures,
                reason,
            )
            self.set_health(server, False)

    def mark_suspect(self, server: UpstreamServer, reason: str) -> None:
        if not server.suspect:
            log.warning("upstream %s is now suspect: %s", server.base_url, reason)
        server.suspect = reason
        UPSTREAM_SUSPECT.labels(server.base_url).set(1)

    def _served_only_by(self, server: UpstreamServer) -> list[str]:
        """The models no other server would serve if `server` stopped."""
        return [
            model
            for model in server.pools
            if model not in server.draining_for
            and (pool := self._pools.get(model)) is not None
            and not any(
                s is not server and s.healthy and model not in s.draining_for for s in pool.servers
            )
        ]

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
        # Hand each free slot of `server` to the waiter whose turn it is, in each pool the
        # server belongs to. A pool with no healthy server wakes everyone, to fail fast.
        for model in server.pools:
            pool = self._pools.get(model)
            if pool is None:
                continue
            if not any(s.healthy for s in pool.servers):
                for waiting in pool.waiters:
                    if not waiting.future.done():
                        waiting.future.set_result(None)
                continue
            while server.in_flight < server.slots:
                turn = pool.next_for(server)
                if turn is None:
                    break
                self._take(server)
                turn.future.set_result(server)
