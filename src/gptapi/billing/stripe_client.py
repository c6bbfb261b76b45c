"""Everything the platform asks of Stripe, through the official library.

`STRIPE_API_BASE` points the library elsewhere (tests run a local double of Stripe's API).
Without `STRIPE_SECRET_KEY` there is no client and payments are off.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import stripe

from gptapi.config import Settings

# Stripe amounts are integer cents; the ledger counts nano-dollars.
NANOS_PER_CENT = 10_000_000


@dataclass(frozen=True)
class Checkout:
    id: str
    url: str


class Payments:
    def __init__(self, settings: Settings) -> None:
        self.webhook_secret = settings.stripe_webhook_secret
        self.tolerance = settings.stripe_webhook_tolerance_seconds
        self._stripe = stripe.StripeClient(
            settings.stripe_secret_key,
            base_addresses={"api": settings.stripe_api_base.rstrip("/")},
            http_client=stripe.HTTPXClient(timeout=30),
            max_network_retries=2,
        )

    async def create_customer(self, organization_id: uuid.UUID, name: str, email: str) -> str:
        customer = await self._stripe.v1.customers.create_async(
            {"name": name, "email": email, "metadata": {"organization_id": str(organization_id)}},
            {"idempotency_key": f"customer:{organization_id}"},
        )
        return customer.id

    async def create_checkout(
        self,
        *,
        customer: str,
        organization_id: uuid.UUID,
        amount_cents: int,
        save_card: bool,
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
    ) -> Checkout:
        metadata = {
            "organization_id": str(organization_id),
            "kind": "topup",
            "save_card": "true" if save_card else "false",
        }
        session = await self._stripe.v1.checkout.sessions.create_async(
            {
                "mode": "payment",
                "customer": customer,
                "client_reference_id": str(organization_id),
                "line_items": [
                    {
                        "price_data": {
                            "currency": "usd",
                            "unit_amount": amount_cents,
                            "product_data": {"name": f"API credit ${amount_cents / 100:.2f}"},
                        },
                        "quantity": 1,
                    }
                ],
                "payment_intent_data": (
                    {"metadata": metadata, "setup_future_usage": "off_session"}
                    if save_card
                    else {"metadata": metadata}
                ),
                "metadata": metadata,
                "success_url": success_url,
                "cancel_url": cancel_url,
            },
            {"idempotency_key": idempotency_key},
        )
        assert session.url is not None, "a payment-mode Checkout Session always has a URL"
        return Checkout(session.id, session.url)

    async def retrieve_checkout(self, session_id: str) -> stripe.checkout.Session:
        """The session as Stripe has it now, with its PaymentIntent, charge and card."""
        return await self._stripe.v1.checkout.sessions.retrieve_async(
            session_id,
            {
                "expand": [
                    "payment_intent",
                    "payment_intent.latest_charge",
                    "payment_intent.payment_method",
                ]
            },
        )

    async def create_subscription_checkout(
        self,
        *,
        customer: str,
        organization_id: uuid.UUID,
        user_id: uuid.UUID,
        plan: str,
        price_id: str,
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
    ) -> Checkout:
        """Checkout in subscription mode for a monthly plan's Price."""
        metadata = {
            "organization_id": str(organization_id),
            "user_id": str(user_id),
            "kind": "subscription",
            "plan": plan,
        }
        session = await self._stripe.v1.checkout.sessions.create_async(
            {
                "mode": "subscription",
                "customer": customer,
                "client_reference_id": str(organization_id),
                "line_items": [{"price": price_id, "quantity": 1}],
                "subscription_data": {"metadata": metadata},
                "metadata": metadata,
                "success_url": success_url,
                "cancel_url": cancel_url,
            },
            {"idempotency_key": idempotency_key},
        )
        assert session.url is not None, "a subscription-mode Checkout Session always has a URL"
        return Checkout(session.id, session.url)

    async def retrieve_subscription(self, subscription_id: str) -> stripe.Subscription:
        return await self._stripe.v1.subscriptions.retrieve_async(subscription_id)

    async def set_cancel_at_period_end(
        self, subscription_id: str, cancel: bool
    ) -> stripe.Subscription:
        return await self._stripe.v1.subscriptions.update_async(
            subscription_id, {"cancel_at_period_end": cancel}
        )

    async def retrieve_invoice(self, invoice_id: str) -> stripe.Invoice:
        return await self._stripe.v1.invoices.retrieve_async(invoice_id)

    async def retrieve_payment_intent(self, payment_intent_id: str) -> stripe.PaymentIntent:
        return await self._stripe.v1.payment_intents.retrieve_async(
            payment_intent_id, {"expand": ["latest_charge"]}
        )

    async def charge_off_session(
        self,
        *,
        customer: str,
        payment_method: str,
        organization_id: uuid.UUID,
        amount_cents: int,
        idempotency_key: str,
    ) -> stripe.PaymentIntent:
        """Charge the saved card now; a decline raises `stripe.CardError`."""
        return await self._stripe.v1.payment_intents.create_async(
            {
                "amount": amount_cents,
                "currency": "usd",
                "customer": customer,
                "payment_method": payment_method,
                "off_session": True,
                "confirm": True,
                "description": "API credit auto-refill",
                "metadata": {"organization_id": str(organization_id), "kind": "auto_refill"},
                "expand": ["latest_charge"],
            },
            {"idempotency_key": idempotency_key},
        )

    def parse_event(self, payload: bytes, signature: str | None) -> stripe.Event:
        """Verify `Stripe-Signature` over the raw body, then read the event; raises
        `stripe.SignatureVerificationError`, or ValueError for a body that is no event."""
        stripe.WebhookSignature.verify_header(
            payload, signature or "", self.webhook_secret, self.tolerance
        )
        values = json.loads(payload)
        data = values.get("data") if isinstance(values, dict) else None
        if not (
            isinstance(data, dict)
            and isinstance(data.get("object"), dict)
            and isinstance(values.get("id"), str)
            and isinstance(values.get("type"), str)
        ):
            raise ValueError("not a Stripe event")
        return stripe.Event.construct_from(values, stripe.api_key)


def build_payments(settings: Settings) -> Payments | None:
    return Payments(settings) if settings.stripe_secret_key else None


def metadata_value(metadata: object, key: str) -> str:
    """A metadata entry, "" when absent (Stripe's metadata is a plain string map)."""
    if isinstance(metadata, stripe.StripeObject):
        metadata = metadata.to_dict()
    return str(metadata.get(key, "")) if isinstance(metadata, dict) else ""


def receipt_url(payment_intent: stripe.PaymentIntent | str | None) -> str:
    if not isinstance(payment_intent, stripe.PaymentIntent):
        return ""
    charge = payment_intent.latest_charge
    if isinstance(charge, stripe.Charge):
        return charge.receipt_url or ""
    return ""
