"""What the gateway sees of each deployment's traffic, written where the compute worker
reads it: the last moment a request for it arrived or was in flight, and since when every
slot of its replicas has been taken.

The gateway sees every request to a deployment, whatever runs it, so this works for every
provider, including those (RunPod) whose pods report no request counters. A request only
marks its deployment in memory; a loop writes the marks every COMPUTE_TRAFFIC_FLUSH_SECONDS,
so the hot path never waits on the database. `last_request_at` only moves forward, so
several gateways can write it; `busy_since` is this gateway's view of its slots.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy import or_, update

from gptapi.gateway.upstream.registry import Pool, UpstreamRegistry
from gptapi.kit.clock import Clock
from gptapi.kit.db import SessionMaker
from gptapi.models import Deployment

log = logging.getLogger(__name__)


def saturated(pool: Pool) -> bool:
    """Every slot of every healthy server taken, or requests waiting for one."""
    if pool.waiters:
        return True
    healthy = [s for s in pool.servers if s.healthy]
    capacity = sum(s.slots for s in healthy)
    return capacity > 0 and sum(s.in_flight for s in healthy) >= capacity


class DeploymentTraffic:
    def __init__(self, sessions: SessionMaker, registry: UpstreamRegistry, clock: Clock) -> None:
        self._sessions = sessions
        self._registry = registry
        self._clock = clock
        self._touched: set[str] = set()
        # Deployments this gateway has served, and since when each has been saturated.
        self._busy_since: dict[str, datetime | None] = {}

    def touch(self, deployment_id: str) -> None:
        """A request for this deployment arrived."""
        self._touched.add(deployment_id)

    def _observe(self, now: datetime) -> tuple[dict[str, datetime | None], set[str]]:
        """(busy_since of each deployment whose view changed, deployments active now)."""
        touched, self._touched = self._touched, set()
        changed: dict[str, datetime | None] = {}
        active = set(touched)
        gone: set[str] = set()
        for deployment_id in touched | set(self._busy_since):
            pool = self._registry.pool(deployment_id)
            if pool is None or not pool.servers:
                if deployment_id not in touched:
                    gone.add(deployment_id)
                busy = None
            else:
                if pool.waiters or any(s.in_flight for s in pool.servers):
                    active.add(deployment_id)
                busy = self._busy_since.get(deployment_id) or now if saturated(pool) else None
            if busy != self._busy_since.get(deployment_id) or deployment_id not in self._busy_since:
                changed[deployment_id] = busy
            self._busy_since[deployment_id] = busy
        for deployment_id in gone:
            del self._busy_since[deployment_id]
        return changed, active

    async def flush(self) -> None:
        now = self._clock.now()
        changed, active = self._observe(now)
        if not changed and not active:
            return
        try:
            async with self._sessions() as session, session.begin():
                for deployment_id in active:
                    await session.execute(
                        update(Deployment)
                        .where(
                            Deployment.id == deployment_id,
                            or_(
                                Deployment.last_request_at.is_(None),
                                Deployment.last_request_at < now,
                            ),
                        )
                        .values(last_request_at=now)
                    )
                for deployment_id, busy in changed.items():
                    await session.execute(
                        update(Deployment)
                        .where(Deployment.id == deployment_id)
                        .values(busy_since=busy)
                    )
        except Exception:
            log.exception("could not record deployment traffic; will retry")
            self._touched |= active
            for deployment_id in changed:
                self._busy_since.pop(deployment_id, None)

    async def run(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await self.flush()
