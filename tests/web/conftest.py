"""The web console in real headless Chromium, against the whole platform (console API,
gateway and real llama.cpp servers) on SQLite: the browser checks what a person sees; the
database backends are covered by the API tests."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.admin import service
from gptapi.gateway.upstream.registry import ServerSpec
from gptapi.inference.launcher import AUDIO_MODELS, LocalFleet, audio_available
from gptapi.kit.money import dollars_to_nanos
from tests.support.audio_servers import audio_server
from tests.support.console import Member, sign_in
from tests.support.databases import fresh_database
from tests.support.platform import Platform, test_settings
from tests.support.posthog_double import PROJECT_KEY, PostHogDouble
from tests.support.sentry_double import SentryDouble
from tests.support.stripe_double import API_KEY, PLANS, WEBHOOK_SECRET, StripeDouble
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
def posthog_double() -> Iterator[PostHogDouble]:
    """PostHog for the console's analytics, which only talk to it with consent."""
    double = PostHogDouble().start()
    try:
        yield double
    finally:
        double.stop()


@pytest.fixture(scope="session")
def sentry_double() -> Iterator[SentryDouble]:
    """Sentry for the console's error reports."""
    double = SentryDouble().start()
    try:
        yield double
    finally:
        double.stop()


@pytest.fixture(scope="session")
def site(
    llama_fleet: LocalFleet,
    stripe_double: StripeDouble,
    posthog_double: PostHogDouble,
    sentry_double: SentryDouble,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Platform]:
    require_build()
    tmp: Path = tmp_path_factory.mktemp("web")
    with fresh_database("sqlite", tmp) as url:
        plans = [{**plan, "stripe_price_id": stripe_double.add_price(plan)} for plan in PLANS]
        integrations = {
            "stripe_secret_key": API_KEY,
            "stripe_webhook_secret": WEBHOOK_SECRET,
            "stripe_api_base": stripe_double.url,
            "subscription_plans": json.dumps(plans),
            "posthog_key": PROJECT_KEY,
            "posthog_host": posthog_double.url,
            "sentry_browser_dsn": sentry_double.dsn(),
        }
        platform = Platform(test_settings(url, tmp, **integrations))
        with contextlib.ExitStack() as audio:
            # The embedded default's audio models, as `gptapi serve` seeds and runs them.
            specs = llama_fleet.specs()
            for kind in audio_available():
                name, price, _ = AUDIO_MODELS[kind]
                served = audio.enter_context(audio_server(kind, tmp, name))
                platform.add_model(name, kind=kind, input_price=price, output_price=0)
                specs.append(ServerSpec(model=name, base_url=served))
            platform.set_servers("local", specs)
            with platform.serving(timeout=30):
                yield platform


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


@pytest.fixture
def owner(site: Platform, page: Page) -> Iterator[Member]:
    """A signed-in owner of their own organisation, signed in in the page's browser too."""
    signed_in = sign_in(site)
    cookies = signed_in.client.http.cookies
    page.context.add_cookies([{"name": n, "value": v, "url": site.url} for n, v in cookies.items()])
    try:
        yield signed_in
    finally:
        signed_in.client.close()


def grant(site: Platform, org_id: uuid.UUID | str, dollars: str) -> None:
    """Credit an organisation as an operator would."""

    async def work(session: AsyncSession) -> None:
        org = await service.find_organization(session, str(org_id))
        await service.grant_credit(session, org, dollars_to_nanos(dollars), reason="test credit")

    site.run(work)
