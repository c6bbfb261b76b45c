"""From one sample of a service to its status: the rules of the status page, pure.

A sample says whether the service answered, how fast, how much of its capacity is up (a
model's pool of servers) and how many of its requests failed since the last sample. Each rule
gives a status and a reason; the service takes the worst of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gptapi.config import Settings


class ServiceStatus(StrEnum):
    OPERATIONAL = "operational"
    DEGRADED = "degraded_performance"
    PARTIAL = "partial_outage"
    MAJOR = "major_outage"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def is_outage(self) -> bool:
        return self.rank >= _RANK[ServiceStatus.PARTIAL]

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


_RANK = {status: rank for rank, status in enumerate(ServiceStatus)}


def worst(statuses: list[ServiceStatus]) -> ServiceStatus:
    return max(statuses, key=lambda status: status.rank, default=ServiceStatus.OPERATIONAL)


@dataclass(frozen=True)
class Thresholds:
    error_rate_degraded: float = 0.05
    error_rate_outage: float = 0.25
    error_min_requests: int = 10
    slow_ms: int = 2000

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        return cls(
            error_rate_degraded=settings.status_error_rate_degraded,
            error_rate_outage=settings.status_error_rate_outage,
            error_min_requests=settings.status_error_min_requests,
            slow_ms=settings.status_slow_ms,
        )


@dataclass(frozen=True)
class Sample:
    reachable: bool = True
    latency_ms: int | None = None
    # Servers in the pool and how many take requests; None for a service without a pool.
    capacity_total: int | None = None
    capacity_up: int = 0
    # Requests answered since the previous sample, and how many of them with a 5xx.
    requests: int = 0
    errors: int = 0
    problem: str = ""  # why it was unreachable


@dataclass(frozen=True)
class Assessment:
    status: ServiceStatus
    reasons: tuple[str, ...]

    @property
    def summary(self) -> str:
        return "; ".join(self.reasons) or "all checks pass"


def assess(sample: Sample, thresholds: Thresholds) -> Assessment:
    findings: list[tuple[ServiceStatus, str]] = []
    if not sample.reachable:
        findings.append((ServiceStatus.MAJOR, sample.problem or "not reachable"))
    if sample.capacity_total is not None:
        total, up = sample.capacity_total, sample.capacity_up
        if total == 0:
            findings.append((ServiceStatus.MAJOR, "no servers configured"))
        elif up == 0:
            findings.append((ServiceStatus.MAJOR, f"none of {total} servers available"))
        elif up < total:
            findings.append((ServiceStatus.PARTIAL, f"{up} of {total} servers available"))
    if sample.requests >= thresholds.error_min_requests:
        rate = sample.errors / sample.requests
        if rate >= thresholds.error_rate_outage:
            findings.append((ServiceStatus.PARTIAL, f"{rate:.0%} of requests failed"))
        elif rate >= thresholds.error_rate_degraded:
            findings.append((ServiceStatus.DEGRADED, f"{rate:.0%} of requests failed"))
    if sample.latency_ms is not None and sample.latency_ms >= thresholds.slow_ms:
        findings.append((ServiceStatus.DEGRADED, f"slow responses ({sample.latency_ms} ms)"))
    status = worst([status for status, _ in findings])
    return Assessment(status, tuple(reason for _, reason in findings))
