"""With private destinations refused (production's setting), the API will not register a
URL that points inside our network."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.console import sign_in
from tests.support.platform import Platform, test_settings as settings_for
from tests.support.webhooks import Hooks


@pytest.fixture(scope="module")
def guarded(hooks_platform: Hooks, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    settings = hooks_platform.platform.settings
    platform = Platform(
        settings_for(
            settings.resolved_database_url,
            tmp_path_factory.mktemp("guarded"),
            run_workers=False,
            webhook_allow_private_urls=False,
        )
    ).start()
    try:
        yield platform
    finally:
        platform.stop()


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.0.0.1/hook",
        "https://192.168.0.5/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/hook",
        "http://hooks.example.com/hook",
    ],
)
def test_internal_or_plain_http_urls_are_refused(guarded: Platform, url: str) -> None:
    member = sign_in(guarded)
    base = f"/api/orgs/{member.org_id}/webhooks"
    response = member.client.post(base, json={"url": url, "event_types": ["balance.low"]})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_url"
    assert member.client.get(base).json() == []


def test_ip_v6_literals_are_not_accepted_as_urls(guarded: Platform) -> None:
    member = sign_in(guarded)
    base = f"/api/orgs/{member.org_id}/webhooks"
    for url in ("https://[::1]/hook", "https://[::ffff:10.0.0.1]/hook"):
        response = member.client.post(base, json={"url": url, "event_types": ["balance.low"]})
        assert response.status_code == 422
    assert member.client.get(base).json() == []


def test_a_name_without_addresses_yet_is_accepted_and_checked_at_send(guarded: Platform) -> None:
    member = sign_in(guarded)
    base = f"/api/orgs/{member.org_id}/webhooks"
    url = "https://hooks.does-not-exist.invalid/hook"
    response = member.client.post(base, json={"url": url, "event_types": ["balance.low"]})
    assert response.status_code == 201
