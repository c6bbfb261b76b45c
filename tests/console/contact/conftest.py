"""A platform whose clock tests move and whose outgoing mail they read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gptapi.kit.clock import ManualClock
from gptapi.mail.transports import DevMailbox
from tests.support.console import ConsoleClient
from tests.support.databases import fresh_database
from tests.support.platform import Platform, test_settings


@dataclass
class ContactPlatform:
    platform: Platform
    clock: ManualClock
    mailbox: DevMailbox


@pytest.fixture(scope="package")
def contact_env(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ContactPlatform]:
    tmp: Path = tmp_path_factory.mktemp(f"contact-{backend}")
    clock = ManualClock()
    mailbox = DevMailbox()
    with fresh_database(backend, tmp) as url:
        platform = Platform(test_settings(url, tmp), clock=clock, mailer=mailbox).start()
        try:
            yield ContactPlatform(platform, clock, mailbox)
        finally:
            platform.stop()


@pytest.fixture
def env(contact_env: ContactPlatform) -> ContactPlatform:
    """Every test starts with the client address's hourly allowance unused."""
    contact_env.clock.advance(2 * 3600)
    return contact_env


@pytest.fixture
def visitor(contact_env: ContactPlatform) -> Iterator[ConsoleClient]:
    """Someone who is not signed in."""
    client = ConsoleClient(contact_env.platform.url)
    try:
        yield client
    finally:
        client.close()
