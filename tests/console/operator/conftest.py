from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.console import Member, sign_in
from tests.support.platform import Platform


@pytest.fixture
def operator(console: Platform) -> Iterator[Member]:
    """A signed-in platform admin."""
    admin = sign_in(console, admin=True)
    try:
        yield admin
    finally:
        admin.client.close()
