"""A platform whose compute worker runs real llama.cpp deployments, on each database backend,
with a manual clock so running time (and so its charge) is exact."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.admin import service
from gptapi.kit.clock import ManualClock
from gptapi.kit.money import dollars_to_nanos
from gptapi.models import Organization
from tests.support.console import Member, sign_in
from tests.support.databases import fresh_database
from tests.support.platform import Platform, test_settings


@pytest.fixture
def database(backend: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database of each backend, for tests that drive the books directly."""
    with fresh_database(backend, tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def gpu_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(scope="session")
def gpu(
    backend: str, gpu_clock: ManualClock, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    tmp: Path = tmp_path_factory.mktemp(f"gpu-{backend}")
    with fresh_database(backend, tmp) as url:
        settings = test_settings(
            url,
            tmp,
            compute_poll_seconds=0.1,
            compute_local_parallel=1,
            billing_poll_seconds=60,
            # Cold requests are answered at once; tests that wait say so.
            compute_cold_start_wait_seconds=0,
            compute_traffic_flush_seconds=0.1,
            compute_scale_out_after_seconds=5,
        )
        platform = Platform(settings, clock=gpu_clock).start()
        try:
            yield platform
        finally:
            platform.stop()


def fund(platform: Platform, organization_id: uuid.UUID, dollars: str) -> None:
    async def work(session: AsyncSession) -> None:
        organization = await session.get(Organization, organization_id)
        assert organization is not None
        await service.grant_credit(
            session, organization, dollars_to_nanos(dollars), reason="test top-up"
        )

    platform.run(work)


def funded_stranger(platform: Platform) -> Member:
    """A signed-in owner of another organisation, with credit: its refusals are not for money."""
    stranger = sign_in(platform)
    fund(platform, stranger.org_id, "5")
    return stranger


def assert_unknown_to(stranger: Member, url: str) -> None:
    """Every route of another organisation's deployment or pod at `url` is a plain 404."""
    for method, suffix in (
        ("GET", ""),
        ("GET", "/logs"),
        ("POST", "/stop"),
        ("POST", "/start"),
        ("DELETE", ""),
    ):
        response = stranger.client.request(method, url + suffix)
        assert response.status_code == 404, (method, suffix)
        assert response.json()["error"]["code"] == "not_found", (method, suffix)


@pytest.fixture
def owner(gpu: Platform) -> Iterator[Member]:
    """A signed-in owner of a funded organisation."""
    member = sign_in(gpu)
    fund(gpu, member.org_id, "20")
    try:
        yield member
    finally:
        member.client.close()
