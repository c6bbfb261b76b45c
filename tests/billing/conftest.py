"""The platform wired to the Stripe double, once per database backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.billing.env import BillingEnv, billing_env


@pytest.fixture(scope="package")
def env(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BillingEnv]:
    with billing_env(backend, tmp_path_factory.mktemp(f"billing-{backend}")) as billing:
        yield billing
