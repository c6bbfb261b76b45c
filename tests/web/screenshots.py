"""Screenshots of every page and modal of the web console, at desktop and phone width, for
the README: `make screenshots` (or `python -m tests.web.screenshots DIR`).

Runs the whole platform as the tests do (real llama.cpp servers, a fresh SQLite database),
with a signed-in platform admin who has a key, credit and a little usage."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import httpx
import openai
from playwright.sync_api import Browser, Page, Route
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.admin import service
from gptapi.inference.launcher import LocalFleet
from gptapi.kit.money import dollars_to_nanos
from tests.support.console import Member, sign_in
from tests.support.databases import fresh_database
from tests.support.platform import Platform, test_settings
from tests.support.stripe_double import API_KEY, WEBHOOK_SECRET, StripeDouble
from tests.support.threads import Portal, wait_until
from tests.web.browser import DESKTOP, PHONE, chromium, require_build

Step = Callable[[Page], None]
Shot = tuple[str, str, Step | None]


def _click(name: str, *, within: str = "body") -> Step:
    return lambda page: page.locator(within).get_by_role("button", name=name).first.click()


def _two_factor(page: Page) -> None:
    # Only the dialog is of interest here, so the server's answer is the one a 2FA account gets.
    def answer(route: Route) -> None:
        route.fulfill(json={"mfa_required": True, "challenge": "example", "me": None})

    page.route("**/api/auth/signin", answer)
    _click("Sign In", within="header")(page)
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Email").fill("ada@example.com")
    dialog.get_by_label("Password").fill("correct horse battery")
    dialog.get_by_role("button", name="Sign in").click()
    page.get_by_role("dialog", name="Two-factor authentication").wait_for()


SIGNED_OUT: list[Shot] = [
    ("landing", "/", None),
    ("docs", "/docs", None),
    ("status", "/status", None),
    ("models", "/models", None),
    ("gpu-catalog", "/gpu", None),
    ("modal-sign-in", "/", _click("Sign In", within="header")),
    ("modal-sign-up", "/", _click("Register", within="header")),
    ("modal-forgot-password", "/forgot-password", None),
    ("modal-2fa-code", "/", _two_factor),
    ("modal-privacy-policy", "/", _click("Privacy Policy", within="footer")),
    ("modal-terms-of-service", "/", _click("Terms of Service", within="footer")),
    ("modal-contact-us", "/", _click("Contact Us", within="footer")),
]

SIGNED_IN: list[Shot] = [
    *(
        (f"dashboard-{tab}", f"/dashboard/{tab}", None)
        for tab in (
            "overview",
            "keys",
            "deployments",
            "pods",
            "usage",
            "billing",
            "webhooks",
            "team",
            "settings",
        )
    ),
    ("dashboard-pod-form", "/dashboard/pods/new", None),
    ("modal-deploy", "/gpu", _click("Deploy SmolLM2 135M Instruct")),
    ("playground", "/playground", None),
    ("modal-confirm-action", "/dashboard/keys", _click("Revoke")),
    ("operator", "/admin", None),
    *(
        (f"operator-{section}", f"/admin?section={section}", None)
        for section in ("users", "models", "servers", "incidents")
    ),
]


def _shoot(
    browser: Browser,
    base: str,
    out: Path,
    member: Member | None,
    shots: list[Shot],
    scheme: Literal["light", "dark"] = "light",
) -> None:
    suffix = "-dark" if scheme == "dark" else ""
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = browser.new_context(base_url=base, viewport=viewport, color_scheme=scheme)
        if member:
            cookies = member.client.http.cookies
            context.add_cookies([{"name": n, "value": v, "url": base} for n, v in cookies.items()])
        page = context.new_page()
        for name, path, step in shots:
            page.goto(path)
            page.wait_for_load_state("networkidle")
            if step:
                step(page)
                page.get_by_role("dialog").wait_for()
            page.wait_for_timeout(400)  # let entrance animations finish
            file = f"{name}{suffix}-{size}.png"
            page.screenshot(path=out / file, full_page=step is None)
            print(f"  {file}", flush=True)
        context.close()


def _seed(platform: Platform, stripe: StripeDouble) -> Member:
    member = sign_in(platform, email="ada@example.com", admin=True)

    async def credit(session: AsyncSession) -> None:
        org = await service.find_organization(session, str(member.org_id))
        await service.grant_credit(session, org, dollars_to_nanos("20"), reason="screenshots")

    platform.run(credit)
    created = member.client.post(
        f"/api/orgs/{member.org_id}/keys", json={"name": "production", "rpm_limit": 600}
    ).json()
    client = openai.OpenAI(base_url=f"{platform.url}/v1", api_key=created["secret"])
    for prompt in ("Say hi", "Name a colour", "Count to three"):
        client.chat.completions.create(
            model="gpt-fast", messages=[{"role": "user", "content": prompt}], max_tokens=12
        )
    client.embeddings.create(model="embed", input=["hello", "world"])
    # A top-up paid at Stripe with the card kept, so Billing shows a receipt and auto-refill.
    checkout = member.client.post(
        f"/api/orgs/{member.org_id}/billing/checkout", json={"amount_usd": 25, "save_card": True}
    ).json()
    body, signature = stripe.event(
        "checkout.session.completed", stripe.complete_checkout(checkout["id"])
    )
    httpx.post(
        f"{platform.url}/api/stripe/webhook",
        content=body,
        headers={"Content-Type": "application/json", "Stripe-Signature": signature},
    ).raise_for_status()
    return member


def _deploy(platform: Platform, member: Member) -> str:
    """A running deployment with its own key, so the GPU cloud screens have one to show."""
    base = f"/api/orgs/{member.org_id}/deployments"
    created = member.client.post(base, json={"catalog_slug": "smollm2-135m", "name": "my-bot"})
    deployment_id: str = created.raise_for_status().json()["id"]
    wait_until(
        lambda: member.client.get(f"{base}/{deployment_id}").json()["state"] == "ready",
        timeout=180,
    )
    member.client.post(f"{base}/{deployment_id}/key").raise_for_status()
    return deployment_id


def main(out: Path) -> None:
    require_build()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        fleet = LocalFleet(tmp / "logs", parallel=2, ctx_per_slot=2048, audio=[])
        fleet.start()
        portal = Portal()
        stripe = StripeDouble().serve()
        try:
            portal.call(fleet.wait_ready(timeout=180), timeout=200)
            with fresh_database("sqlite", tmp) as url:
                settings = test_settings(
                    url,
                    tmp,
                    stripe_secret_key=API_KEY,
                    stripe_webhook_secret=WEBHOOK_SECRET,
                    stripe_api_base=stripe.url,
                )
                platform = Platform(settings)
                platform.set_servers("local", fleet.specs())
                platform.start()
                try:
                    registry = platform.runtime.serving.registry
                    wait_until(lambda: all(s.healthy for s in registry.servers), timeout=30)
                    member = _seed(platform, stripe)
                    deployment = _deploy(platform, member)
                    detail: Shot = (
                        "dashboard-deployment",
                        f"/dashboard/deployments/{deployment}",
                        None,
                    )
                    with chromium() as browser:
                        _shoot(browser, platform.url, out, None, SIGNED_OUT)
                        _shoot(browser, platform.url, out, member, [*SIGNED_IN, detail])
                        _shoot(browser, platform.url, out, None, SIGNED_OUT[:1], "dark")
                        _shoot(browser, platform.url, out, member, SIGNED_IN[:3], "dark")
                finally:
                    platform.stop()
        finally:
            stripe.stop()
            portal.close()
            fleet.stop()
    print(f"screenshots in {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
