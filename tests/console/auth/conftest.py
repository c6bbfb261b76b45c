"""A platform whose clock tests move and whose mail they read, on each database backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gptapi.kit.clock import ManualClock
from gptapi.mail.transports import DevMailbox
from tests.console.auth.flows import AuthPlatform, SmtpInbox
from tests.support.databases import fresh_database
from tests.support.platform import Platform, test_settings


@pytest.fixture(scope="package")
def auth(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthPlatform]:
    tmp: Path = tmp_path_factory.mktemp(f"auth-{backend}")
    clock = ManualClock()
    mailbox = DevMailbox()
    with fresh_database(backend, tmp) as url:
        platform = Platform(test_settings(url, tmp), clock=clock, mailer=mailbox).start()
        try:
            yield AuthPlatform(platform, clock, mailbox)
        finally:
            platform.stop()


@pytest.fixture
def smtp_inbox() -> Iterator[SmtpInbox]:
    inbox = SmtpInbox().start()
    try:
        yield inbox
    finally:
        inbox.stop()
