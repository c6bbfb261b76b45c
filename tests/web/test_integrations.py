"""The integrations in the browser: subscribing to a plan through Stripe Checkout and
cancelling it, mail settings and the signed-out unsubscribe page, analytics that stay silent
without consent or with Do Not Track and report pseudonymously with consent, and console
errors reaching Sentry scrubbed."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.support.console import Member, sign_in
from tests.support.platform import Platform
from tests.support.posthog_double import PostHogDouble
from tests.support.sentry_double import SentryDouble
from tests.support.stripe_double import StripeDouble
from tests.support.threads import wait_until
from tests.web.browser import DESKTOP
from tests.web.stripe_checkout import pay_at_stripe

DNT = "Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1'});"
# PostHog drops events from browsers that look automated (HeadlessChrome in the user agent,
# navigator.webdriver): these contexts look like a person's browser.
DESKTOP_CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/142.0.0.0 Safari/537.36"
)


def signed_in_context(browser: Browser, site: Platform, member: Member | None) -> BrowserContext:
    context = browser.new_context(base_url=site.url, viewport=DESKTOP, user_agent=DESKTOP_CHROME)
    context.set_default_timeout(15_000)
    context.add_init_script(
        "Object.defineProperty(Navigator.prototype, 'webdriver', {get: () => false});"
    )
    if member is not None:
        cookies = member.client.http.cookies
        context.add_cookies([{"name": n, "value": v, "url": site.url} for n, v in cookies.items()])
    return context


def test_subscribing_to_a_plan_and_cancelling_at_period_end(
    page: Page, site: Platform, stripe_double: StripeDouble, owner: Member
) -> None:
    pay_at_stripe(
        page, site, stripe_double, returns_to="/dashboard/billing", outcome="plan=success"
    )
    page.goto("/dashboard/billing")
    plans = page.get_by_role("list", name="Plans")
    expect(plans).to_contain_text("$20.00 a month, $25.00 of credit included")
    plans.get_by_role("button", name="Subscribe to Pro").click()
    expect(
        page.get_by_text("You are subscribed; the plan's credit is on your balance.")
    ).to_be_visible()
    current = page.get_by_label("Current plan")
    expect(current).to_contain_text("Pro")
    expect(current).to_contain_text("active")
    expect(current).to_contain_text("Renews on")
    billing = owner.client.get(f"/api/orgs/{owner.org_id}/billing").json()
    assert billing["balance_usd"].startswith("25.00")

    current.get_by_role("button", name="Cancel at period end").click()
    expect(current).to_contain_text("Ends on")
    expect(current.get_by_role("button", name="Keep the plan")).to_be_visible()
    shown = owner.client.get(f"/api/orgs/{owner.org_id}/billing/subscription").json()
    assert shown["subscription"]["cancel_at_period_end"] is True


def test_mail_settings_are_saved(page: Page, owner: Member) -> None:
    page.goto("/dashboard/settings")
    form = page.get_by_role("form", name="Mail notifications")
    expect(form).to_contain_text("Security and account mail")
    form.get_by_role("checkbox", name="Low balance").uncheck()
    form.get_by_role("checkbox", name="Product news").check()
    form.get_by_role("button", name="Save mail settings").click()
    expect(page.get_by_text("Mail settings saved.")).to_be_visible()
    saved = owner.client.get("/api/me/notifications").json()["categories"]
    chosen = {c["key"]: c["enabled"] for c in saved}
    assert chosen["low_balance"] is False and chosen["product_news"] is True
    assert chosen["payments"] is True


def test_the_unsubscribe_link_works_signed_out(page: Page, site: Platform) -> None:
    member = sign_in(site)
    token = site.runtime.console.mailer.tokens.make(member.user_id, "payments")
    page.goto(f"/unsubscribe?token={token}")
    expect(page.get_by_text("Stop “Payments and receipts” mail")).to_be_visible()
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("status")).to_contain_text("no longer gets “Payments and receipts”")
    saved = {
        c["key"]: c["enabled"]
        for c in member.client.get("/api/me/notifications").json()["categories"]
    }
    assert saved["payments"] is False
    page.goto(f"/unsubscribe?token={token[:-3]}xyz")
    expect(page.get_by_text("This unsubscribe link is not valid.")).to_be_visible()


def requests_to(context: BrowserContext, host: str) -> list[str]:
    seen: list[str] = []
    context.on(
        "request",
        lambda request: seen.append(request.url) if request.url.startswith(host) else None,
    )
    return seen


def open_privacy(page: Page) -> Any:
    page.get_by_role("button", name="Privacy Policy").click()
    return page.get_by_label("Analytics consent")


def test_analytics_wait_for_consent_and_use_a_pseudonymous_id(
    browser: Browser, site: Platform, posthog_double: PostHogDouble
) -> None:
    member = sign_in(site)
    context = signed_in_context(browser, site, member)
    try:
        sent = requests_to(context, posthog_double.url)
        page = context.new_page()
        page.goto("/")
        page.goto("/docs")
        page.wait_for_load_state("networkidle")
        assert sent == []  # no consent yet: PostHog is not even loaded
        consent = open_privacy(page)
        expect(consent).to_contain_text("Not decided: nothing is sent.")
        consent.get_by_role("button", name="Allow analytics").click()
        page.keyboard.press("Escape")
        page.goto("/status")
        wait_until(lambda: any(url.endswith("/status") for url in posthog_double.page_views()))
        views = posthog_double.page_views()
        assert not any(urlsplit(url).path == "/" for url in views)  # before consent: not sent
        analytics_id = member.client.get("/api/auth/session").json()["me"]["analytics_id"]
        ours = [
            e for e in posthog_double.events if e["properties"].get("distinct_id") == analytics_id
        ]
        assert ours, "events carry the pseudonymous id"
        raw = "".join(posthog_double.raw)
        assert member.email not in raw and str(member.user_id) not in raw
    finally:
        context.close()


def test_no_analytics_with_do_not_track(
    browser: Browser, site: Platform, posthog_double: PostHogDouble
) -> None:
    context = signed_in_context(browser, site, None)
    context.add_init_script(DNT)
    context.add_init_script("localStorage.setItem('gptapi.analytics-consent', 'granted');")
    try:
        sent = requests_to(context, posthog_double.url)
        page = context.new_page()
        page.goto("/docs")
        page.goto("/status")
        page.wait_for_load_state("networkidle")
        expect(open_privacy(page)).to_contain_text("Do Not Track")
        assert sent == []
    finally:
        context.close()


def test_console_errors_reach_sentry_scrubbed(
    browser: Browser, site: Platform, sentry_double: SentryDouble
) -> None:
    context = signed_in_context(browser, site, None)
    try:
        page = context.new_page()
        page.goto("/docs?token=query-secret-5e1f")
        page.wait_for_function("() => Boolean(window.__SENTRY__)")
        page.evaluate(
            "setTimeout(() => { throw new Error("
            "'checkout broke for ada@example.com with gpt_live_QWxhZGRpbjpvcGVuIHNlc2FtZQ') })"
        )
        wait_until(lambda: any("checkout broke" in raw.decode() for raw in sentry_double.raw))
        [event] = [
            e
            for e in sentry_double.events
            if "checkout broke" in str(e.get("exception", {}).get("values", [{}])[-1].get("value"))
        ]
        assert event["request"]["url"].endswith("/docs")
        raw = b"".join(sentry_double.raw).decode()
        for secret in (
            "query-secret-5e1f",
            "ada@example.com",
            "gpt_live_QWxhZGRpbjpvcGVuIHNlc2FtZQ",
        ):
            assert secret not in raw
    finally:
        context.close()
