"""Billing in the browser: a card saved at checkout, then auto-refill switched on."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from gptapi.kit.money import dollars_to_nanos
from tests.support.console import Member
from tests.support.platform import Platform
from tests.support.stripe_double import StripeDouble
from tests.web.stripe_checkout import pay_at_stripe


def test_auto_refill_needs_a_saved_card_then_is_switched_on(
    page: Page, site: Platform, stripe_double: StripeDouble, owner: Member
) -> None:
    page.goto("/dashboard/billing")
    refill = page.get_by_role("form", name="Auto-refill")
    expect(refill).to_contain_text("No saved card. To use auto-refill")
    expect(refill.get_by_role("checkbox", name="Refill automatically")).to_be_disabled()

    pay_at_stripe(page, site, stripe_double)
    page.get_by_role("checkbox", name="Save this card for auto-refill").check()
    page.get_by_role("group", name="Add credit").get_by_role(
        "button", name="Add $25", exact=True
    ).click()
    expect(page.get_by_text("Payment received; your balance is updated.")).to_be_visible()
    expect(refill).to_contain_text("Saved card: visa •••• 4242")

    refill.get_by_role("checkbox", name="Refill automatically").check()
    refill.get_by_label("When the balance falls below (USD)").fill("5")
    refill.get_by_label("Add (USD)").fill("20")
    refill.get_by_label("Monthly cap (USD, optional)").fill("100")
    refill.get_by_role("button", name="Save auto-refill").click()
    expect(page.get_by_text("Auto-refill is on.")).to_be_visible()
    settings = owner.client.get(f"/api/orgs/{owner.org_id}/billing").json()["auto_refill"]
    assert settings["enabled"] is True
    assert (
        settings["threshold_nanos"],
        settings["amount_nanos"],
        settings["monthly_cap_nanos"],
    ) == (
        dollars_to_nanos("5"),
        dollars_to_nanos("20"),
        dollars_to_nanos("100"),
    )
