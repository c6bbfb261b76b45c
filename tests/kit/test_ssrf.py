"""The egress guard refuses every address inside our network in production mode, whatever
form it is written in or resolved from."""

from __future__ import annotations

import asyncio

import pytest

from gptapi.config import Settings
from gptapi.kit.ssrf import BlockedDestination, EgressGuard, Resolver


def _resolver(answers: dict[str, list[str]]) -> Resolver:
    async def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            raise OSError("name not known")
        return answers[host]

    return resolve


def _production_guard(answers: dict[str, list[str]] | None = None) -> EgressGuard:
    settings = Settings(_env_file=None, environment="production")
    assert settings.allow_private_webhook_urls is False
    return EgressGuard(
        allow_private=settings.allow_private_webhook_urls, resolver=_resolver(answers or {})
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://10.1.2.3/hook",
        "https://172.16.0.1/hook",
        "https://192.168.1.10/hook",
        "https://127.0.0.1/hook",
        "https://127.9.9.9:8443/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://169.254.10.1/hook",
        "https://100.64.0.1/hook",
        "https://0.0.0.0/hook",
        "https://224.0.0.1/hook",
        "https://240.0.0.1/hook",
        "https://[::1]/hook",
        "https://[fe80::1]/hook",
        "https://[fc00::1]/hook",
        "https://[fd00:ec2::254]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://[64:ff9b::a9fe:a9fe]/hook",
    ],
)
def test_literal_internal_addresses_are_refused(url: str) -> None:
    with pytest.raises(BlockedDestination):
        asyncio.run(_production_guard().resolve(url))


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/plain-http",
        "ftp://hooks.example.com/",
        "https://user:secret@hooks.example.com/",
        "https:///no-host",
        "not a url",
    ],
)
def test_malformed_or_plain_http_urls_are_refused_in_production(url: str) -> None:
    with pytest.raises(BlockedDestination):
        asyncio.run(_production_guard({"hooks.example.com": ["93.184.216.34"]}).resolve(url))


def test_localhost_resolves_to_loopback_and_is_refused() -> None:
    guard = EgressGuard(allow_private=False)  # the system resolver
    with pytest.raises(BlockedDestination, match="loopback"):
        asyncio.run(guard.resolve("https://localhost/hook"))


def test_a_name_with_any_internal_answer_is_refused() -> None:
    guard = _production_guard({"mixed.example.com": ["93.184.216.34", "10.0.0.7"]})
    with pytest.raises(BlockedDestination, match="private"):
        asyncio.run(guard.resolve("https://mixed.example.com/hook"))


def test_a_public_name_is_pinned_to_its_checked_address() -> None:
    guard = _production_guard({"hooks.example.com": ["93.184.216.34"]})
    target = asyncio.run(guard.resolve("https://hooks.example.com:8443/hook"))
    assert (target.host, target.port, target.address) == (
        "hooks.example.com",
        8443,
        "93.184.216.34",
    )


def test_development_allows_loopback_but_never_metadata() -> None:
    settings = Settings(_env_file=None, environment="development")
    guard = EgressGuard(allow_private=settings.allow_private_webhook_urls)
    assert asyncio.run(guard.resolve("http://127.0.0.1:9/hook")).address == "127.0.0.1"
    for url in ("http://169.254.169.254/", "http://[fd00:ec2::254]/"):
        with pytest.raises(BlockedDestination, match="metadata"):
            asyncio.run(guard.resolve(url))
