"""Shared fixtures: real databases (SQLite and PostgreSQL), real llama.cpp servers, and a
gateway running on uvicorn in a background thread."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gptapi.inference.launcher import LocalFleet
from tests.support.databases import BACKENDS, fresh_database
from tests.support.platform import Platform, test_settings
from tests.support.threads import Portal


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def llama_fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFleet]:
    """The embedded default's two llama.cpp servers with the real SmolLM2 model (its speech
    server is started by the speech tests themselves)."""
    fleet = LocalFleet(
        tmp_path_factory.mktemp("llama-logs"), parallel=4, ctx_per_slot=2048, audio=[]
    )
    fleet.start()
    try:
        portal = Portal()
        try:
            portal.call(fleet.wait_ready(timeout=180), timeout=200)
        finally:
            portal.close()
        yield fleet
    finally:
        fleet.stop()


@pytest.fixture(scope="session")
def platform(
    backend: str, llama_fleet: LocalFleet, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """The gateway over the real llama.cpp servers, on a fresh database of each backend."""
    tmp: Path = tmp_path_factory.mktemp(f"platform-{backend}")
    with fresh_database(backend, tmp) as url:
        platform = Platform(test_settings(url, tmp))
        platform.set_servers("local", llama_fleet.specs())
        with platform.serving(timeout=30):
            yield platform
