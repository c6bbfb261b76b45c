"""A newcomer's first hour, in the browser: sign up, follow the mailed link, sign in, create
an API key, call the real model with it through the OpenAI SDK, revoke the key, then top up
through Stripe Checkout (the Stripe double) and see the balance and transactions follow."""

from __future__ import annotations

import re
import uuid

import httpx
import openai
import pyotp
from playwright.sync_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.admin import service
from gptapi.kit.money import dollars_to_nanos
from tests.support.console import sign_in
from tests.support.platform import Platform
from tests.support.stripe_double import StripeDouble
from tests.web.stripe_checkout import pay_at_stripe

PASSWORD = "correct horse battery"


def _mailed_token(site: Platform, to: str, path: str) -> str:
    mails = httpx.get(f"{site.url}/api/dev/mailbox").json()
    for mail in reversed(mails):
        found = re.search(rf"{re.escape(path)}\?token=([\w\-%.~]+)", mail["text"])
        if mail["to"] == to and found:
            return found.group(1)
    raise AssertionError(f"no mail to {to} with a {path} link")


def _grant(site: Platform, org_id: str, dollars: str) -> None:
    async def work(session: AsyncSession) -> None:
        org = await service.find_organization(session, org_id)
        await service.grant_credit(session, org, dollars_to_nanos(dollars), reason="e2e credit")

    site.run(work)


def _sign_up_and_in(page: Page, site: Platform, email: str) -> None:
    page.goto("/")
    page.get_by_role("banner").get_by_role("button", name="Register").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("Ada")
    dialog.get_by_label("Email").fill(email)
    dialog.get_by_label("Password").fill(PASSWORD)
    dialog.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Account created.")).to_be_visible()
    expect(dialog).to_have_count(0)

    page.goto(f"/verify-email?token={_mailed_token(site, email, '/verify-email')}")
    expect(page.get_by_text("Your email address is verified.")).to_be_visible()
    page.get_by_role("main").get_by_role("button", name="Sign In").click()
    dialog.get_by_label("Email").fill(email)
    dialog.get_by_label("Password").fill(PASSWORD)
    dialog.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def _balance_nanos(page: Page, org_id: str) -> int:
    return int(page.request.get(f"/api/orgs/{org_id}/billing").json()["balance_nanos"])


def test_sign_up_create_a_key_call_the_model_revoke_it_and_top_up(
    page: Page, site: Platform, stripe_double: StripeDouble
) -> None:
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    _sign_up_and_in(page, site, email)
    header = page.get_by_role("banner")
    expect(header.get_by_role("link", name="Dashboard")).to_be_visible()
    expect(header.get_by_role("button", name="Sign In")).to_have_count(0)

    session = page.request.get("/api/auth/session").json()
    org_id = session["me"]["organizations"][0]["id"]
    _grant(site, org_id, "5")

    page.get_by_role("tab", name="API Keys").click()
    expect(page).to_have_url(re.compile(r"/dashboard/keys$"))
    form = page.get_by_role("form", name="Create API key")
    form.get_by_label("Name").fill("laptop")
    form.get_by_label("Requests / minute").fill("100")
    form.get_by_role("button", name="Create key").click()
    secret = page.get_by_test_id("new-key-secret").inner_text()
    row = page.get_by_test_id("key-row").filter(has_text="laptop")
    expect(row).to_contain_text("100 RPM")
    expect(row).to_contain_text("active")

    client = openai.OpenAI(base_url=f"{site.url}/v1", api_key=secret, max_retries=0)
    reply = client.chat.completions.create(
        model="gpt-fast", messages=[{"role": "user", "content": "Say hi"}], max_tokens=8
    )
    assert reply.choices[0].message.content
    assert reply.usage is not None and reply.usage.completion_tokens > 0

    page.get_by_role("button", name="I have stored it").click()
    expect(page.get_by_test_id("new-key-secret")).to_have_count(0)
    row.get_by_role("button", name="Revoke").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Revoke “laptop”?")).to_be_visible()
    dialog.get_by_role("button", name="Revoke key").click()
    expect(page.get_by_text("Key “laptop” revoked.")).to_be_visible()
    expect(row).to_contain_text("revoked")
    expect(row.get_by_role("button", name="Revoke")).to_have_count(0)

    # The call is in the request log, billed to the key that made it.
    page.get_by_role("tab", name="Usage").click()
    logged = page.get_by_test_id("request-row")
    expect(logged).to_have_count(1)
    expect(logged).to_contain_text("gpt-fast")
    expect(logged).to_contain_text("laptop")
    expect(logged).to_contain_text("200")
    filters = page.get_by_role("form", name="Filter usage")
    filters.get_by_label("Status").select_option("429")
    expect(page.get_by_text("No requests match.")).to_be_visible()
    filters.get_by_label("Status").select_option("")
    filters.get_by_label("API key").select_option(label="laptop")
    filters.get_by_label("Model").select_option("gpt-fast")
    expect(logged).to_have_count(1)
    filters.get_by_label("Model").select_option("gpt-full")
    expect(logged).to_have_count(0)
    filters.get_by_role("button", name="Reset").click()
    expect(logged).to_have_count(1)

    # Top up $25 through Stripe Checkout; the success page lands back on Billing.
    before = _balance_nanos(page, org_id)
    pay_at_stripe(page, site, stripe_double)
    page.get_by_role("tab", name="Billing").click()
    page.get_by_role("group", name="Add credit").get_by_role(
        "button", name="Add $25", exact=True
    ).click()
    expect(page.get_by_text("Payment received; your balance is updated.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/dashboard/billing$"))
    after = _balance_nanos(page, org_id)
    assert after - before == dollars_to_nanos("25")
    expect(page.get_by_role("main").get_by_text(f"${after / 1e9:,.2f}").first).to_be_visible()
    topup = page.get_by_test_id("transaction").filter(has_text="Top-up $25.00")
    expect(topup).to_have_count(1)
    expect(topup).to_contain_text("+$25.00")
    payment = page.get_by_role("list", name="Card payments").get_by_role("listitem")
    expect(payment).to_contain_text("Top-up $25.00")
    expect(payment).to_contain_text("paid")
    receipt = payment.get_by_role("link", name="Receipt").get_attribute("href")
    assert receipt is not None and receipt.startswith(f"{stripe_double.url}/receipts/")


def test_a_wrong_password_is_reported_and_keeps_the_dialog_open(page: Page) -> None:
    page.goto("/signin")
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Email").fill("nobody@example.com")
    dialog.get_by_label("Password").fill("not the password")
    dialog.get_by_role("button", name="Sign in").click()
    warning = page.locator("[data-sonner-toast][data-type='warning']")
    expect(warning).to_contain_text("Wrong email or password.")
    expect(dialog.get_by_label("Email")).to_have_value("nobody@example.com")
    page.keyboard.press("Escape")
    expect(page.get_by_role("banner").get_by_role("button", name="Register")).to_be_visible()


def _registered(site: Platform, email: str) -> None:
    """An account with a password and a verified address, made through the API."""
    body = {"email": email, "password": PASSWORD, "name": "Grace"}
    assert httpx.post(f"{site.url}/api/auth/signup", json=body).status_code == 201
    token = _mailed_token(site, email, "/verify-email")
    verify = httpx.post(f"{site.url}/api/auth/verify-email", json={"token": token})
    assert verify.status_code == 200


def _sign_in(page: Page, email: str) -> None:
    page.goto("/signin")
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Email").fill(email)
    dialog.get_by_label("Password").fill(PASSWORD)
    dialog.get_by_role("button", name="Sign in").click()


def test_two_factor_is_turned_on_in_settings_and_asked_for_at_sign_in(
    page: Page, site: Platform
) -> None:
    email = f"grace-{uuid.uuid4().hex[:8]}@example.com"
    _registered(site, email)
    _sign_in(page, email)
    expect(page).to_have_url(re.compile(r"/dashboard$"))

    page.goto("/dashboard/settings")
    page.get_by_role("button", name="Set up").click()
    form = page.get_by_role("form", name="Turn on two-factor authentication")
    expect(form.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    secret = form.locator("code").inner_text()
    form.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    form.get_by_role("button", name="Turn on").click()
    expect(page.get_by_text("Two-factor authentication is on.")).to_be_visible()
    recovery = page.get_by_role("alert").filter(has_text="Recovery codes").locator("pre")
    first_code = recovery.inner_text().split()[0]

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("banner").get_by_role("button", name="Sign In")).to_be_visible()
    _sign_in(page, email)
    dialog = page.get_by_role("dialog", name="Two-factor authentication")
    dialog.get_by_label("Code").fill(first_code)
    dialog.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.get_by_role("banner").get_by_role("link", name="Dashboard")).to_be_visible()


def test_an_invitation_link_is_accepted_after_signing_in(page: Page, site: Platform) -> None:
    owner = sign_in(site)
    org_name = owner.client.get(f"/api/orgs/{owner.org_id}").json()["name"]
    email = f"lin-{uuid.uuid4().hex[:8]}@example.com"
    invited = owner.client.post(
        f"/api/orgs/{owner.org_id}/invitations", json={"email": email, "role": "developer"}
    )
    owner.client.close()
    assert invited.status_code == 201
    _registered(site, email)

    page.goto(f"/invite?token={_mailed_token(site, email, '/invite')}")
    page.get_by_role("main").get_by_role("button", name="Sign In").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Email").fill(email)
    dialog.get_by_label("Password").fill(PASSWORD)
    dialog.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {email}.")).to_be_visible()
    page.get_by_role("button", name="Accept invitation").click()
    expect(page.get_by_text(f"You joined {org_name}.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    switcher = page.get_by_label("Organisation")
    expect(switcher.locator("option")).to_have_count(2)
    switcher.select_option(label=org_name)
    expect(page.get_by_role("main")).to_contain_text("Your role: developer")


def test_another_browser_is_signed_out_from_settings(page: Page, site: Platform) -> None:
    email = f"kay-{uuid.uuid4().hex[:8]}@example.com"
    _registered(site, email)
    elsewhere = httpx.Client(base_url=site.url)
    signed_in = elsewhere.post("/api/auth/signin", json={"email": email, "password": PASSWORD})
    assert signed_in.status_code == 200
    _sign_in(page, email)
    expect(page).to_have_url(re.compile(r"/dashboard$"))

    page.goto("/dashboard/settings")
    browsers = page.get_by_role("main").get_by_role("listitem").filter(has_text="last seen")
    expect(browsers).to_have_count(2)
    expect(browsers.filter(has_text="this browser")).to_have_count(1)
    page.get_by_role("button", name=re.compile(r"^Sign out the browser at")).click()
    expect(page.get_by_text("That browser is signed out.")).to_be_visible()
    expect(browsers).to_have_count(1)
    assert elsewhere.get("/api/auth/session").json()["authenticated"] is False
    elsewhere.close()
