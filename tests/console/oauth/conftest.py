"""A platform with all four providers pointed at the loopback provider double."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.databases import fresh_database
from tests.support.oauth_provider import OAuthProviderDouble, Person
from tests.support.platform import Platform, test_settings


@pytest.fixture(scope="session")
def provider_double() -> Iterator[OAuthProviderDouble]:
    double = OAuthProviderDouble().start()
    try:
        yield double
    finally:
        double.stop()


@pytest.fixture(scope="session")
def oauth_platform(
    backend: str, provider_double: OAuthProviderDouble, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    tmp: Path = tmp_path_factory.mktemp(f"oauth-{backend}")
    with fresh_database(backend, tmp) as url:
        platform = Platform(test_settings(url, tmp, **provider_double.settings())).start()
        try:
            yield platform
        finally:
            platform.stop()


@pytest.fixture
def person(provider_double: OAuthProviderDouble) -> Iterator[Person]:
    """Who the double signs in as; a new person for every test."""
    provider_double.person = Person()
    yield provider_double.person
    provider_double.deny = False
    provider_double.id_token_overrides = {}
