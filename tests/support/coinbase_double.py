"""Coinbase Commerce on loopback, speaking its wire format: `POST /charges` and
`GET /charges/{id or code}` with `X-CC-Api-Key` and `X-CC-Version`, answers wrapped in
`{"data": …}`, errors as `{"error": {"type", "message"}}`; charges with a `timeline` of
statuses (NEW, PENDING, COMPLETED, EXPIRED, UNRESOLVED with a context, RESOLVED) and the
`payments` detected on chain. What the payer's wallet and the chain do is driven by the test
(`pay`, `confirm`, `expire`, `underpay`, `resolve`); `event()` builds a webhook delivery and
its `X-CC-Webhook-Signature` (hex HMAC-SHA256 of the raw body under the shared secret).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.threads import LoopbackDouble

API_KEY = "cc-double-api-key"
WEBHOOK_SECRET = "cc-double-shared-secret"
Json = dict[str, Any]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(status: int, type_: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"type": type_, "message": message}}, status)


class CoinbaseDouble(LoopbackDouble):
    def __init__(self) -> None:
        self.charges: dict[str, Json] = {}
        self.requests: list[tuple[str, str]] = []
        super().__init__(
            Starlette(
                routes=[
                    Route("/charges", self.create, methods=["POST"]),
                    Route("/charges/{ref}", self.retrieve, methods=["GET"]),
                ]
            )
        )

    def _authorised(self, request: Request) -> JSONResponse | None:
        self.requests.append((request.method, request.url.path))
        if request.headers.get("x-cc-api-key") != API_KEY:
            return _error(401, "authorization_error", "No such API key.")
        if not request.headers.get("x-cc-version"):
            return _error(400, "invalid_request", "X-CC-Version header is required")
        return None

    async def create(self, request: Request) -> JSONResponse:
        refused = self._authorised(request)
        if refused is not None:
            return refused
        body = json.loads(await request.body())
        if body.get("pricing_type") not in ("fixed_price", "no_price"):
            return _error(400, "invalid_request", "pricing_type is invalid")
        local = body.get("local_price") or {}
        try:
            amount = Decimal(str(local.get("amount")))
        except InvalidOperation:
            return _error(400, "invalid_request", "local_price amount is invalid")
        if body["pricing_type"] == "fixed_price" and (amount <= 0 or not local.get("currency")):
            return _error(400, "invalid_request", "local_price is required")
        charge_id = str(uuid.uuid4())
        code = secrets.token_hex(4).upper()
        charge: Json = {
            "id": charge_id,
            "resource": "charge",
            "code": code,
            "name": body.get("name"),
            "description": body.get("description"),
            "pricing_type": body["pricing_type"],
            "pricing": {
                "local": {"amount": f"{amount:.2f}", "currency": local["currency"]},
                "settlement": {"amount": f"{amount:.2f}", "currency": "USDC"},
            },
            "metadata": body.get("metadata") or {},
            "redirect_url": body.get("redirect_url"),
            "cancel_url": body.get("cancel_url"),
            "hosted_url": f"{self.url}/pay/{code}",
            "created_at": _now(),
            "expires_at": (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "timeline": [{"status": "NEW", "time": _now()}],
            "payments": [],
        }
        self.charges[charge_id] = charge
        return JSONResponse({"data": charge}, 201)

    async def retrieve(self, request: Request) -> JSONResponse:
        refused = self._authorised(request)
        if refused is not None:
            return refused
        ref = request.path_params["ref"]
        charge = self.charges.get(ref) or next(
            (c for c in self.charges.values() if c["code"] == ref), None
        )
        if charge is None:
            return _error(404, "not_found", "Not found")
        return JSONResponse({"data": charge})

    # -- what the payer's wallet and the chain do
    def _status(self, charge_id: str, status: str, context: str | None = None) -> Json:
        entry: Json = {"status": status, "time": _now()}
        if context:
            entry["context"] = context
        self.charges[charge_id]["timeline"].append(entry)
        return self.charges[charge_id]

    def pay(self, charge_id: str, amount: str | None = None) -> Json:
        """A payment detected on chain (PENDING): not final yet."""
        charge = self.charges[charge_id]
        value = amount or charge["pricing"]["local"]["amount"]
        charge["payments"].append(
            {
                "network": "base",
                "transaction_id": f"0x{secrets.token_hex(32)}",
                "status": "PENDING",
                "detected_at": _now(),
                "value": {
                    "local": {"amount": value, "currency": "USD"},
                    "crypto": {"amount": value, "currency": "USDC"},
                },
            }
        )
        return self._status(charge_id, "PENDING")

    def confirm(self, charge_id: str) -> Json:
        for payment in self.charges[charge_id]["payments"]:
            payment["status"] = "CONFIRMED"
        return self._status(charge_id, "COMPLETED")

    def expire(self, charge_id: str) -> Json:
        return self._status(charge_id, "EXPIRED")

    def underpay(self, charge_id: str, amount: str) -> Json:
        self.pay(charge_id, amount)
        return self._status(charge_id, "UNRESOLVED", "UNDERPAID")

    def resolve(self, charge_id: str) -> Json:
        return self._status(charge_id, "RESOLVED")

    def event(
        self,
        type_: str,
        charge_id: str,
        *,
        event_id: str | None = None,
        secret: str = WEBHOOK_SECRET,
    ) -> tuple[bytes, str]:
        """A webhook delivery as Commerce posts it, and its signature header."""
        body = json.dumps(
            {
                "id": str(uuid.uuid4()),
                "scheduled_for": _now(),
                "attempt_number": 1,
                "event": {
                    "id": event_id or str(uuid.uuid4()),
                    "resource": "event",
                    "type": type_,
                    "api_version": "2018-03-22",
                    "created_at": _now(),
                    "data": self.charges[charge_id],
                },
            }
        ).encode()
        return body, sign(body, secret)


def sign(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
