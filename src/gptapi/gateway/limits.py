"""Per-key rate limits (requests and tokens per minute) as token buckets.

`RateLimiter` is the seam: this in-memory bucket serves one process; a shared store
(Redis) implements the same two calls for several replicas.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from gptapi.kit.durations import go_duration

WINDOW_SECONDS = 60.0


@dataclass(slots=True)
class RateDecision:
    allowed: bool
    headers: dict[str, str] = field(default_factory=dict)
    retry_after: float = 0.0
    exceeded: str | None = None  # "requests" | "tokens"
    limit: int = 0
    remaining: int = 0
    requested: int = 0
    never: bool = False  # the request alone exceeds the limit: retrying cannot help


class RateLimiter(Protocol):
    async def acquire(self, key: str, rpm: int, tpm: int, tokens: int) -> RateDecision: ...

    async def refund(self, key: str, tpm: int, tokens: int) -> None: ...


@dataclass(slots=True)
class _Bucket:
    level: float
    updated: float

    def refill(self, capacity: int, now: float) -> None:
        rate = capacity / WINDOW_SECONDS
        self.level = min(float(capacity), self.level + (now - self.updated) * rate)
        self.updated = now


class InMemoryRateLimiter:
    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self._clock = clock or time.monotonic
        self._requests: dict[str, _Bucket] = {}
        self._tokens: dict[str, _Bucket] = {}

    def _bucket(self, table: dict[str, _Bucket], key: str, capacity: int, now: float) -> _Bucket:
        bucket = table.get(key)
        if bucket is None:
            bucket = table[key] = _Bucket(float(capacity), now)
        else:
            bucket.refill(capacity, now)
        return bucket

    async def acquire(self, key: str, rpm: int, tpm: int, tokens: int) -> RateDecision:
        now = self._clock()
        requests = self._bucket(self._requests, key, rpm, now) if rpm else None
        budget = self._bucket(self._tokens, key, tpm, now) if tpm else None
        decision = RateDecision(allowed=True)
        if requests is not None and requests.level < 1:
            decision = _denied("requests", rpm, requests, 1)
        elif budget is not None and budget.level < tokens:
            decision = _denied("tokens", tpm, budget, tokens)
        else:
            if requests is not None:
                requests.level -= 1
            if budget is not None:
                budget.level -= tokens
        decision.headers = _headers(rpm, requests, tpm, budget)
        return decision

    async def refund(self, key: str, tpm: int, tokens: int) -> None:
        if not tpm or tokens <= 0:
            return
        bucket = self._tokens.get(key)
        if bucket is not None:
            bucket.refill(tpm, self._clock())
            bucket.level = min(float(tpm), bucket.level + tokens)


def _denied(kind: str, limit: int, bucket: _Bucket, needed: int) -> RateDecision:
    rate = limit / WINDOW_SECONDS
    return RateDecision(
        allowed=False,
        exceeded=kind,
        limit=limit,
        remaining=max(0, math.floor(bucket.level)),
        requested=needed,
        retry_after=max(0.001, (needed - bucket.level) / rate),
        never=needed > limit,
    )


def _headers(
    rpm: int, requests: _Bucket | None, tpm: int, budget: _Bucket | None
) -> dict[str, str]:
    headers: dict[str, str] = {}
    if requests is not None:
        headers["x-ratelimit-limit-requests"] = str(rpm)
        headers["x-ratelimit-remaining-requests"] = str(max(0, math.floor(requests.level)))
        headers["x-ratelimit-reset-requests"] = go_duration(
            (rpm - requests.level) * WINDOW_SECONDS / rpm
        )
    if budget is not None:
        headers["x-ratelimit-limit-tokens"] = str(tpm)
        headers["x-ratelimit-remaining-tokens"] = str(max(0, math.floor(budget.level)))
        headers["x-ratelimit-reset-tokens"] = go_duration(
            (tpm - budget.level) * WINDOW_SECONDS / tpm
        )
    return headers
