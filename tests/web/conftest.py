"""The web console in real headless Chromium, against the whole platform (console API,
gateway and real llama.cpp servers) on SQLite: the browser checks what a person sees; the
database backends are covered by the API tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from gptapi.inference.launcher import LocalFleet
from tests.support.databases import fresh_database
from tests.support.platform import Platform, test_settings
from tests.support.stripe_double import API_KEY, WEBHOOK_SECRET, StripeDouble
from tests.support.threads import wait_until
from tests.web.browser import DESKTOP, ConsoleWatch, chromium, require_build


@pytest.fixture(scope="session")
def stripe_double() -> Iterator[StripeDouble]:
    """Stripe for the billing pages: its hosted checkout is played by the test."""
    double = StripeDouble().serve()
    try:
        yield double
    finally:
        double.stop()


@pytest.fixture(scope="session")
def site(
    llama_fleet: LocalFleet,
    stripe_double: StripeDouble,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Platform]:
    require_build()
    tmp: Path = tmp_path_factory.mktemp("web")
    with fresh_database("sqlite", tmp) as url:
        stripe = {
            "stripe_secret_key": API_KEY,
            "stripe_webhook_secret": WEBHOOK_SECRET,
            "stripe_api_base": stripe_double.url,
        }
        platform = Platform(test_settings(url, tmp, **stripe))
        platform.set_servers("local", llama_fleet.specs())
        platform.start()
        registry = platform.runtime.serving.registry
        wait_until(lambda: all(s.healthy for s in registry.servers), timeout=30)
        try:
            yield platform
        finally:
            platform.stop()


@pytest.fixture(scope="session")
def browser(site: Platform) -> Iterator[Browser]:
    # Playwright's sync API keeps an event loop running on this thread for as long as the
    # browser is open, so everything that runs its own loop here (migrations) goes first.
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Browser, site: Platform) -> Iterator[Page]:
    """A fresh browser profile at desktop size; the test fails if the page logged an error."""
    context = browser.new_context(base_url=site.url, viewport=DESKTOP)
    context.set_default_timeout(15_000)
    page = context.new_page()
    watch = ConsoleWatch(page)
    try:
        yield page
    finally:
        context.close()
    assert watch.errors == [], "the page logged errors"
