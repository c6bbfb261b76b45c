"""Stripe's hosted Checkout page, played in the browser against the Stripe double."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from playwright.sync_api import Page, Route

from tests.support.platform import Platform
from tests.support.stripe_double import StripeDouble


def pay_at_stripe(
    page: Page,
    site: Platform,
    stripe: StripeDouble,
    *,
    returns_to: str = "/billing",
    outcome: str = "checkout=success",
) -> None:
    """From now on, a visit to a Checkout URL pays: the payer pays (or subscribes), Stripe
    posts the signed checkout.session.completed event, then sends the browser back to the
    success URL, which must be `returns_to` with `outcome` in its query."""

    def hosted_page(route: Route) -> None:
        session_id = urlsplit(route.request.url).path.rsplit("/", 1)[-1]
        session = stripe.complete_checkout(session_id)
        body, signature = stripe.event("checkout.session.completed", session)
        delivered = httpx.post(
            f"{site.url}/api/stripe/webhook",
            content=body,
            headers={"Content-Type": "application/json", "Stripe-Signature": signature},
        )
        assert delivered.status_code == 200, delivered.text
        # The server names its own /billing route; the test server's port is its own.
        success = urlsplit(session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id))
        assert success.path == returns_to and outcome in success.query
        route.fulfill(status=303, headers={"Location": f"{site.url}{returns_to}?{success.query}"})

    page.route(f"{stripe.url}/c/pay/*", hosted_page)
