"""The rules from one sample to a service status."""

from __future__ import annotations

import pytest

from gptapi.console.status.derive import Sample, ServiceStatus, Thresholds, assess, worst

RULES = Thresholds(
    error_rate_degraded=0.05, error_rate_outage=0.25, error_min_requests=10, slow_ms=2000
)


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        (Sample(latency_ms=20), ServiceStatus.OPERATIONAL),
        (Sample(reachable=False, problem="database unreachable"), ServiceStatus.MAJOR),
        (Sample(capacity_total=0), ServiceStatus.MAJOR),
        (Sample(capacity_total=2, capacity_up=0), ServiceStatus.MAJOR),
        (Sample(capacity_total=2, capacity_up=1), ServiceStatus.PARTIAL),
        (Sample(capacity_total=2, capacity_up=2), ServiceStatus.OPERATIONAL),
        (Sample(requests=100, errors=4), ServiceStatus.OPERATIONAL),
        (Sample(requests=100, errors=5), ServiceStatus.DEGRADED),
        (Sample(requests=100, errors=25), ServiceStatus.PARTIAL),
        # Too few requests to judge by their error rate.
        (Sample(requests=9, errors=9), ServiceStatus.OPERATIONAL),
        (Sample(latency_ms=1999), ServiceStatus.OPERATIONAL),
        (Sample(latency_ms=2000), ServiceStatus.DEGRADED),
        # The worst finding wins.
        (Sample(capacity_total=1, capacity_up=0, latency_ms=5000), ServiceStatus.MAJOR),
        (Sample(capacity_total=3, capacity_up=2, requests=50, errors=5), ServiceStatus.PARTIAL),
    ],
)
def test_sample_to_status(sample: Sample, expected: ServiceStatus) -> None:
    assert assess(sample, RULES).status is expected


def test_reasons_explain_each_finding() -> None:
    assessment = assess(
        Sample(capacity_total=4, capacity_up=1, requests=20, errors=10, latency_ms=3000), RULES
    )
    assert assessment.status is ServiceStatus.PARTIAL
    assert assessment.reasons == (
        "1 of 4 servers available",
        "50% of requests failed",
        "slow responses (3000 ms)",
    )
    assert assess(Sample(), RULES).summary == "all checks pass"


def test_worst_orders_statuses_and_defaults_to_operational() -> None:
    assert worst([]) is ServiceStatus.OPERATIONAL
    assert worst([ServiceStatus.DEGRADED, ServiceStatus.OPERATIONAL]) is ServiceStatus.DEGRADED
    assert worst([ServiceStatus.MAJOR, ServiceStatus.PARTIAL]) is ServiceStatus.MAJOR
    assert ServiceStatus.PARTIAL.is_outage and not ServiceStatus.DEGRADED.is_outage
