"""Response bodies of the usage API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from gptapi.console.usage.money import usd

Granularity = Literal["hour", "day"]
GroupBy = Literal["model", "key"]


class Totals(BaseModel):
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_nanos: int = 0
    cost_usd: str = "0.000000000"

    @classmethod
    def of(cls, requests: int, prompt: int, completion: int, cost: int) -> Totals:
        return cls(
            requests=requests,
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_tokens=prompt + completion,
            cost_nanos=cost,
            cost_usd=usd(cost),
        )


class Summary(Totals):
    start: datetime
    end: datetime
    month_to_date_cost_nanos: int
    month_to_date_cost_usd: str


class GroupTotals(Totals):
    id: str  # model id or API key id
    name: str
    key_prefix: str | None = None


class Bucket(Totals):
    start: datetime
    groups: list[GroupTotals] = []


class Timeseries(BaseModel):
    start: datetime
    end: datetime
    granularity: Granularity
    group_by: GroupBy | None
    buckets: list[Bucket]


class Breakdown(BaseModel):
    start: datetime
    end: datetime
    by: GroupBy
    groups: list[GroupTotals]


class RequestKey(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str


class RequestRecord(BaseModel):
    request_id: str
    created_at: datetime
    model: str
    key: RequestKey
    endpoint: str
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    characters: int = Field(description="Characters read out (speech).")
    audio_seconds: int = Field(description="Seconds of audio heard (transcription).")
    cost_nanos: int
    cost_usd: str
    status: int
    outcome: str
    latency_ms: int
    test_mode: bool  # made with a test-mode key: never charged


class RequestPage(BaseModel):
    data: list[RequestRecord]
    next_cursor: str | None


class LatencyGroup(BaseModel):
    model: str
    requests: int
    p50_ms: int
    p90_ms: int
    p99_ms: int


class LatencyReport(BaseModel):
    start: datetime
    end: datetime
    sample_limit: int
    sampled: int
    groups: list[LatencyGroup]


Service = Literal["token_api", "deployments", "pods", "storage"]


class ServiceSpend(BaseModel):
    service: Service
    cost_nanos: int
    cost_usd: str


class SpendByService(BaseModel):
    """What the ledger charged in a period, per service, and the GPU time behind it."""

    start: datetime
    end: datetime
    services: list[ServiceSpend]
    total_cost_nanos: int
    total_cost_usd: str
    # Running time in the period of deployments (every replica counted) and custom pods.
    running_hours: float
    gpu_hours: float  # the same, times the GPUs each one holds (0 for CPU deployments)
    average_cost_per_hour_usd: str | None  # deployments' and pods' GPU spend per running hour
