"""Every event type an endpoint can subscribe to, with the shape of its `data`.

This is the contract with receivers: whoever calls `gptapi.outbox.emit` for a type passes
`data` shaped like its example here (ids as strings, money in integer nano-dollars with a
`_nanos` suffix, times as ISO 8601 UTC). The catalogue is served at GET /api/webhooks/event-types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_ORG = "5f0c6d1e-8a43-4c4f-9a55-0d2b8f0b9a11"
_KEY = "0b8e4a8e-3f5e-4a7b-9d7e-1c2f3a4b5c6d"
_USER = "9a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
_INCIDENT = "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f"


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    example: dict[str, Any]


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
            "created_at": "2026-01-15T10:02:03Z",
        },
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
    ),
    EventType(
        "balance.low",
        "The credit balance fell below the organisation's low-balance threshold.",
        {**_BALANCE, "balance_nanos": 4_200_000_000, "threshold_nanos": 5_000_000_000},
    ),
    EventType(
        "balance.depleted",
        "The credit balance reached zero or below; paid requests are refused until topped up.",
        {**_BALANCE, "balance_nanos": -12_000},
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
            "source": "checkout",  # checkout | auto_refill
        },
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
    ),
    EventType(
        "api_key.created",
        "An API key was created.",
        {
            "organization_id": _ORG,
            "api_key_id": _KEY,
            "name": "production",
            "prefix": "gpt_live_AbCdEfGhIjKl",
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
