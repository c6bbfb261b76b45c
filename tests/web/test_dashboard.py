"""Dashboard tabs against the real console API, as a signed-in owner."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.admin import service
from gptapi.kit.money import dollars_to_nanos
from tests.support.console import Member, sign_in
from tests.support.platform import Platform
from tests.web.browser import PHONE


@pytest.fixture
def member(site: Platform, page: Page) -> Iterator[Member]:
    """A fresh owner, signed in in the page's browser."""
    signed_in = sign_in(site)
    cookies = signed_in.client.http.cookies
    page.context.add_cookies([{"name": n, "value": v, "url": site.url} for n, v in cookies.items()])
    try:
        yield signed_in
    finally:
        signed_in.client.close()


def test_billing_shows_the_balance_and_its_transactions(
    page: Page, site: Platform, member: Member
) -> None:
    async def grant(session: AsyncSession) -> None:
        org = await service.find_organization(session, str(member.org_id))
        await service.grant_credit(session, org, dollars_to_nanos("12.5"), reason="Welcome credit")

    site.run(grant)
    page.goto("/dashboard/billing")
    expect(page.get_by_text("$12.50").first).to_be_visible()
    main = page.get_by_role("main")
    line = page.get_by_test_id("transaction").filter(has_text="Welcome credit")
    expect(line).to_contain_text("+$12.50")
    # This month's split always has its four services, each with its share.
    services = page.get_by_role("list", name="Spend by service").get_by_role("listitem")
    expect(services).to_have_count(4)
    expect(services.filter(has_text="Token API")).to_contain_text("$0.00 (0%)")
    expect(page.get_by_test_id("month-GPU-hours")).to_have_text("0.0")
    href = main.get_by_role("link", name="Download CSV").get_attribute("href")
    assert href is not None
    csv = page.request.get(href)
    assert csv.ok and "Welcome credit" in csv.text()


def test_a_webhook_endpoint_is_added_tested_rotated_disabled_and_deleted(
    page: Page, member: Member
) -> None:
    page.goto("/dashboard/webhooks")
    form = page.get_by_role("form", name="Add an endpoint")
    form.get_by_label("Endpoint URL").fill("http://127.0.0.1:9/hooks")
    form.get_by_role("checkbox", name=re.compile(r"^api_key\.created")).check()
    form.get_by_role("button", name="Add endpoint").click()
    secret = page.get_by_role("alert").filter(has_text="Signing secret")
    expect(secret).to_contain_text("whsec_")
    first_secret = secret.locator("code").inner_text()
    row = (
        page.get_by_role("main").get_by_role("listitem").filter(has_text="127.0.0.1:9/hooks").first
    )
    expect(row).to_contain_text("api_key.created")

    # A test event shows up in the delivery log, with its signed request.
    row.get_by_role("button", name="Send test").click()
    expect(page.get_by_text("Test event queued for delivery.")).to_be_visible()
    row.get_by_role("button", name="Deliveries").click()
    log = row.get_by_role("region", name="Delivery log")
    delivery = log.get_by_role("listitem").filter(has_text="webhook.test")
    expect(delivery).to_have_count(1)
    delivery.get_by_role("button", name="Details").click()
    expect(delivery.locator("pre")).to_contain_text('"type":"webhook.test"')

    row.get_by_role("button", name="Rotate secret").click()
    page.get_by_role("dialog").get_by_role("button", name="Rotate secret").click()
    expect(secret.locator("code")).not_to_have_text(first_secret)
    expect(secret).to_contain_text("whsec_")

    row.get_by_role("button", name="Disable").click()
    expect(page.get_by_text("Endpoint disabled.")).to_be_visible()
    expect(row).to_contain_text("disabled")
    row.get_by_role("button", name="Enable").click()
    expect(page.get_by_text("Endpoint enabled.")).to_be_visible()

    row.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete endpoint").click()
    expect(page.get_by_text("Endpoint deleted.")).to_be_visible()
    expect(page.get_by_text("No endpoints yet.")).to_be_visible()


def test_the_team_tab_lists_members_and_sends_invitations(page: Page, member: Member) -> None:
    page.goto("/dashboard/team")
    main = page.get_by_role("main")
    expect(main.get_by_role("listitem").filter(has_text=member.email)).to_contain_text("owner")
    form = page.get_by_role("form", name="Invite a member")
    form.get_by_label("Email").fill("grace@example.com")
    form.get_by_label("Role").select_option("developer")
    form.get_by_role("button", name="Invite").click()
    expect(page.get_by_text("Invitation sent to grace@example.com.")).to_be_visible()
    expect(main.get_by_role("listitem").filter(has_text="grace@example.com")).to_be_visible()


def test_signing_out_returns_to_the_landing_page(page: Page, member: Member) -> None:
    page.goto("/dashboard/settings")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("banner").get_by_role("button", name="Sign In")).to_be_visible()


def test_an_operator_grants_credit_to_an_organisation(page: Page, site: Platform) -> None:
    admin = sign_in(site, admin=True)
    org_name = admin.client.get(f"/api/orgs/{admin.org_id}").json()["name"]
    cookies = admin.client.http.cookies
    page.context.add_cookies([{"name": n, "value": v, "url": site.url} for n, v in cookies.items()])
    admin.client.close()
    page.goto("/admin")
    page.get_by_label("Search").fill(org_name)
    row = page.get_by_role("main").get_by_role("listitem").filter(has_text=org_name)
    expect(row).to_contain_text("$0.00")
    form = page.get_by_role("form", name="Grant credit")
    form.get_by_label("Organisation").select_option(label=org_name)
    form.get_by_label("Amount (USD)").fill("7.25")
    form.get_by_label("Reason").fill("Goodwill")
    form.get_by_role("button", name="Grant").click()
    expect(page.get_by_text("Granted $7.25; balance $7.25.")).to_be_visible()
    expect(row).to_contain_text("$7.25")


def test_members_without_the_operator_role_are_kept_out(page: Page, member: Member) -> None:
    page.goto("/admin")
    expect(page.get_by_role("alert")).to_contain_text("for platform administrators")
    expect(page.get_by_role("banner").get_by_role("link", name="Operator")).to_have_count(0)


TABS = ("overview", "keys", "usage", "billing", "webhooks", "team", "settings")


def test_every_tab_loads_without_errors_and_fits_a_phone(page: Page, member: Member) -> None:
    """The page fixture fails the test on any console error; a phone must never scroll sideways."""
    page.set_viewport_size(PHONE)
    for tab in TABS:
        page.goto(f"/dashboard/{tab}")
        sections = page.get_by_role("tablist", name="Dashboard sections")
        expect(sections.get_by_role("tab", selected=True)).to_have_attribute("id", re.compile(tab))
        expect(page.get_by_role("status")).to_have_count(0)  # every loading state resolved
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{tab} is {overflow}px wider than the phone"


def test_deleting_the_account_signs_out_everywhere(page: Page, member: Member) -> None:
    page.goto("/dashboard/settings")
    page.get_by_role("button", name="Delete account").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete account").click()
    expect(page.get_by_text("Your account has been deleted.")).to_be_visible()
    expect(page.get_by_role("banner").get_by_role("button", name="Sign In")).to_be_visible()
    assert member.client.get("/api/auth/session").json()["authenticated"] is False


def test_an_owner_changes_a_members_role_then_removes_them(
    page: Page, site: Platform, member: Member
) -> None:
    colleague = sign_in(site, org_id=member.org_id, role="developer")
    colleague.client.close()
    page.goto("/dashboard/team")
    page.get_by_label(f"Role of {colleague.email}").select_option("billing")
    expect(page.get_by_text(f"{colleague.email} is now billing.")).to_be_visible()
    row = page.get_by_role("main").get_by_role("listitem").filter(has_text=colleague.email)
    row.get_by_role("button", name="Remove").click()
    page.get_by_role("dialog").get_by_role("button", name="Remove").click()
    expect(page.get_by_text(f"{colleague.email} was removed.")).to_be_visible()
    expect(row).to_have_count(0)


def test_a_keys_limits_are_changed_and_cleared(page: Page, member: Member) -> None:
    created = member.client.post(f"/api/orgs/{member.org_id}/keys", json={"name": "batch"})
    assert created.status_code == 201
    page.goto("/dashboard/keys")
    row = page.get_by_test_id("key-row").filter(has_text="batch")
    expect(row).to_contain_text("Organisation defaults")
    row.get_by_role("button", name="Edit").click()
    form = row.get_by_role("form", name="Settings of batch")
    form.get_by_label("Name").fill("nightly batch")
    form.get_by_label("Requests / minute").fill("42")
    form.get_by_label("Monthly cap (USD)").fill("3")
    form.get_by_label("Expires (end of day, UTC)").fill("2099-12-31")
    form.get_by_role("checkbox", name="gpt-full").check()
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Settings of “batch” saved.")).to_be_visible()
    row = page.get_by_test_id("key-row").filter(has_text="nightly batch")
    expect(row).to_contain_text("42 RPM · $3.00/mo · only gpt-full")
    expect(row).to_contain_text("expires")
    expect(row).to_contain_text("created")
    stored = member.client.get(f"/api/orgs/{member.org_id}/keys").json()[0]
    assert stored["expires_at"].startswith("2099-12-31T23:59:59")
    assert stored["allowed_models"] == ["gpt-full"]

    row.get_by_role("button", name="Edit").click()
    form = row.get_by_role("form", name="Settings of nightly batch")
    expect(form.get_by_label("Requests / minute")).to_have_value("42")
    form.get_by_label("Requests / minute").fill("")
    form.get_by_label("Monthly cap (USD)").fill("")
    form.get_by_label("Expires (end of day, UTC)").fill("")
    form.get_by_role("checkbox", name="gpt-full").uncheck()
    form.get_by_role("button", name="Save").click()
    expect(row).to_contain_text("Organisation defaults")


def test_the_low_balance_alert_threshold_is_saved(page: Page, member: Member) -> None:
    page.goto("/dashboard/billing")
    form = page.get_by_role("form", name="Low-balance alert")
    form.get_by_role("spinbutton").fill("4.5")
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Low-balance alert saved.")).to_be_visible()
    billing = member.client.get(f"/api/orgs/{member.org_id}/billing").json()
    assert billing["low_balance_threshold_nanos"] == 4_500_000_000
    page.reload()
    expect(form.get_by_role("spinbutton")).to_have_value("4.50")
