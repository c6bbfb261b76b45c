"""Supabase mode: a stand-in for the project's JWKS endpoint, and a platform that trusts it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gptapi.kit.clock import ManualClock
from tests.supabase.tokens import JWT_SECRET, SupabaseProject
from tests.support.databases import fresh_database
from tests.support.platform import Platform, test_settings


@pytest.fixture(scope="session")
def project() -> Iterator[SupabaseProject]:
    running = SupabaseProject().start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def supabase_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(scope="session")
def supabase_platform(
    backend: str,
    project: SupabaseProject,
    supabase_clock: ManualClock,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Platform]:
    tmp: Path = tmp_path_factory.mktemp(f"supabase-{backend}")
    with fresh_database(backend, tmp) as url:
        settings = test_settings(
            url,
            tmp,
            auth_provider="supabase",
            supabase_url=project.url,
            supabase_anon_key="anon-key",
            supabase_jwt_secret=JWT_SECRET,
        )
        platform = Platform(settings, clock=supabase_clock).start()
        try:
            yield platform
        finally:
            platform.stop()
