"""The operator area in the browser: users, prices, servers and incidents."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

import pytest
from playwright.sync_api import Page, expect

from tests.support.console import Member, sign_in
from tests.support.platform import Platform


@pytest.fixture
def operator(site: Platform, page: Page) -> Iterator[Member]:
    """A platform admin, signed in in the page's browser."""
    admin = sign_in(site, admin=True)
    cookies = admin.client.http.cookies
    page.context.add_cookies([{"name": n, "value": v, "url": site.url} for n, v in cookies.items()])
    try:
        yield admin
    finally:
        admin.client.close()


def _section(page: Page, name: str) -> None:
    page.goto("/admin")
    page.get_by_role("tablist", name="Operator sections").get_by_role("tab", name=name).click()


def test_a_user_is_found_suspended_and_let_back_in(
    page: Page, site: Platform, operator: Member
) -> None:
    customer = sign_in(site)
    _section(page, "Users")
    page.get_by_label("Search by email or name").fill(customer.email)
    row = page.get_by_role("list", name="Users").get_by_role("listitem")
    expect(row).to_have_count(1)
    row.get_by_role("button", name="Suspend").click()
    page.get_by_role("dialog").get_by_role("button", name="Suspend").click()
    expect(page.get_by_text(f"{customer.email} is suspended.")).to_be_visible()
    expect(row).to_contain_text("suspended")
    assert customer.client.get("/api/auth/session").json()["authenticated"] is False
    row.get_by_role("button", name="Unsuspend").click()
    expect(page.get_by_text(f"{customer.email} can sign in again.")).to_be_visible()
    expect(row.get_by_role("button", name="Suspend")).to_be_visible()
    customer.client.close()


def test_a_price_change_is_scheduled_then_withdrawn(page: Page, operator: Member) -> None:
    _section(page, "Models")
    models = page.get_by_role("list", name="Models")
    row = models.get_by_role("listitem").filter(has_text="gpt-oss-120B").first
    expect(row).to_contain_text("Now: $0.500 in / $1.000 out")
    row.get_by_role("button", name="Change price").click()
    form = page.get_by_role("form", name="Change the price of gpt-oss-120B")
    form.get_by_label("Input (USD / 1M)").fill("0.9")
    form.get_by_label("Output (USD / 1M)").fill("1.8")
    next_year = datetime.now().year + 1
    form.get_by_label("From (empty: now)").fill(f"{next_year}-01-01T00:00")
    form.get_by_role("button", name="Save price").click()
    expect(page.get_by_text("Price of gpt-oss-120B saved.")).to_be_visible()
    scheduled = page.get_by_role("list", name="Scheduled prices of gpt-oss-120B")
    expect(scheduled).to_contain_text("$0.900 in / $1.800 out")
    expect(row).to_contain_text("Now: $0.500 in / $1.000 out")  # the price now is untouched
    scheduled.get_by_role("button", name="Withdraw").click()
    expect(page.get_by_text("Scheduled price withdrawn.")).to_be_visible()
    expect(scheduled).to_have_count(0)


def test_a_server_is_drained_and_undrained(page: Page, operator: Member) -> None:
    _section(page, "Servers")
    row = page.get_by_role("list", name="Servers").get_by_role("listitem").first
    expect(row).to_contain_text("healthy")
    try:
        row.get_by_role("button", name="Drain").click()
        expect(row).to_contain_text("draining")
        expect(page.get_by_text(re.compile("takes no new requests"))).to_be_visible()
    finally:
        servers = operator.client.get("/api/admin/servers").json()
        for server in servers:
            if server["state"] == "draining":
                operator.client.patch(
                    f"/api/admin/servers/{server['id']}", json={"state": "active"}
                )
    page.reload()
    page.get_by_role("tab", name="Servers").click()
    expect(row.get_by_role("button", name="Drain")).to_be_visible()


def test_an_incident_is_opened_updated_and_resolved(page: Page, operator: Member) -> None:
    _section(page, "Incidents")
    opened = page.get_by_role("form", name="Open an incident")
    opened.get_by_label("Title").fill("Slow completions")
    opened.get_by_label("First update").fill("We are looking into it.")
    opened.get_by_role("button", name="Open incident").click()
    expect(page.get_by_text("Incident opened; it is on the status page.")).to_be_visible()
    row = page.get_by_role("main").get_by_role("listitem").filter(has_text="Slow completions")
    row.get_by_role("button", name="Update").click()
    form = row.get_by_role("form", name="Update “Slow completions”")
    form.get_by_label("Status").select_option("identified")
    form.get_by_label("Update").fill("A server was overloaded.")
    form.get_by_role("button", name="Post update").click()
    expect(page.get_by_text("Update posted.")).to_be_visible()
    expect(row).to_contain_text("identified")
    form.get_by_label("Status").select_option("resolved")
    form.get_by_label("Update").fill("Fixed.")
    form.get_by_role("button", name="Post update").click()
    expect(page.get_by_text("Incident resolved.")).to_be_visible()
    expect(row).to_contain_text("resolved")
    expect(row.get_by_role("button", name="Update")).to_have_count(0)
