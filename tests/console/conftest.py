"""A platform without inference servers, for the console API, on each database backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.console import Member, sign_in
from tests.support.databases import fresh_database
from tests.support.platform import Platform, test_settings


@pytest.fixture(scope="session")
def console(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    tmp: Path = tmp_path_factory.mktemp(f"console-{backend}")
    with fresh_database(backend, tmp) as url:
        platform = Platform(test_settings(url, tmp)).start()
        try:
            yield platform
        finally:
            platform.stop()


@pytest.fixture
def member(console: Platform) -> Iterator[Member]:
    """A fresh signed-in owner of their own personal organisation."""
    signed_in = sign_in(console)
    try:
        yield signed_in
    finally:
        signed_in.client.close()
