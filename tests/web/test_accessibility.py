"""axe-core (from web/node_modules, injected into the page) finds no serious or critical
violation on any page, in the light and dark themes and at phone width; every route has its
own title; dialogs give the focus back; on a phone the header folds into a menu and code
scrolls with the keyboard."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from tests.support.console import Member, sign_in
from tests.support.platform import Platform
from tests.web.browser import DESKTOP, PHONE, ConsoleWatch

AXE = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "axe-core" / "axe.min.js"
PUBLIC = ["/", "/docs", "/status", "/models", "/gpu"]
SIGNED_IN = [
    *(
        f"/dashboard/{tab}"
        for tab in (
            "overview",
            "keys",
            "deployments",
            "pods",
            "usage",
            "billing",
            "webhooks",
            "team",
        )
    ),
    "/dashboard/pods/new",
    "/dashboard/settings",
    "/playground",
    "/admin",
]
SERIOUS = """async () => {
  const { violations } = await axe.run(document, { resultTypes: ["violations"] });
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(" | ")}`);
}"""
SETTLED = """() => !document.querySelector('[role=status][aria-label^="Loading"]')
  && document.getAnimations().every((a) => a.playState !== "running")"""


@pytest.fixture(scope="module")
def admin(site: Platform) -> Iterator[Member]:
    member = sign_in(site, admin=True)
    try:
        yield member
    finally:
        member.client.close()


def axe_context(
    browser: Browser, site: Platform, viewport: ViewportSize, theme: str, member: Member | None
) -> BrowserContext:
    # axe is injected as an inline script, which the console's own CSP rightly refuses.
    context = browser.new_context(
        base_url=site.url, viewport=viewport, reduced_motion="reduce", bypass_csp=True
    )
    context.set_default_timeout(15_000)
    context.add_init_script(f"localStorage.setItem('gptapi-theme', '{theme}')")
    if member is not None:
        cookies = member.client.http.cookies
        context.add_cookies([{"name": n, "value": v, "url": site.url} for n, v in cookies.items()])
    return context


def serious_violations(page: Page, path: str) -> list[str]:
    page.goto(path)
    page.get_by_role("heading", level=1).first.wait_for()
    page.wait_for_function(SETTLED)
    page.add_script_tag(path=str(AXE))
    return [f"{path}: {found}" for found in page.evaluate(SERIOUS)]


@pytest.mark.parametrize(
    ("viewport", "theme"), [(DESKTOP, "light"), (DESKTOP, "dark"), (PHONE, "light")]
)
def test_no_serious_axe_violations(
    browser: Browser, site: Platform, admin: Member, viewport: ViewportSize, theme: str
) -> None:
    found: list[str] = []
    for member, paths in ((None, PUBLIC), (admin, SIGNED_IN)):
        context = axe_context(browser, site, viewport, theme, member)
        page = context.new_page()
        watch = ConsoleWatch(page)
        try:
            for path in paths:
                found += serious_violations(page, path)
        finally:
            context.close()
        assert watch.errors == []
    assert found == [], "\n".join(found)


def test_every_route_has_its_own_title(page: Page, site: Platform, admin: Member) -> None:
    cookies = admin.client.http.cookies
    page.context.add_cookies([{"name": n, "value": v, "url": site.url} for n, v in cookies.items()])
    titles = {}
    for path in [*PUBLIC, *SIGNED_IN, "/verify-email", "/no/such/page"]:
        page.goto(path)
        page.get_by_role("heading", level=1).first.wait_for()
        titles[path] = page.title()
    assert len(set(titles.values())) == len(titles), titles
    assert titles["/dashboard/keys"] == "API Keys · Dashboard · GPT API"


def test_dialogs_give_the_focus_back_to_what_opened_them(page: Page) -> None:
    page.goto("/")
    register = page.get_by_role("banner").get_by_role("button", name="Register")
    register.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Create your account")
    # A chain of dialogs still returns to the first trigger.
    dialog.get_by_role("button", name="Already have an account? Sign in").click()
    expect(page.get_by_role("dialog", name="Sign in")).to_be_visible()
    page.keyboard.press("Escape")
    expect(register).to_be_focused()
    privacy = page.get_by_role("contentinfo").get_by_role("button", name="Privacy Policy")
    privacy.click()
    page.get_by_role("dialog").get_by_role("button", name="Close").first.click()
    expect(privacy).to_be_focused()


def test_on_a_phone_the_header_folds_into_a_menu_and_code_scrolls_by_keyboard(
    page: Page,
) -> None:
    page.set_viewport_size(PHONE)
    page.goto("/docs")
    banner = page.get_by_role("banner")
    expect(banner.get_by_role("link", name="Status")).to_be_hidden()
    banner.get_by_role("button", name="Menu").click()
    menu = page.get_by_role("menu")
    for name in ("Docs", "Models", "Status"):
        expect(menu.get_by_role("menuitem", name=name)).to_be_visible()
    menu.get_by_role("menuitem", name="Status").click()
    expect(page).to_have_title("Status · GPT API")
    page.goto("/docs")
    # The samples carry the API base URL the server reports: focus one once it has settled.
    page.wait_for_load_state("networkidle")
    sample = page.get_by_test_id("code-sample").first
    sample.focus()
    expect(sample).to_be_focused()
    before = sample.evaluate("e => e.scrollLeft")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    # Keyboard scrolling is animated: wait for it rather than read it at once.
    page.wait_for_function(
        "([e, before]) => e.scrollLeft > before", arg=[sample.element_handle(), before]
    )
    # The copy button sits beside the code, not over it.
    code_box = sample.bounding_box()
    button_box = page.get_by_role("button", name="Copy code").first.bounding_box()
    assert code_box is not None and button_box is not None
    assert button_box["x"] >= code_box["x"] + code_box["width"]
