"""Coinbase Commerce: charges over its REST API and signed webhook events.

Requests carry `X-CC-Api-Key` and `X-CC-Version: 2018-03-22`; answers wrap the object in
`{"data": …}`. Webhook deliveries are `{"id", "scheduled_for", "attempt_number", "event": {…}}`
signed with `X-CC-Webhook-Signature`: the hex HMAC-SHA256 of the raw body under the shared
secret. The signature has no timestamp, so replays are caught by the event's id and by
applying the charge as Commerce has it now, never the event's copy.
`COINBASE_COMMERCE_API_BASE` points the client elsewhere (tests run a local double).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from gptapi.config import Settings

API_VERSION = "2018-03-22"


class CommerceError(Exception):
    """Commerce refused the request or could not be reached."""


class BadSignature(Exception):
    pass


@dataclass(frozen=True)
class CommerceEvent:
    id: str
    type: str
    charge_id: str


class CoinbaseCommerce:
    def __init__(self, settings: Settings) -> None:
        self._base = settings.coinbase_commerce_api_base.rstrip("/")
        self._headers = {
            "X-CC-Api-Key": settings.coinbase_commerce_api_key,
            "X-CC-Version": API_VERSION,
        }
        self.webhook_secret = settings.coinbase_commerce_webhook_secret

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                response = await client.request(
                    method, f"{self._base}{path}", json=body, headers=self._headers
                )
        except httpx.TransportError as exc:
            raise CommerceError(f"Coinbase Commerce could not be reached: {exc}") from exc
        if not response.is_success:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:200]
            raise CommerceError(f"Coinbase Commerce answered {response.status_code}: {message}")
        return response.json()["data"]

    async def create_charge(
        self,
        *,
        organization_id: uuid.UUID,
        amount_cents: int,
        redirect_url: str,
        cancel_url: str,
    ) -> dict[str, Any]:
        amount = f"{Decimal(amount_cents) / 100:.2f}"
        charge: dict[str, Any] = await self._call(
            "POST",
            "/charges",
            {
                "name": "API credit",
                "description": f"GPT API credit ${amount}",
                "pricing_type": "fixed_price",
                "local_price": {"amount": amount, "currency": "USD"},
                "metadata": {"organization_id": str(organization_id)},
                "redirect_url": redirect_url,
                "cancel_url": cancel_url,
            },
        )
        return charge

    async def retrieve_charge(self, charge_id: str) -> dict[str, Any]:
        charge: dict[str, Any] = await self._call("GET", f"/charges/{charge_id}")
        return charge

    def parse_event(self, payload: bytes, signature: str | None) -> CommerceEvent:
        """Verify `X-CC-Webhook-Signature` over the raw body, then read the event; raises
        BadSignature, or ValueError for a body that is no charge event."""
        expected = hmac.new(self.webhook_secret.encode(), payload, hashlib.sha256).hexdigest()
        if not signature or not hmac.compare_digest(expected, signature.strip().lower()):
            raise BadSignature("The X-CC-Webhook-Signature header does not match the body.")
        delivery = json.loads(payload)
        event = delivery.get("event") if isinstance(delivery, dict) else None
        data = event.get("data") if isinstance(event, dict) else None
        if not (
            isinstance(event, dict)
            and isinstance(event.get("id"), str)
            and isinstance(event.get("type"), str)
            and isinstance(data, dict)
            and isinstance(data.get("id"), str)
        ):
            raise ValueError("not a Coinbase Commerce event")
        return CommerceEvent(event["id"], event["type"], data["id"])


def build_commerce(settings: Settings) -> CoinbaseCommerce | None:
    return CoinbaseCommerce(settings) if settings.coinbase_commerce_api_key else None
