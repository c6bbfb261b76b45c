"""Medians over rounds, and the ratios and targets the bench reports."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from bench.loadgen import WrkResult


@dataclass(frozen=True, slots=True)
class LoadSummary:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int
    rounds: int
    rps_spread: tuple[float, float]  # min, max over rounds
    cpu_us_per_request: float  # the server's own CPU time (all threads) per request


def summarize(results: list[WrkResult], cpu_us: list[float]) -> LoadSummary:
    rps = [r.rps for r in results]
    return LoadSummary(
        cpu_us_per_request=statistics.median(cpu_us),
        rps=statistics.median(rps),
        p50_ms=statistics.median(r.p50_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
        errors=sum(r.errors for r in results),
        requests=sum(r.requests for r in results),
        rounds=len(results),
        rps_spread=(min(rps), max(rps)),
    )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ratio(value: float, base: float) -> float:
    return value / base if base else float("nan")


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    measured: str
    goal: str
    passed: bool

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "MISS"
