"""Standard Webhooks message format: the payload envelope, secrets and signature headers."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Sequence
from datetime import datetime

from standardwebhooks import Webhook

from gptapi.kit.clock import rfc3339
from gptapi.kit.sealed import Sealer
from gptapi.models.webhook_event import WebhookEvent

SECRET_PREFIX = "whsec_"
_SECRET_BYTES = 32  # the spec asks for 24-64 random bytes


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode()


def secret_sealer(secret_key: bytes) -> Sealer:
    """Endpoint secrets are stored sealed; only the worker opens them, to sign."""
    return Sealer(secret_key, "webhook secrets")


def payload(event: WebhookEvent) -> str:
    """The request body: built only from stored fields, so every attempt sends the same
    bytes. ASCII-only JSON, so the signed text and the sent bytes cannot differ."""
    envelope = {
        "type": event.event_type,
        "timestamp": rfc3339(event.created_at),
        "data": event.data,
    }
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True)


def headers(
    *, message_id: str, body: str, signing_secrets: Sequence[str], now: datetime
) -> dict[str, str]:
    """Headers for one attempt; one signature per live secret, so receivers holding either
    the old or the new secret accept the message during a rotation."""
    signature = " ".join(Webhook(secret).sign(message_id, now, body) for secret in signing_secrets)
    return {
        "content-type": "application/json",
        "user-agent": "GPT-API-Webhooks/1",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
