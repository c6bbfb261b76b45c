"""A newcomer on the embedded platform, with no operator anywhere: sign up, verify, see the
welcome credit, make a key, call the model, find the call in usage and the first steps ticked;
plus what happens when the session ends in another tab and when a request is refused."""

from __future__ import annotations

import re
import uuid

import httpx
import openai
from playwright.sync_api import Page, expect

from tests.support.platform import Platform
from tests.support.threads import wait_until
from tests.web.test_journey import PASSWORD, _sign_in


def _sign_up_verify_and_sign_in(page: Page, site: Platform, email: str) -> None:
    page.goto("/")
    page.get_by_role("button", name="Get an API key").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Email").fill(email)
    dialog.get_by_label("Password").fill(PASSWORD)
    dialog.get_by_role("button", name="Create account").click()
    expect(dialog).to_have_count(0)
    # Signing in before verifying says so, and offers a new link on the spot.
    page.get_by_role("banner").get_by_role("button", name="Sign In").click()
    dialog.get_by_label("Email").fill(email)
    dialog.get_by_label("Password").fill(PASSWORD)
    dialog.get_by_role("button", name="Sign in").click()
    alert = dialog.get_by_role("alert")
    expect(alert).to_contain_text("Verify your email address first")
    expect(alert).not_to_contain_text("/api/")
    alert.get_by_role("button", name="Send a new link").click()
    expect(page.get_by_text("Verification link sent.")).to_be_visible()
    page.keyboard.press("Escape")

    def links() -> list[str]:
        mails = httpx.get(f"{site.url}/api/dev/mailbox").json()  # newest first
        found = (re.search(r"/verify-email\?token=([\w\-%.~]+)", m["text"]) for m in mails)
        return [
            link.group(1) for m, link in zip(mails, found, strict=True) if m["to"] == email and link
        ]

    wait_until(lambda: len(links()) == 2)
    page.goto(f"/verify-email?token={links()[0]}")  # the new link replaced the first
    expect(page.get_by_text("Your email address is verified.")).to_be_visible()
    _sign_in(page, email)
    expect(page).to_have_url(re.compile(r"/dashboard$"))


def test_first_call_in_minutes_with_no_operator(page: Page, site: Platform) -> None:
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    _sign_up_verify_and_sign_in(page, site, email)
    expect(page).to_have_title("Overview · Dashboard · GPT API")
    header = page.get_by_role("banner")
    expect(header.get_by_role("link", name=re.compile(r"^Balance \$5\.00"))).to_be_visible()
    expect(page.get_by_test_id("dashboard-balance")).to_have_text("$5.00")
    expect(page.get_by_role("link", name="Add funds")).to_have_attribute(
        "href", "/dashboard/billing"
    )
    steps = page.get_by_role("list", name="First steps").get_by_role("listitem")
    expect(steps.filter(has_text="Verify your email")).to_have_attribute("data-done", "yes")
    expect(steps.filter(has_text="Add credit")).to_have_attribute("data-done", "yes")
    expect(steps.filter(has_text="Make your first call")).to_have_attribute("data-done", "no")
    # Landing CTAs lead a signed-in person to the dashboard, not to sign-up.
    page.goto("/")
    expect(page.get_by_role("link", name="Open your dashboard").first).to_be_visible()
    expect(page.get_by_role("button", name="Get an API key")).to_have_count(0)

    page.goto("/dashboard/keys")
    form = page.get_by_role("form", name="Create API key")
    form.get_by_label("Name").fill("first")
    form.get_by_role("button", name="Create key").click()
    secret = page.get_by_test_id("new-key-secret").inner_text()
    assert secret.startswith("gpt_live_")
    client = openai.OpenAI(base_url=f"{site.url}/v1", api_key=secret, max_retries=0)
    reply = client.chat.completions.create(
        model="gpt-fast", messages=[{"role": "user", "content": "Hi"}], max_tokens=8
    )
    assert reply.choices[0].message.content

    page.goto("/dashboard/usage")
    row = page.get_by_test_id("request-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("completed")
    expect(page.get_by_test_id("usage-by-key")).to_contain_text("first")
    expect(page.get_by_test_id("latency-row")).to_contain_text("gpt-fast")
    page.goto("/dashboard")
    expect(steps.filter(has_text="Make your first call")).to_have_attribute("data-done", "yes")
    expect(steps.filter(has_text="Create an API key")).to_have_attribute("data-done", "yes")
    # No "credit running low" mail after a newcomer's first request.
    mails = httpx.get(f"{site.url}/api/dev/mailbox").json()
    assert not [m for m in mails if m["to"] == email and "running low" in m["subject"]]


def test_a_refused_request_is_in_the_log_with_its_reason(page: Page, site: Platform) -> None:
    email = f"refused-{uuid.uuid4().hex[:8]}@example.com"
    _sign_up_verify_and_sign_in(page, site, email)
    page.goto("/dashboard/keys")
    form = page.get_by_role("form", name="Create API key")
    form.get_by_label("Name").fill("embed only")
    form.get_by_role("checkbox", name="embed").check()
    form.get_by_role("button", name="Create key").click()
    secret = page.get_by_test_id("new-key-secret").inner_text()
    row = page.get_by_test_id("key-row").filter(has_text="embed only")
    expect(row).to_contain_text("only embed")
    client = openai.OpenAI(base_url=f"{site.url}/v1", api_key=secret, max_retries=0)
    try:
        client.chat.completions.create(
            model="gpt-fast", messages=[{"role": "user", "content": "x"}]
        )
        raise AssertionError("the key may not call gpt-fast")
    except openai.PermissionDeniedError:
        pass
    page.goto("/dashboard/usage")
    refused = page.get_by_test_id("refused-row")
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text("403 · model not allowed for this key")
    expect(refused).to_contain_text("$0.00")


def test_an_ended_session_asks_to_sign_in_and_returns(page: Page, site: Platform) -> None:
    email = f"again-{uuid.uuid4().hex[:8]}@example.com"
    _sign_up_verify_and_sign_in(page, site, email)
    page.goto("/dashboard/keys")
    expect(page.get_by_role("form", name="Create API key")).to_be_visible()
    # Signed out in another tab: the session cookie no longer opens anything.
    page.request.post(
        "/api/auth/signout",
        headers={
            "X-CSRF-Token": next(
                c["value"] for c in page.context.cookies() if c["name"] == "gptapi_csrf"
            )
        },
    )
    page.get_by_role("tab", name="Usage").click()
    dialog = page.get_by_role("dialog", name="Sign in")
    expect(dialog).to_contain_text("Your session has ended")
    expect(page.get_by_text("Could not load")).to_have_count(0)
    dialog.get_by_label("Email").fill(email)
    dialog.get_by_label("Password").fill(PASSWORD)
    dialog.get_by_role("button", name="Sign in").click()  # in place: no new page
    expect(page).to_have_url(re.compile(r"/dashboard/usage$"))
    expect(page.get_by_text("Refused requests", exact=True)).to_be_visible()
