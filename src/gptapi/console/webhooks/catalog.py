"""Every event type an endpoint can subscribe to, with the shape of its `data`.

This is the contract with receivers: whoever calls `gptapi.outbox.emit` for a type passes
`data` shaped like its example here (ids as strings, money in integer nano-dollars with a
`_nanos` suffix, times as ISO 8601 UTC). The catalogue is served at GET /api/webhooks/event-types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gptapi.console.permissions import Capability

_ORG = "5f0c6d1e-8a43-4c4f-9a55-0d2b8f0b9a11"
_KEY = "0b8e4a8e-3f5e-4a7b-9d7e-1c2f3a4b5c6d"
_USER = "9a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
_INCIDENT = "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f"


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    example: dict[str, Any]
    # Subscribing needs the permission that reading the same data in the console needs.
    needs: Capability | None = None


def _incident(status: str, message: str) -> dict[str, Any]:
    return {
        "incident_id": _INCIDENT,
        "title": "Elevated error rate on gpt-oss-120B",
        "status": status,  # investigating | identified | monitoring | resolved
        "severity": "medium",  # low | medium | high | critical
        "impact": "minor",  # none | minor | major | critical (severity, in status-page terms)
        "components": ["gpt-oss-120B"],
        "message": message,
        "started_at": "2026-01-15T10:02:00Z",
        "resolved_at": "2026-01-15T11:30:00Z" if status == "resolved" else None,
    }


_BALANCE = {"organization_id": _ORG, "balance_nanos": 0, "threshold_nanos": 0}

EVENT_TYPES: tuple[EventType, ...] = (
    EventType(
        "usage.created",
        "One API request was metered. Opt-in: high volume, one event per request.",
        {
            "organization_id": _ORG,
            "request_id": "req_7f3a9c0e1b2d4f6a8c0e1b2d",
            "api_key_id": _KEY,
            "model": "gpt-oss-20B",
            "endpoint": "chat.completions",
            "prompt_tokens": 412,
            "completion_tokens": 96,
            "cost_nanos": 151_000,
            "status": 200,
            "outcome": "completed",
            "latency_ms": 843,
            "test_mode": False,  # made with a test-mode key: cost 0, never charged
            "created_at": "2026-01-15T10:02:03Z",
        },
        needs=Capability.USAGE_READ,
    ),
    EventType(
        "usage.daily",
        "Usage for one organisation over one UTC day, by model; sent once after the day ends.",
        {
            "organization_id": _ORG,
            "date": "2026-01-15",
            "requests": 1290,
            "prompt_tokens": 512_000,
            "completion_tokens": 128_000,
            "cost_nanos": 192_000_000,
            "models": [
                {
                    "model": "gpt-oss-20B",
                    "requests": 1290,
                    "prompt_tokens": 512_000,
                    "completion_tokens": 128_000,
                    "cost_nanos": 192_000_000,
                }
            ],
        },
        needs=Capability.USAGE_READ,
    ),
    EventType(
        "balance.low",
        "The credit balance fell below the organisation's low-balance threshold.",
        {**_BALANCE, "balance_nanos": 4_200_000_000, "threshold_nanos": 5_000_000_000},
        needs=Capability.BILLING_READ,
    ),
    EventType(
        "balance.depleted",
        "The credit balance reached zero or below; paid requests are refused until topped up.",
        {**_BALANCE, "balance_nanos": -12_000},
        needs=Capability.BILLING_READ,
    ),
    EventType(
        "balance.runway_low",
        "The balance covers less than an hour of the deployments running now (sent once per "
        "episode; again only after it has covered an hour or more in between).",
        {
            "organization_id": _ORG,
            "balance_nanos": 1_500_000_000,
            "running_nanos_per_hour": 1_990_000_000,
            "hours_left": 0.75,
        },
        needs=Capability.BILLING_READ,
    ),
    EventType(
        "payment.succeeded",
        "A payment was captured and its credit added to the balance.",
        {
            "organization_id": _ORG,
            "payment_id": "pi_3OaBcD2eZvKYlo2C1xYz0AbC",
            "amount_cents": 2000,
            "currency": "usd",
            "credit_nanos": 20_000_000_000,
            "balance_nanos": 24_200_000_000,
            "source": "checkout",  # checkout | auto_refill | crypto | subscription
        },
        needs=Capability.BILLING_READ,
    ),
    EventType(
        "payment.failed",
        "A payment attempt failed; no credit was added.",
        {
            "organization_id": _ORG,
            "payment_id": "pi_3OaBcD2eZvKYlo2C1xYz0AbC",
            "amount_cents": 2000,
            "currency": "usd",
            "source": "checkout",
            "failure_code": "card_declined",
            "failure_message": "Your card was declined.",
        },
        needs=Capability.BILLING_READ,
    ),
    EventType(
        "auto_refill.failed",
        "An automatic top-up could not be charged; it may need the owner's action.",
        {
            "organization_id": _ORG,
            "amount_cents": 2000,
            "currency": "usd",
            "balance_nanos": 900_000_000,
            "threshold_nanos": 1_000_000_000,
            "failure_code": "authentication_required",
            "failure_message": "The card requires authentication.",
            "auto_refill_disabled": False,
        },
        needs=Capability.BILLING_READ,
    ),
    EventType(
        "api_key.created",
        "An API key was created.",
        {
            "organization_id": _ORG,
            "api_key_id": _KEY,
            "name": "production",
            "prefix": "gpt_live_AbCdEfGhIjKl",
            "mode": "live",
            "scopes": [
                "deployments:read",
                "inference",
            ],  # live | test (a gpt_test_ key, never charged)
            "created_by": _USER,
            "created_at": "2026-01-15T10:00:00Z",
        },
    ),
    EventType(
        "api_key.revoked",
        "An API key was revoked; requests using it are refused from now on.",
        {
            "organization_id": _ORG,
            "api_key_id": _KEY,
            "name": "production",
            "prefix": "gpt_live_AbCdEfGhIjKl",
            "revoked_by": _USER,
            "revoked_at": "2026-01-15T12:00:00Z",
        },
    ),
    EventType(
        "deployment.state_changed",
        "A GPU cloud deployment changed state: deploying, ready, stopping, stopped, failed "
        "(with the reason, such as an exhausted balance) or deleted.",
        {
            "organization_id": _ORG,
            "deployment_id": "dep_3f9a0c1e2b4d6f8a",
            "name": "my-bot",
            "catalog_slug": "llama-3.1-70b",
            "state": "ready",
            "previous_state": "starting",
            "reason": "",
            "changed_at": "2026-01-15T10:02:30Z",
        },
    ),
    EventType(
        "pod.state_changed",
        "A custom pod changed state: pending, starting, running, stopping, stopped (its volume "
        "kept), failed (with the reason, such as an exhausted balance), terminating or "
        "terminated.",
        {
            "organization_id": _ORG,
            "pod_id": "pod_5c2e8a1f0b3d7e94",
            "name": "training",
            "gpu_type": "NVIDIA GeForce RTX 4090",
            "gpu_count": 1,
            "state": "running",
            "previous_state": "starting",
            "reason": "",
            "changed_at": "2026-01-15T10:03:10Z",
        },
    ),
    EventType(
        "compute.charged",
        "A running deployment or custom pod was charged: one event per run for every five "
        "minutes of billed time, and one for the rest when it stops; `[from_seconds, "
        "to_seconds)` of the run, right after the previous event's. A deployment's run names "
        "its `deployment_id`; a pod's names its `pod_id` and `charge` (`gpu` for one start of "
        "its GPUs, `storage` for its volume over its life).",
        {
            "organization_id": _ORG,
            "deployment_id": "dep_3f9a0c1e2b4d6f8a",
            "run_id": 42,
            "from_seconds": 300,
            "to_seconds": 600,
            "amount_nanos": 165_833_334,
            "price_nanos_per_hour": 1_990_000_000,
            "run_started_at": "2026-01-15T10:02:30Z",
            "run_ended": False,
        },
        needs=Capability.BILLING_READ,
    ),
    EventType(
        "incident.created",
        "A status-page incident was opened. Platform-wide: sent to every subscribed endpoint.",
        _incident("investigating", "We are investigating elevated error rates."),
    ),
    EventType(
        "incident.updated",
        "A status-page incident changed status or got a new update.",
        _incident("identified", "A faulty upstream node was removed from rotation."),
    ),
    EventType(
        "incident.resolved",
        "A status-page incident was resolved.",
        _incident("resolved", "Error rates are back to normal."),
    ),
)

# Sent only by "send test event", never subscribable.
TEST_EVENT = EventType(
    "webhook.test",
    "A test message sent from the console to check an endpoint.",
    {"message": "This is a test event from GPT API."},
)

EVENT_TYPE_NAMES = frozenset(event.name for event in EVENT_TYPES)
