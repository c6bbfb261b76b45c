"""Signing in with Google, GitHub, Facebook and Indeed: the whole redirect round trip over HTTP
against the provider double, on both database backends."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
import pytest
from fastapi import Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.config import Settings
from gptapi.console.auth.oauth.flow import Flow, read_flow, safe_next, set_flow_cookie
from gptapi.console.auth.oauth.providers import configured_providers
from gptapi.console.auth.sessions import SESSION_COOKIE
from gptapi.console.auth.two_factor import encrypt_secret
from gptapi.inference.launcher import free_port
from gptapi.models import Membership, OAuthIdentity, Organization, User
from tests.support.console import ConsoleClient, sign_in
from tests.support.databases import fresh_database
from tests.support.oauth_provider import PROVIDERS, OAuthProviderDouble, Person
from tests.support.platform import Platform, test_settings as platform_settings


def start(client: ConsoleClient, provider: str, next_path: str | None = None) -> httpx.Response:
    """The console's button, then the provider approving: the redirect back to our callback."""
    params = {"next": next_path} if next_path else {}
    begin = client.get(f"/api/auth/oauth/{provider}/authorize", params=params)
    assert begin.status_code == 302, begin.text
    approval = httpx.get(begin.headers["location"])
    assert approval.status_code == 302, approval.text
    return approval


def callback(client: ConsoleClient, approval: httpx.Response) -> httpx.Response:
    back = urlsplit(approval.headers["location"])
    return client.get(f"{back.path}?{back.query}")


def dance(
    platform: Platform,
    provider: str,
    client: ConsoleClient | None = None,
    next_path: str | None = None,
) -> tuple[ConsoleClient, httpx.Response]:
    client = client or ConsoleClient(platform.url)
    return client, callback(client, start(client, provider, next_path))


def error_of(response: httpx.Response) -> str:
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert location.path == "/signin"
    return parse_qs(location.query)["error"][0]


def identities_of(platform: Platform, user_id: uuid.UUID) -> list[tuple[str, str]]:
    async def work(session: AsyncSession) -> list[tuple[str, str]]:
        rows = await session.scalars(select(OAuthIdentity).where(OAuthIdentity.user_id == user_id))
        return sorted((r.provider, r.provider_user_id) for r in rows)

    return platform.run(work)


def user_by_email(platform: Platform, email: str) -> User | None:
    async def work(session: AsyncSession) -> User | None:
        user: User | None = await session.scalar(select(User).where(User.email == email))
        return user

    return platform.run(work)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_first_sign_in_creates_a_verified_user_with_a_personal_org(
    oauth_platform: Platform, person: Person, provider: str
) -> None:
    client, response = dance(oauth_platform, provider, next_path="/keys?tab=all")

    assert response.status_code == 302
    assert response.headers["location"] == "/keys?tab=all"
    assert client.http.cookies.get(SESSION_COOKIE)
    assert person.email is not None
    user = user_by_email(oauth_platform, person.email)
    assert user is not None and user.email_verified_at is not None and user.password_hash is None
    assert identities_of(oauth_platform, user.id) == [(provider, person.sub)]

    async def personal(session: AsyncSession) -> bool:
        org = await session.scalar(
            select(Organization)
            .join(Membership, Membership.organization_id == Organization.id)
            .where(Membership.user_id == user.id, Membership.role == "owner")
        )
        return org is not None and org.is_personal

    assert oauth_platform.run(personal)
    listed = client.get("/api/auth/identities")
    assert listed.status_code == 200
    assert [(i["provider"], i["email"]) for i in listed.json()["data"]] == [
        (provider, person.email)
    ]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_verified_email_links_the_existing_account(
    oauth_platform: Platform, person: Person, provider: str
) -> None:
    existing = sign_in(oauth_platform, email=person.email)
    existing.client.close()

    client, response = dance(oauth_platform, provider)

    assert response.headers["location"] == "/"
    assert identities_of(oauth_platform, existing.user_id) == [(provider, person.sub)]
    assert client.get("/api/auth/identities").json()["data"][0]["provider"] == provider


@pytest.mark.parametrize("provider", ["google", "github", "indeed"])
def test_unverified_provider_email_is_neither_linked_nor_registered(
    oauth_platform: Platform, person: Person, provider: str
) -> None:
    existing = sign_in(oauth_platform, email=person.email)
    existing.client.close()
    person.email_verified = False

    client, response = dance(oauth_platform, provider)

    assert error_of(response) == "email_not_verified"
    assert SESSION_COOKIE not in client.http.cookies
    assert identities_of(oauth_platform, existing.user_id) == []

    person.email = f"fresh-{uuid.uuid4().hex[:8]}@example.com"
    _, response = dance(oauth_platform, provider)
    assert error_of(response) == "email_not_verified"
    assert user_by_email(oauth_platform, person.email) is None


def test_facebook_without_a_confirmed_email_is_refused(
    oauth_platform: Platform, person: Person
) -> None:
    person.email_verified = False
    _, response = dance(oauth_platform, "facebook")
    assert error_of(response) == "email_missing"


def test_a_linked_identity_signs_in_even_after_the_email_changes(
    oauth_platform: Platform, person: Person
) -> None:
    dance(oauth_platform, "github")
    assert person.email is not None
    first = user_by_email(oauth_platform, person.email)
    assert first is not None
    person.email = f"renamed-{uuid.uuid4().hex[:8]}@example.com"

    _, response = dance(oauth_platform, "github")

    assert response.headers["location"] == "/"
    assert identities_of(oauth_platform, first.id) == [("github", person.sub)]
    assert user_by_email(oauth_platform, person.email) is None


def test_linking_an_unverified_local_account_drops_its_password(
    oauth_platform: Platform, person: Person
) -> None:
    squatter = sign_in(oauth_platform, email=person.email)

    async def unverify(session: AsyncSession) -> None:
        user = await session.get(User, squatter.user_id)
        assert user is not None
        user.email_verified_at = None
        user.password_hash = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"

    oauth_platform.run(unverify)

    dance(oauth_platform, "google")

    assert person.email is not None
    user = user_by_email(oauth_platform, person.email)
    assert user is not None and user.id == squatter.user_id
    assert user.password_hash is None and user.email_verified_at is not None
    assert squatter.client.get("/api/auth/identities").status_code == 401
    squatter.client.close()


def test_state_must_match_the_cookie_of_the_browser_that_started(
    oauth_platform: Platform, person: Person
) -> None:
    client = ConsoleClient(oauth_platform.url)
    approval = start(client, "google")
    back = urlsplit(approval.headers["location"])
    query = parse_qs(back.query)

    tampered = client.get(
        back.path, params={"code": query["code"][0], "state": query["state"][0] + "x"}
    )
    assert error_of(tampered) == "invalid_state"

    missing = client.get(back.path, params={"code": query["code"][0]})
    assert error_of(missing) == "invalid_state"

    other_browser = ConsoleClient(oauth_platform.url)
    assert error_of(callback(other_browser, approval)) == "invalid_state"

    wrong_provider = client.get(
        "/api/auth/oauth/github/callback", params={"code": "x", "state": query["state"][0]}
    )
    assert error_of(wrong_provider) == "invalid_state"
    assert person.email is not None and user_by_email(oauth_platform, person.email) is None


def test_a_code_the_provider_rejects_ends_with_an_error_not_a_500(
    oauth_platform: Platform, person: Person
) -> None:
    for provider in PROVIDERS:
        client = ConsoleClient(oauth_platform.url)
        approval = start(client, provider)
        back = urlsplit(approval.headers["location"])
        state = parse_qs(back.query)["state"][0]
        response = client.get(back.path, params={"code": "forged", "state": state})
        assert error_of(response) == "provider_error", provider


def test_denied_consent_returns_to_the_console(
    oauth_platform: Platform, provider_double: OAuthProviderDouble, person: Person
) -> None:
    provider_double.deny = True
    client, response = dance(oauth_platform, "indeed")
    assert error_of(response) == "access_denied"
    assert SESSION_COOKIE not in client.http.cookies


def test_next_is_only_ever_a_path_on_this_site(oauth_platform: Platform, person: Person) -> None:
    _, response = dance(oauth_platform, "github", next_path="https://evil.example/steal")
    assert response.headers["location"] == "/"
    for hostile in ["//evil.example", "/\\evil.example", "https://x", "javascript:alert(1)", ""]:
        assert safe_next(hostile) == "/"
    assert safe_next("/usage?range=7d") == "/usage?range=7d"


def test_two_factor_users_still_face_the_second_step(
    oauth_platform: Platform, person: Person
) -> None:
    existing = sign_in(oauth_platform, email=person.email)
    existing.client.close()
    secret = pyotp.random_base32()

    async def enable_totp(session: AsyncSession) -> None:
        user = await session.get(User, existing.user_id)
        assert user is not None
        user.totp_secret = encrypt_secret(oauth_platform.runtime.console.secret_key, secret)
        user.totp_enabled_at = datetime.now(UTC)

    oauth_platform.run(enable_totp)

    client, response = dance(oauth_platform, "google", next_path="/billing")

    location = urlsplit(response.headers["location"])
    assert location.path == "/signin"
    fragment = parse_qs(location.fragment)
    assert fragment["next"] == ["/billing"]
    assert SESSION_COOKIE not in client.http.cookies
    assert client.get("/api/auth/identities").status_code == 401

    second_step = client.post(
        "/api/auth/signin/2fa",
        json={"challenge": fragment["mfa_challenge"][0], "code": pyotp.TOTP(secret).now()},
    )
    assert second_step.status_code == 200, second_step.text
    assert client.get("/api/auth/identities").json()["data"][0]["provider"] == "google"


def test_identities_can_be_added_and_removed_but_not_the_last(
    oauth_platform: Platform, person: Person, provider_double: OAuthProviderDouble
) -> None:
    client, _ = dance(oauth_platform, "google")
    last = client.delete("/api/auth/identities/google")
    assert last.status_code == 409
    assert last.json()["error"]["code"] == "last_sign_in_method"

    provider_double.person = Person(email=person.email)
    dance(oauth_platform, "indeed", client=client)
    assert [i["provider"] for i in client.get("/api/auth/identities").json()["data"]] == [
        "google",
        "indeed",
    ]

    assert client.delete("/api/auth/identities/google").status_code == 204
    assert client.delete("/api/auth/identities/google").status_code == 404
    assert [i["provider"] for i in client.get("/api/auth/identities").json()["data"]] == ["indeed"]


def test_an_identity_linked_elsewhere_cannot_be_claimed(
    oauth_platform: Platform, person: Person
) -> None:
    dance(oauth_platform, "github")
    other = sign_in(oauth_platform)
    _, response = dance(oauth_platform, "github", client=other.client)
    assert error_of(response) == "identity_in_use"
    assert identities_of(oauth_platform, other.user_id) == []
    other.client.close()


def test_providers_are_off_unless_configured(console: Platform) -> None:
    client = ConsoleClient(console.url)
    assert client.get("/api/config").json()["oauth_providers"] == []
    for provider in PROVIDERS:
        assert client.get(f"/api/auth/oauth/{provider}/authorize").status_code == 404
        assert client.get(f"/api/auth/oauth/{provider}/callback").status_code == 404
    assert client.get("/api/auth/oauth/myspace/authorize").status_code == 404


def test_config_lists_exactly_the_enabled_providers(oauth_platform: Platform) -> None:
    client = ConsoleClient(oauth_platform.url)
    assert client.get("/api/config").json()["oauth_providers"] == list(PROVIDERS)

    partial = Settings(
        _env_file=None,
        github_client_id="id",
        github_client_secret="secret",
        facebook_client_id="id-only",
    )
    assert list(configured_providers(partial)) == ["github"]
    supabase = Settings(
        _env_file=None,
        auth_provider="supabase",
        github_client_id="id",
        github_client_secret="secret",
    )
    assert configured_providers(supabase) == {}


def test_an_unreachable_provider_returns_to_the_console(
    backend: str, provider_double: OAuthProviderDouble, tmp_path: Path
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    overrides = provider_double.settings(("google", "github"))
    overrides["google_discovery_url"] = f"{dead}/.well-known/openid-configuration"
    overrides["github_token_url"] = f"{dead}/login/oauth/access_token"
    with fresh_database(backend, tmp_path) as url:
        platform = Platform(platform_settings(url, tmp_path, **overrides)).start()
        try:
            client = ConsoleClient(platform.url)
            begin = client.get("/api/auth/oauth/google/authorize")
            assert error_of(begin) == "provider_error"
            _, response = dance(platform, "github")
            assert error_of(response) == "provider_error"
        finally:
            platform.stop()


def test_a_disabled_account_is_neither_signed_in_nor_linked(
    oauth_platform: Platform, person: Person
) -> None:
    existing = sign_in(oauth_platform, email=person.email)
    existing.client.close()

    async def disable(session: AsyncSession) -> None:
        user = await session.get(User, existing.user_id)
        assert user is not None
        user.is_active = False

    oauth_platform.run(disable)
    client, response = dance(oauth_platform, "facebook")
    assert error_of(response) == "account_disabled"
    assert SESSION_COOKIE not in client.http.cookies
    assert identities_of(oauth_platform, existing.user_id) == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"nonce": "replayed"},
        {"aud": "someone-else"},
        {"iss": "https://accounts.evil.example"},
        {"exp": 1_000_000_000},
    ],
    ids=["nonce", "audience", "issuer", "expired"],
)
def test_google_id_tokens_are_checked(
    oauth_platform: Platform,
    provider_double: OAuthProviderDouble,
    person: Person,
    overrides: dict[str, object],
) -> None:
    provider_double.id_token_overrides = overrides
    _, response = dance(oauth_platform, "google")
    assert error_of(response) == "provider_error"
    assert person.email is not None and user_by_email(oauth_platform, person.email) is None


def test_the_flow_cookie_lasts_ten_minutes_and_binds_provider_and_state() -> None:
    settings = Settings(_env_file=None)
    key = b"k" * 32
    now = datetime(2026, 1, 1, tzinfo=UTC)
    flow = Flow.begin("github", "/keys")
    response = Response()
    set_flow_cookie(response, flow, key, settings, now)
    cookie = response.headers["set-cookie"].split(";", 1)[0].split("=", 1)[1]

    assert read_flow(cookie, key, "github", flow.state, now + timedelta(minutes=9)) == flow
    assert read_flow(cookie, key, "github", flow.state, now + timedelta(minutes=10)) is None
    assert read_flow(cookie, key, "google", flow.state, now) is None
    assert read_flow(cookie, key, "github", flow.state + "x", now) is None
    assert read_flow(cookie, b"other" * 8, "github", flow.state, now) is None
    assert read_flow(cookie[:-2], key, "github", flow.state, now) is None
