"""Debian's Chromium driven by Playwright: browser downloads are impossible here, so the
executable is named, never fetched."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, ConsoleMessage, Page, ViewportSize, sync_playwright

from gptapi.console_web import DIST

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DESKTOP = ViewportSize(width=1280, height=800)
PHONE = ViewportSize(width=390, height=844)


def require_build() -> None:
    if not (DIST / "index.html").is_file():
        raise RuntimeError(f"the web console is not built ({DIST}); run `make web` first")
    if not CHROMIUM.is_file():
        raise RuntimeError(f"{CHROMIUM} is missing; `make pytest` installs it (as root)")


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# Chromium logs every 4xx/5xx fetch as a console error by itself. A 4xx the test provoked
# (a wrong password) is an answer the page shows; a 5xx is always a failure.
REFUSED = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d\b")


class ConsoleWatch:
    """Everything the page reported as an error: console.error calls, uncaught exceptions and
    server errors."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not REFUSED.match(message.text):
            self.errors.append(f"{message.text} @ {message.location.get('url', '')}")
