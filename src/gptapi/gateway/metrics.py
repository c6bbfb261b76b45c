"""Prometheus metrics of the gateway, served at /metrics."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "gptapi_requests_total", "Requests answered by the /v1 API", ["endpoint", "model", "status"]
)
LATENCY = Histogram(
    "gptapi_request_duration_seconds",
    "Time to the full response (streams: to the last byte)",
    ["endpoint", "model"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
TIME_TO_FIRST_TOKEN = Histogram(
    "gptapi_time_to_first_token_seconds",
    "Streaming: time until the first content chunk",
    ["model"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
TOKENS = Counter("gptapi_tokens_total", "Tokens metered", ["model", "kind"])
COST = Counter("gptapi_cost_nanodollars_total", "Cost billed, nano-dollars", ["model"])
UPSTREAM_HEALTHY = Gauge(
    "gptapi_upstream_healthy", "1 when the upstream server passes health checks", ["server"]
)
UPSTREAM_IN_FLIGHT = Gauge(
    "gptapi_upstream_in_flight", "Requests in flight to an upstream server", ["server"]
)
QUEUE_DEPTH = Gauge("gptapi_queue_depth", "Requests waiting for a free upstream slot", ["model"])
UPSTREAM_RETRIES = Counter(
    "gptapi_upstream_retries_total",
    "Attempts that failed before the first byte; the request moves on to another server if any",
    ["model"],
)
OVER_HOLD = Counter(
    "gptapi_over_hold_nanodollars_total",
    "Cost upstream usage implied above the request's hold, not charged",
    ["model", "server"],
)
UPSTREAM_SUSPECT = Gauge(
    "gptapi_upstream_suspect",
    "1 when the server reported usage above what its request could cost",
    ["server"],
)
USAGE_QUEUE_DEPTH = Gauge("gptapi_usage_queue_depth", "Usage records waiting to be committed")
LEDGER_BATCH_SIZE = Histogram(
    "gptapi_ledger_batch_size",
    "Usage records per group commit",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)


@lru_cache(maxsize=1024)
def in_flight_gauge(server: str) -> Any:
    """The in-flight gauge of one server, set twice per request."""
    return UPSTREAM_IN_FLIGHT.labels(server)


@lru_cache(maxsize=4096)
def _request_children(endpoint: str, model: str, status: int) -> tuple[Any, ...]:
    # labels() takes a lock and hashes its arguments; the hot path reuses the children.
    return (
        REQUESTS.labels(endpoint, model, str(status)),
        LATENCY.labels(endpoint, model),
        TOKENS.labels(model, "prompt"),
        TOKENS.labels(model, "completion"),
        COST.labels(model),
    )


def observe_request(
    endpoint: str,
    model: str,
    status: int,
    elapsed: float,
    prompt: int,
    completion: int,
    cost: int,
) -> None:
    requests, latency, prompt_tokens, completion_tokens, cost_total = _request_children(
        endpoint, model, status
    )
    requests.inc()
    latency.observe(elapsed)
    prompt_tokens.inc(prompt)
    completion_tokens.inc(completion)
    cost_total.inc(cost)
