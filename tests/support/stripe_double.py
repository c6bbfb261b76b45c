"""A local double of the parts of Stripe's API the platform uses, on a real loopback port.

It speaks Stripe's wire format: form-encoded bodies with bracketed keys (`metadata[a]=b`,
`line_items[0][quantity]=1`), query-string parameters on GET, `expand[]`, JSON objects
shaped as Stripe returns them, errors as `{"error": {"type", "code", "message", "param"}}`
with Stripe's status codes (400, 401, 402 card errors, 404 resource_missing, 409), and
`Idempotency-Key` semantics: a repeated key with the same parameters replays the stored
response (with `Idempotent-Replayed: true`), with different parameters is refused, and while
the first request is still running is a 409 `idempotency_key_in_use`.

Endpoints: customers (create, retrieve), checkout sessions (create in payment and subscription
mode, retrieve), payment intents (create with off-session confirm, retrieve), payment methods
(retrieve), refunds (create), prices (retrieve), subscriptions (retrieve, update
`cancel_at_period_end`) and invoices (retrieve). Billing objects have the shapes of the API
version the library pins (2025-03-31 and later): a subscription's period lives on its items,
an invoice names its subscription under `parent.subscription_details` and its price under
`lines.data[].pricing.price_details`. What a hosted page, a bank or Stripe's billing engine
would do is driven by the test: `complete_checkout`, `settle_async`, `expire_checkout`,
`renew` (a new period and its invoice, paid or failed), `retry_invoice`, `end_subscription`;
cards are picked by name as in Stripe's test mode (`visa`, `authentication_required`,
`declined`). `event(...)` builds an Event and its `Stripe-Signature` header with
`stripe.WebhookSignature`.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe

API_KEY = "sk_test_double"
WEBHOOK_SECRET = "whsec_double_secret"
MIN_CHARGE_CENTS = 50
PERIOD_SECONDS = 30 * 86400  # a month, as far as the double's clock goes
# Two monthly plans, as SUBSCRIPTION_PLANS lists them; `add_price` gives each its Price.
PLANS = (
    {
        "id": "pro",
        "name": "Pro",
        "price_usd": "20.00",
        "included_credit_usd": "25.00",
        "rpm_limit": 3000,
        "tpm_limit": 5000000,
    },
    {"id": "team", "name": "Team", "price_usd": "100.00", "included_credit_usd": "150.00"},
)

CARDS: dict[str, dict[str, str]] = {
    "visa": {"brand": "visa", "last4": "4242"},
    "authentication_required": {"brand": "visa", "last4": "3184"},
    "declined": {"brand": "visa", "last4": "0002"},
}

Json = dict[str, Any]


class StripeFailure(Exception):
    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        extra: Json | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: Json = {"error": {"type": type_, "message": message, **(extra or {})}}
        if code:
            self.body["error"]["code"] = code
        if param:
            self.body["error"]["param"] = param


def missing(kind: str, object_id: str, param: str = "id") -> StripeFailure:
    return StripeFailure(
        404,
        "invalid_request_error",
        f"No such {kind}: '{object_id}'",
        code="resource_missing",
        param=param,
    )


def required(param: str) -> StripeFailure:
    return StripeFailure(
        400,
        "invalid_request_error",
        f"Missing required param: {param}.",
        code="parameter_missing",
        param=param,
    )


def invalid(param: str, message: str) -> StripeFailure:
    return StripeFailure(
        400, "invalid_request_error", message, code="parameter_invalid_integer", param=param
    )


def parse_form(pairs: list[tuple[str, str]]) -> Json:
    """`a[b][0][c]=1` → {"a": {"b": [{"c": "1"}]}}, as Stripe reads form bodies."""
    root: Json = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+|\[\]", key)
        node: Any = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            nxt = None if last else parts[index + 1]
            container: Any = [] if nxt is not None and (nxt.isdigit() or nxt == "[]") else {}
            if isinstance(node, list):
                position = len(node) if part == "[]" else int(part)
                while len(node) <= position:
                    node.append(None)
                if last:
                    node[position] = value
                elif node[position] is None:
                    node[position] = container
                node = node[position]
            else:
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, container)
    return root


def _copy(obj: Json) -> Json:
    copied: Json = json.loads(json.dumps(obj))
    return copied


def _int(params: Json, name: str) -> int:
    if name not in params:
        raise required(name)
    try:
        return int(params[name])
    except (TypeError, ValueError):
        raise invalid(name, f"Invalid integer: {params[name]}") from None


@dataclass
class Stored:
    params: Json
    status: int | None = None
    body: Json | None = None


@dataclass
class StripeDouble:
    """State and behaviour; `serve()` puts it on a port."""

    objects: dict[str, Json] = field(default_factory=dict)
    requests: list[tuple[str, str, Json]] = field(default_factory=list)
    idempotency: dict[str, Stored] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    url: str = ""
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _server: ThreadingHTTPServer | None = None

    # -- objects
    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}{secrets.token_hex(6)}"

    def _get(self, object_id: str, kind: str, param: str = "id") -> Json:
        obj = self.objects.get(object_id)
        if obj is None or obj["object"] != kind:
            raise missing(kind, object_id, param)
        return obj

    def _expand(self, obj: Json, paths: list[str]) -> Json:
        out = _copy(obj)
        for path in paths:
            node = out
            parts = path.split(".")
            for index, part in enumerate(parts):
                value = node.get(part)
                if isinstance(value, str) and value in self.objects:
                    node[part] = _copy(self.objects[value])
                    value = node[part]
                if not isinstance(value, dict):
                    break
                if index < len(parts) - 1:
                    node = value
        return out

    # -- endpoints
    def create_customer(self, params: Json) -> Json:
        customer = {
            "id": self._new_id("cus"),
            "object": "customer",
            "created": int(time.time()),
            "email": params.get("email") or None,
            "name": params.get("name") or None,
            "metadata": params.get("metadata", {}),
            "livemode": False,
            "invoice_settings": {"default_payment_method": None},
        }
        self.objects[customer["id"]] = customer
        return customer

    def create_checkout(self, params: Json) -> Json:
        mode = params.get("mode")
        if mode not in ("payment", "setup", "subscription"):
            raise required("mode") if mode is None else invalid("mode", f"Invalid mode: {mode}")
        for name in ("success_url",):
            if not params.get(name):
                raise required(name)
        customer = params.get("customer")
        if customer is not None:
            self._get(customer, "customer", "customer")
        items = params.get("line_items") or []
        if mode in ("payment", "subscription") and not items:
            raise required("line_items")
        total = 0
        for index, item in enumerate(items):
            if mode == "subscription":
                price = self._get(str(item.get("price")), "price", f"line_items[{index}][price]")
                if price.get("recurring") is None:
                    raise StripeFailure(
                        400,
                        "invalid_request_error",
                        "You must provide at least one recurring price in `subscription` mode "
                        "when using prices.",
                        param=f"line_items[{index}][price]",
                    )
            else:
                price = item.get("price_data") or {}
            amount = _int(price, "unit_amount")
            quantity = _int(item, "quantity")
            if amount < 0 or quantity < 1:
                raise invalid(f"line_items[{index}][price_data][unit_amount]", "Invalid amount")
            total += amount * quantity
        if mode == "payment" and total < MIN_CHARGE_CENTS:
            raise StripeFailure(
                400,
                "invalid_request_error",
                "The Checkout Session's total amount due must add up to at least $0.50 usd",
                code="amount_too_small",
            )
        session_id = self._new_id("cs_test")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": mode,
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": total,
            "amount_subtotal": total,
            "currency": "usd",
            "customer": customer,
            "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata", {}),
            "payment_intent": None,
            "setup_intent": None,
            "subscription": None,
            "invoice": None,
            "success_url": params["success_url"],
            "cancel_url": params.get("cancel_url"),
            "url": f"{self.url}/c/pay/{session_id}",
            "created": int(time.time()),
            "expires_at": int(time.time()) + 86400,
            "livemode": False,
            "payment_intent_data": params.get("payment_intent_data", {}),
            "subscription_data": params.get("subscription_data", {}),
            "line_items_data": items,
        }
        self.objects[session_id] = session
        return self._public_session(session)

    def _public_session(self, session: Json) -> Json:
        hidden = ("payment_intent_data", "subscription_data", "line_items_data")
        return {k: v for k, v in session.items() if k not in hidden}

    def retrieve_checkout(self, session_id: str, expand: list[str]) -> Json:
        return self._expand(self._public_session(self._get(session_id, "checkout.session")), expand)

    def create_payment_intent(self, params: Json) -> Json:
        amount = _int(params, "amount")
        if amount < MIN_CHARGE_CENTS:
            raise StripeFailure(
                400,
                "invalid_request_error",
                "Amount must be at least $0.50 usd",
                code="amount_too_small",
                param="amount",
            )
        if not params.get("currency"):
            raise required("currency")
        customer = params.get("customer")
        if customer:
            self._get(customer, "customer", "customer")
        method_id = params.get("payment_method")
        method = self._get(method_id, "payment_method", "payment_method") if method_id else None
        if method is not None and customer and method.get("customer") != customer:
            raise StripeFailure(
                400,
                "invalid_request_error",
                f"The provided PaymentMethod {method_id} does not belong to customer {customer}.",
                param="payment_method",
            )
        intent = self._intent(amount, customer, method_id, params.get("metadata", {}))
        if params.get("confirm") == "true":
            if method is None:
                raise required("payment_method")
            behaviour = method["_behaviour"]
            if behaviour == "authentication_required" and params.get("off_session") == "true":
                intent["status"] = "requires_payment_method"
                error = {
                    "code": "authentication_required",
                    "message": "This payment requires authentication.",
                }
                intent["last_payment_error"] = {**error, "type": "card_error"}
                raise StripeFailure(
                    402,
                    "card_error",
                    error["message"],
                    code="authentication_required",
                    extra={"payment_intent": self._expand(intent, [])},
                )
            if behaviour == "declined":
                intent["status"] = "requires_payment_method"
                error = {"code": "card_declined", "message": "Your card was declined."}
                intent["last_payment_error"] = {**error, "type": "card_error"}
                raise StripeFailure(
                    402,
                    "card_error",
                    error["message"],
                    code="card_declined",
                    extra={"decline_code": "generic_decline", "payment_intent": dict(intent)},
                )
            self._succeed(intent)
        return self._expand(intent, list(params.get("expand", [])))

    def _intent(self, amount: int, customer: str | None, method: str | None, meta: Json) -> Json:
        intent: Json = {
            "id": self._new_id("pi"),
            "object": "payment_intent",
            "amount": amount,
            "amount_received": 0,
            "currency": "usd",
            "customer": customer,
            "payment_method": method,
            "status": "requires_confirmation" if method else "requires_payment_method",
            "latest_charge": None,
            "last_payment_error": None,
            "metadata": meta,
            "created": int(time.time()),
            "livemode": False,
        }
        self.objects[intent["id"]] = intent
        return intent

    def _succeed(self, intent: Json) -> None:
        charge = {
            "id": self._new_id("ch"),
            "object": "charge",
            "amount": intent["amount"],
            "amount_captured": intent["amount"],
            "amount_refunded": 0,
            "refunded": False,
            "currency": "usd",
            "paid": True,
            "status": "succeeded",
            "payment_intent": intent["id"],
            "payment_method": intent["payment_method"],
            "customer": intent["customer"],
            "metadata": intent["metadata"],
            "receipt_url": f"{self.url}/receipts/{secrets.token_hex(8)}",
            "created": int(time.time()),
            "livemode": False,
        }
        self.objects[charge["id"]] = charge
        intent.update(status="succeeded", amount_received=intent["amount"])
        intent["latest_charge"] = charge["id"]

    def retrieve_payment_intent(self, intent_id: str, expand: list[str]) -> Json:
        return self._expand(self._get(intent_id, "payment_intent"), expand)

    def retrieve_payment_method(self, method_id: str) -> Json:
        method = self._get(method_id, "payment_method")
        return {k: v for k, v in method.items() if not k.startswith("_")}

    def create_refund(self, params: Json) -> Json:
        intent_id = params.get("payment_intent")
        if not intent_id:
            raise required("payment_intent")
        intent = self._get(intent_id, "payment_intent", "payment_intent")
        if intent["status"] != "succeeded":
            raise StripeFailure(
                400,
                "invalid_request_error",
                f"PaymentIntent {intent_id} does not have a successful charge to refund.",
                code="charge_not_refundable",
            )
        charge = self.objects[intent["latest_charge"]]
        amount = _int(params, "amount") if "amount" in params else charge["amount"]
        if amount <= 0 or charge["amount_refunded"] + amount > charge["amount"]:
            raise StripeFailure(
                400,
                "invalid_request_error",
                f"Refund amount (${amount / 100:.2f}) is greater than unrefunded amount on "
                f"charge (${(charge['amount'] - charge['amount_refunded']) / 100:.2f})",
                code="amount_too_large",
                param="amount",
            )
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        refund = {
            "id": self._new_id("re"),
            "object": "refund",
            "amount": amount,
            "charge": charge["id"],
            "payment_intent": intent_id,
            "currency": "usd",
            "status": "succeeded",
            "created": int(time.time()),
        }
        self.objects[refund["id"]] = refund
        return refund

    # -- what the hosted page, the bank and the card holder do
    def _method(self, customer: str | None, card: str) -> Json:
        method: Json = {
            "id": self._new_id("pm"),
            "object": "payment_method",
            "type": "card",
            "card": {**CARDS[card], "exp_month": 12, "exp_year": 2034, "funding": "credit"},
            "customer": customer,
            "created": int(time.time()),
            "livemode": False,
            "_behaviour": card,
        }
        self.objects[method["id"]] = method
        return method

    def complete_checkout(
        self, session_id: str, *, card: str = "visa", delayed: bool = False
    ) -> Json:
        """The payer fills in the hosted page. `delayed` is a bank debit that settles later
        (`settle_async`)."""
        with self.lock:
            session = self._get(session_id, "checkout.session")
            if session["mode"] == "subscription":
                return self._complete_subscription(session, card)
            method = self._method(session["customer"], card)
            data = session["payment_intent_data"]
            intent = self._intent(
                session["amount_total"], session["customer"], method["id"], data.get("metadata", {})
            )
            if data.get("setup_future_usage") != "off_session":
                method["customer"] = None  # not saved for later
            if delayed:
                intent["status"] = "processing"
            else:
                self._succeed(intent)
            session.update(
                status="complete",
                payment_status="unpaid" if delayed else "paid",
                payment_intent=intent["id"],
            )
            return self._public_session(session)

    # -- Billing: prices, subscriptions, invoices
    def add_price(self, plan: Json) -> str:
        """A monthly recurring Price (with its Product) for a plan; its id."""
        with self.lock:
            product = {
                "id": self._new_id("prod"),
                "object": "product",
                "name": plan.get("name", "Plan"),
                "active": True,
                "livemode": False,
            }
            self.objects[product["id"]] = product
            price = {
                "id": self._new_id("price"),
                "object": "price",
                "active": True,
                "currency": "usd",
                "unit_amount": int(Decimal(str(plan["price_usd"])) * 100),
                "product": product["id"],
                "type": "recurring",
                "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"},
                "livemode": False,
            }
            self.objects[price["id"]] = price
            return str(price["id"])

    def _complete_subscription(self, session: Json, card: str) -> Json:
        method = self._method(session["customer"], card)
        item = session["line_items_data"][0]
        price = self.objects[item["price"]]
        start = int(time.time())
        subscription_id = self._new_id("sub")
        subscription: Json = {
            "id": subscription_id,
            "object": "subscription",
            "customer": session["customer"],
            "status": "active",
            "cancel_at_period_end": False,
            "cancel_at": None,
            "canceled_at": None,
            "ended_at": None,
            "created": start,
            "start_date": start,
            "default_payment_method": method["id"],
            "latest_invoice": None,
            "metadata": (session["subscription_data"] or {}).get("metadata", {}),
            "items": {
                "object": "list",
                "data": [
                    {
                        "id": self._new_id("si"),
                        "object": "subscription_item",
                        "price": dict(price),
                        "quantity": int(item.get("quantity", 1)),
                        "subscription": subscription_id,
                        "current_period_start": start,
                        "current_period_end": start + PERIOD_SECONDS,
                    }
                ],
                "has_more": False,
            },
            "livemode": False,
        }
        self.objects[subscription_id] = subscription
        invoice = self._invoice(subscription, "subscription_create", paid=True)
        session.update(
            status="complete",
            payment_status="paid",
            subscription=subscription_id,
            invoice=invoice["id"],
        )
        return self._public_session(session)

    def _invoice(self, subscription: Json, reason: str, *, paid: bool) -> Json:
        item = subscription["items"]["data"][0]
        price = item["price"]
        invoice_id = self._new_id("in")
        invoice: Json = {
            "id": invoice_id,
            "object": "invoice",
            "customer": subscription["customer"],
            "billing_reason": reason,
            "currency": "usd",
            "amount_due": price["unit_amount"],
            "amount_paid": price["unit_amount"] if paid else 0,
            "amount_remaining": 0 if paid else price["unit_amount"],
            "attempt_count": 1,
            "attempted": True,
            "status": "paid" if paid else "open",
            "next_payment_attempt": None if paid else int(time.time()) + 3 * 86400,
            "hosted_invoice_url": f"{self.url}/invoices/{secrets.token_hex(8)}",
            "period_start": item["current_period_start"],
            "period_end": item["current_period_end"],
            "parent": {
                "type": "subscription_details",
                "quote_details": None,
                "subscription_details": {
                    "subscription": subscription["id"],
                    "metadata": subscription["metadata"],
                },
            },
            "lines": {
                "object": "list",
                "data": [
                    {
                        "id": self._new_id("il"),
                        "object": "line_item",
                        "amount": price["unit_amount"],
                        "currency": "usd",
                        "quantity": item["quantity"],
                        "period": {
                            "start": item["current_period_start"],
                            "end": item["current_period_end"],
                        },
                        "pricing": {
                            "type": "price_details",
                            "price_details": {"price": price["id"], "product": price["product"]},
                            "unit_amount_decimal": str(price["unit_amount"]),
                        },
                    }
                ],
                "has_more": False,
            },
            "metadata": {},
            "created": int(time.time()),
            "livemode": False,
        }
        self.objects[invoice_id] = invoice
        subscription["latest_invoice"] = invoice_id
        return invoice

    def renew(self, subscription_id: str, *, card_fails: bool = False) -> Json:
        """The billing engine starts the next period and bills it: paid, or the card is
        declined and the subscription goes past_due while Stripe retries."""
        with self.lock:
            subscription = self._get(subscription_id, "subscription")
            item = subscription["items"]["data"][0]
            start = item["current_period_end"]
            item.update(current_period_start=start, current_period_end=start + PERIOD_SECONDS)
            invoice = self._invoice(subscription, "subscription_cycle", paid=not card_fails)
            subscription["status"] = "past_due" if card_fails else "active"
            return _copy(invoice)

    def retry_invoice(self, invoice_id: str, *, succeed: bool) -> Json:
        with self.lock:
            invoice = self._get(invoice_id, "invoice")
            subscription = self.objects[invoice["parent"]["subscription_details"]["subscription"]]
            invoice["attempt_count"] += 1
            if succeed:
                invoice.update(
                    status="paid",
                    amount_paid=invoice["amount_due"],
                    amount_remaining=0,
                    next_payment_attempt=None,
                )
                subscription["status"] = "active"
            return _copy(invoice)

    def end_subscription(self, subscription_id: str, *, status: str = "canceled") -> Json:
        """The period ran out after a cancellation, or retries were exhausted."""
        with self.lock:
            subscription = self._get(subscription_id, "subscription")
            now = int(time.time())
            subscription.update(status=status)
            if status == "canceled":
                subscription.update(ended_at=now, canceled_at=subscription["canceled_at"] or now)
            return _copy(subscription)

    def update_subscription(self, subscription_id: str, params: Json) -> Json:
        subscription = self._get(subscription_id, "subscription")
        if subscription["status"] in ("canceled", "incomplete_expired"):
            raise StripeFailure(
                400,
                "invalid_request_error",
                "A canceled subscription can only update its cancellation_details and metadata.",
            )
        unknown = set(params) - {"cancel_at_period_end", "metadata", "expand"}
        if unknown:
            name = sorted(unknown)[0]
            raise StripeFailure(
                400, "invalid_request_error", f"Received unknown parameter: {name}", param=name
            )
        if "cancel_at_period_end" in params:
            value = params["cancel_at_period_end"]
            if value not in ("true", "false"):
                raise invalid("cancel_at_period_end", "Invalid boolean")
            cancel = value == "true"
            end = subscription["items"]["data"][0]["current_period_end"]
            subscription.update(
                cancel_at_period_end=cancel,
                cancel_at=end if cancel else None,
                canceled_at=int(time.time()) if cancel else None,
            )
        subscription["metadata"].update(params.get("metadata", {}))
        return self._expand(subscription, list(params.get("expand", [])))

    def settle_async(self, session_id: str, *, succeed: bool) -> Json:
        with self.lock:
            session = self._get(session_id, "checkout.session")
            intent = self.objects[session["payment_intent"]]
            if succeed:
                self._succeed(intent)
                session["payment_status"] = "paid"
            else:
                intent["status"] = "requires_payment_method"
                intent["last_payment_error"] = {
                    "type": "card_error",
                    "code": "payment_method_customer_decline",
                    "message": "The bank declined the debit.",
                }
            return self._public_session(session)

    def expire_checkout(self, session_id: str) -> Json:
        with self.lock:
            session = self._get(session_id, "checkout.session")
            session["status"] = "expired"
            return self._public_session(session)

    def object(self, object_id: str) -> Json:
        with self.lock:
            return _copy(self.objects[object_id])

    def count(self, method: str, path_prefix: str) -> int:
        with self.lock:
            return sum(1 for m, p, _ in self.requests if m == method and p.startswith(path_prefix))

    def event(
        self,
        type_: str,
        obj: Json,
        *,
        event_id: str | None = None,
        secret: str = WEBHOOK_SECRET,
        timestamp: int | None = None,
    ) -> tuple[bytes, str]:
        """An Event as Stripe posts it, with its `Stripe-Signature` header."""
        body = json.dumps(
            {
                "id": event_id or self._new_id("evt"),
                "object": "event",
                "api_version": stripe.api_version,
                "created": int(time.time()),
                "data": {"object": {k: v for k, v in obj.items() if not k.startswith("_")}},
                "livemode": False,
                "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None},
                "type": type_,
            }
        )
        return body.encode(), self.sign(body.encode(), secret=secret, timestamp=timestamp)

    @staticmethod
    def sign(body: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
        """`Stripe-Signature` for these exact bytes."""
        return str(
            stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp)
        )

    # -- HTTP
    def dispatch(self, method: str, path: str, params: Json) -> Json:
        expand = list(params.get("expand", []))
        routes: list[tuple[str, str, Callable[..., Json]]] = [
            ("POST", r"/v1/customers", lambda: self.create_customer(params)),
            ("GET", r"/v1/customers/([^/]+)", lambda i: self._get(i, "customer")),
            ("POST", r"/v1/checkout/sessions", lambda: self.create_checkout(params)),
            ("GET", r"/v1/checkout/sessions/([^/]+)", lambda i: self.retrieve_checkout(i, expand)),
            ("POST", r"/v1/payment_intents", lambda: self.create_payment_intent(params)),
            (
                "GET",
                r"/v1/payment_intents/([^/]+)",
                lambda i: self.retrieve_payment_intent(i, expand),
            ),
            ("GET", r"/v1/payment_methods/([^/]+)", self.retrieve_payment_method),
            ("POST", r"/v1/refunds", lambda: self.create_refund(params)),
            ("GET", r"/v1/prices/([^/]+)", lambda i: self._get(i, "price")),
            (
                "GET",
                r"/v1/subscriptions/([^/]+)",
                lambda i: self._expand(self._get(i, "subscription"), expand),
            ),
            (
                "POST",
                r"/v1/subscriptions/([^/]+)",
                lambda i: self.update_subscription(i, params),
            ),
            (
                "GET",
                r"/v1/invoices/([^/]+)",
                lambda i: self._expand(self._get(i, "invoice"), expand),
            ),
        ]
        for verb, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if verb == method and match:
                return handler(*match.groups())
        raise StripeFailure(
            404, "invalid_request_error", f"Unrecognized request URL ({method}: {path})."
        )

    def handle(
        self, method: str, path: str, params: Json, headers: dict[str, str]
    ) -> tuple[int, Json, dict[str, str]]:
        if headers.get("authorization") != f"Bearer {API_KEY}":
            return (
                401,
                StripeFailure(401, "invalid_request_error", "Invalid API Key provided.").body,
                {},
            )
        key = headers.get("idempotency-key") if method == "POST" else None
        with self.lock:
            self.requests.append((method, path, params))
            if key is not None:
                stored = self.idempotency.get(key)
                if stored is not None:
                    return self._replay(stored, {"path": path, **params})
                self.idempotency[key] = Stored({"path": path, **params})
        with self.lock:
            try:
                status, body = 200, self.dispatch(method, path, params)
            except StripeFailure as failure:
                status, body = failure.status, failure.body
            if key is not None:
                if status in (400, 404):
                    del self.idempotency[key]  # failed validation: nothing is saved
                else:
                    self.idempotency[key].status, self.idempotency[key].body = status, body
            return status, body, {}

    @staticmethod
    def _replay(stored: Stored, params: Json) -> tuple[int, Json, dict[str, str]]:
        if stored.params != params:
            failure = StripeFailure(
                400,
                "idempotency_error",
                "Keys for idempotent requests can only be used with the same parameters they "
                "were first used with.",
            )
            return 400, failure.body, {}
        if stored.status is None or stored.body is None:
            failure = StripeFailure(
                409,
                "invalid_request_error",
                "There is currently another in-progress request using this Idempotent Key.",
                code="idempotency_key_in_use",
            )
            return 409, failure.body, {}
        return stored.status, stored.body, {"Idempotent-Replayed": "true"}

    def serve(self) -> StripeDouble:
        double = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                pairs = parse_qsl(parts.query if self.command == "GET" else body)
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, payload, extra = double.handle(
                    self.command, parts.path, parse_form(pairs), headers
                )
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", f"req_{secrets.token_hex(7)}")
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = _answer
            do_POST = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
