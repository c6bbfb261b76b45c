"""The scaling policy of serverless deployments, as pure functions of what was observed.

A serverless deployment runs between `min_replicas` and `max_replicas` replicas. It grows
when every slot it has has been busy for a sustained moment (requests wait), and shrinks
only after it has been idle for its whole idle timeout: a replica that served a request a
moment ago is kept warm, so a steady trickle never pays a cold start per request. Scaling to
zero needs `min_replicas` 0; at zero nothing runs and nothing is charged, and the next
request wakes it.

Traffic is what the gateway saw (it sees every request, whatever the provider): the last
moment a request arrived or was in flight, and since when every slot has been taken.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from gptapi.models import Deployment

# A saturation mark the gateway has not refreshed for this long is stale (the gateway
# stopped, or its requests ended without it saying so): it counts for nothing.
STALE_AFTER = timedelta(seconds=30)


def idle_for(deployment: Deployment, now: datetime) -> timedelta:
    """How long no request has been seen: since the last one, or since it became ready
    (a request that woke it from zero is older than the replica it woke)."""
    seen = [t for t in (deployment.last_request_at, deployment.ready_at) if t is not None]
    return now - max(seen) if seen else timedelta(0)


def saturated_for(deployment: Deployment, now: datetime) -> timedelta:
    """How long every slot has been taken, as the gateway last wrote it; zero when one is
    free. A mark the gateway stopped refreshing counts for nothing."""
    busy = deployment.busy_since
    last = deployment.last_request_at
    if busy is None or last is None or last < busy or now - last > STALE_AFTER:
        return timedelta(0)
    return now - busy


def desired_replicas(
    *,
    current: int,
    min_replicas: int,
    max_replicas: int,
    saturated: bool,
    idle_for: timedelta,
    idle_timeout: timedelta,
) -> int:
    """How many replicas to run next: one more while every slot is taken (up to the
    maximum), one fewer after a whole idle timeout without a request (down to the
    minimum), else as many as now. One step at a time, so a burst never overshoots."""
    floor = max(0, min_replicas)
    ceiling = max(floor, max_replicas)
    if current < floor:
        return floor
    if current > ceiling:
        return ceiling
    if idle_for >= idle_timeout:
        return max(floor, current - 1)
    if saturated:
        return min(ceiling, current + 1)
    return current
