"""What a signed-out visitor sees: the landing page with live prices, the documentation with
working examples, the status page, the footer's modals, and the theme."""

from __future__ import annotations

import re
import uuid

import httpx
from playwright.sync_api import Page, expect

from gptapi.inference.launcher import audio_available
from tests.support.console import sign_in
from tests.support.platform import Platform
from tests.support.threads import wait_until
from tests.web.browser import PHONE


def test_landing_shows_the_three_models_with_their_prices(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Open models, the OpenAI API.")).to_be_visible()
    cards = page.get_by_test_id("model-card")
    audio = audio_available()
    expect(cards).to_have_count(3 + len(audio))
    if "speech" in audio:
        expect(cards.filter(has_text="tts-1")).to_contain_text("Text $15 / 1M characters")
    if "transcription" in audio:
        expect(cards.filter(has_text="whisper-1")).to_contain_text("Audio $0.006 / minute")
    expect(cards.filter(has_text="gpt-fast")).to_contain_text("$0.25 / 1M tokens")
    expect(cards.filter(has_text="gpt-fast")).to_contain_text("$0.50 / 1M tokens")
    expect(cards.filter(has_text="gpt-full")).to_contain_text("$1.00 / 1M tokens")
    expect(cards.filter(has_text="embed")).to_contain_text("N/A")
    header = page.get_by_role("banner")
    expect(header.get_by_role("button", name="Sign In")).to_be_visible()
    expect(header.get_by_role("button", name="Register")).to_be_visible()
    expect(header.get_by_role("link", name="Dashboard")).to_have_count(0)
    expect(page.get_by_role("contentinfo")).to_contain_text("GPT API © 2025")


def test_the_documentation_uses_this_server_and_copies_examples(page: Page, site: Platform) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/docs")
    base_url = site.settings.base_url
    quick_start = page.locator("#quick-start")
    expect(quick_start.locator("code").first).to_contain_text(f"{base_url}/v1")
    quick_start.get_by_role("tab", name="Python").click()
    expect(quick_start.get_by_role("tabpanel")).to_contain_text(f'base_url="{base_url}/v1"')
    quick_start.get_by_role("button", name="Copy code").click()
    expect(page.get_by_text("Copied to clipboard.")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("import os\n\nfrom openai import OpenAI")
    for section in ("Streaming", "Errors and rate limits", "Webhooks and signature verification"):
        expect(page.get_by_role("heading", name=section)).to_be_visible()


def test_status_page_shows_services_servers_and_incidents(page: Page) -> None:
    page.goto("/status")
    expect(page.get_by_role("heading", name="System status")).to_be_visible()
    expect(page.get_by_role("heading", name="Servers")).to_be_visible()
    expect(page.get_by_test_id("server-card").first).to_be_visible()
    expect(page.get_by_role("heading", name="Recent incidents")).to_be_visible()


def test_footer_opens_each_information_modal_and_escape_closes_it(page: Page) -> None:
    page.goto("/")
    footer = page.get_by_role("contentinfo")
    for link, title in (
        ("Privacy Policy", "Privacy Policy"),
        ("Terms of Service", "Terms of Service"),
        ("Contact Us", "Contact us"),
    ):
        footer.get_by_role("button", name=link).click()
        dialog = page.get_by_role("dialog")
        expect(dialog.get_by_role("heading", name=title)).to_be_visible()
        page.keyboard.press("Escape")
        expect(dialog).to_have_count(0)


def test_a_contact_message_is_sent_to_the_operator(page: Page, site: Platform) -> None:
    operator = sign_in(site, admin=True)
    operator.client.close()
    sender = f"lin-{uuid.uuid4().hex[:8]}@example.com"
    page.goto("/")
    page.get_by_role("contentinfo").get_by_role("button", name="Contact Us").click()
    dialog = page.get_by_role("dialog", name="Contact us")
    dialog.get_by_label("Name").fill("Lin")
    dialog.get_by_label("Email").fill(sender)
    dialog.get_by_label("Message").fill("Do you offer volume discounts?")
    dialog.get_by_role("button", name="Send message").click()
    expect(page.get_by_text("Message sent.")).to_be_visible()
    expect(dialog).to_have_count(0)

    def mailed() -> list[dict[str, str]]:
        mails = httpx.get(f"{site.url}/api/dev/mailbox").json()
        return [m for m in mails if m["to"] == operator.email]

    wait_until(lambda: bool(mailed()))
    [mail] = mailed()
    assert sender in mail["text"] and "Do you offer volume discounts?" in mail["text"]


def test_the_theme_toggle_is_remembered(page: Page) -> None:
    page.goto("/")
    html = page.locator("html")
    expect(html).not_to_have_class(re.compile(r"\bdark\b"))
    page.get_by_role("button", name="Switch to dark theme").click()
    expect(html).to_have_class(re.compile(r"\bdark\b"))
    page.reload()
    expect(html).to_have_class(re.compile(r"\bdark\b"))
    expect(page.get_by_role("button", name="Switch to light theme")).to_be_visible()


def test_unknown_pages_say_so(page: Page) -> None:
    page.goto("/no/such/page")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()


def test_the_landing_page_summarises_live_status(page: Page) -> None:
    page.goto("/")
    summary = page.locator("section", has=page.get_by_role("heading", name="System status"))
    expect(summary.get_by_role("status")).to_be_visible()
    expect(summary.get_by_role("link", name="Full status and incident history")).to_be_visible()


def test_the_keyboard_reaches_the_content_and_opens_a_modal(page: Page) -> None:
    page.goto("/")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_attached()  # the app has rendered; the first Tab is ours
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))
    register = page.get_by_role("banner").get_by_role("button", name="Register")
    register.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog").get_by_label("Name")).to_be_visible()


def test_public_pages_fit_a_phone(page: Page) -> None:
    page.set_viewport_size(PHONE)
    for path in ("/", "/docs", "/status"):
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        expect(page.get_by_role("status", name=re.compile("^Loading"))).to_have_count(0)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} is {overflow}px wider than the phone"
