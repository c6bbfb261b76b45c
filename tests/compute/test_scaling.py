"""The serverless scaling policy: grow on saturated slots, shrink after a whole idle
timeout, never outside [min_replicas, max_replicas]; traffic read from what the gateway
recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gptapi.compute.scaling import STALE_AFTER, desired_replicas, idle_for, saturated_for
from gptapi.models import Deployment

TIMEOUT = timedelta(seconds=300)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def decide(current: int, saturated: bool, idle: float, lo: int = 0, hi: int = 3) -> int:
    return desired_replicas(
        current=current,
        min_replicas=lo,
        max_replicas=hi,
        saturated=saturated,
        idle_for=timedelta(seconds=idle),
        idle_timeout=TIMEOUT,
    )


@pytest.mark.parametrize(
    ("current", "saturated", "idle", "lo", "hi", "expected"),
    [
        (1, False, 299, 0, 3, 1),  # idle, but not for the whole timeout: kept warm
        (1, False, 300, 0, 3, 0),  # a whole timeout idle: scaled to zero
        (1, False, 300, 1, 3, 1),  # never below the minimum
        (2, False, 900, 0, 3, 1),  # one step at a time
        (1, True, 0, 0, 3, 2),  # every slot busy: one more replica
        (1, False, 0, 0, 3, 1),  # a slot free: enough
        (3, True, 0, 0, 3, 3),  # never above the maximum
        (0, False, 900, 1, 3, 1),  # below the minimum: back to it
        (5, False, 0, 0, 3, 3),  # above the maximum (it was lowered): back to it
    ],
)
def test_desired_replicas(
    current: int, saturated: bool, idle: float, lo: int, hi: int, expected: int
) -> None:
    assert decide(current, saturated, idle, lo, hi) == expected


def _seen(last_request: float | None, busy: float | None, ready: float | None = 3600) -> Deployment:
    def ago(seconds: float | None) -> datetime | None:
        return None if seconds is None else NOW - timedelta(seconds=seconds)

    return Deployment(last_request_at=ago(last_request), busy_since=ago(busy), ready_at=ago(ready))


def test_idle_and_saturation_from_the_gateway_record() -> None:
    assert idle_for(_seen(40, None), NOW) == timedelta(seconds=40)
    # Woken by a request older than the replica: idle since the replica became ready.
    assert idle_for(_seen(100, None, ready=30), NOW) == timedelta(seconds=30)
    assert idle_for(_seen(None, None, ready=None), NOW) == timedelta(0)
    assert saturated_for(_seen(1, 12), NOW) == timedelta(seconds=12)
    assert saturated_for(_seen(1, None), NOW) == timedelta(0)  # a slot is free
    # A mark the gateway stopped refreshing counts for nothing.
    stale = STALE_AFTER.total_seconds() + 1
    assert saturated_for(_seen(stale, stale + 5), NOW) == timedelta(0)
