"""Gateway fixtures shared by the modules: a plain gateway, and fake upstream servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gptapi.inference.launcher import LocalFleet
from tests.gateway.admission import custom_platform
from tests.support.fake_upstream import FakeLlamaServer
from tests.support.platform import Platform


@pytest.fixture(scope="module")
def gateway(
    backend: str, llama_fleet: LocalFleet, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """A gateway of the module's own on a fresh database, over the session's llama servers.
    Requests may wait a minute for a slot: a loaded machine serves sixteen generations on
    four slots slowly. Modules with settings of their own override this fixture."""
    with custom_platform(
        backend, llama_fleet, tmp_path_factory, queue_timeout_seconds=60
    ) as platform:
        yield platform


@pytest.fixture
def fakes() -> Iterator[Callable[..., list[FakeLlamaServer]]]:
    """Start fake llama.cpp servers on demand; each is released and stopped afterwards."""
    started: list[FakeLlamaServer] = []

    def make(count: int = 1, **settings: Any) -> list[FakeLlamaServer]:
        new = [FakeLlamaServer(**settings).start() for _ in range(count)]
        started.extend(new)
        return new

    yield make
    for fake in started:
        fake.release()
        fake.stop()
