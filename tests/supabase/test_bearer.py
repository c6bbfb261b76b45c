"""Supabase access tokens on /api: HS256 with the project secret, RS256/ES256 from the
project's JWKS; anything expired, for another audience or badly signed is a 401."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.admin.service import create_user
from gptapi.config import Settings
from gptapi.console.auth.supabase import refuse_in_supabase_mode
from gptapi.console.errors import ApiError
from gptapi.console.state import BearerAuthenticator
from gptapi.kit.clock import ManualClock
from gptapi.models import Membership, Organization, User
from tests.supabase.tokens import SupabaseProject
from tests.support.platform import Platform


def call(platform: Platform, token: str) -> httpx.Response:
    return httpx.get(
        f"{platform.url}/api/auth/identities", headers={"Authorization": f"Bearer {token}"}
    )


def new_person() -> tuple[uuid.UUID, str]:
    return uuid.uuid4(), f"sb-{uuid.uuid4().hex[:10]}@example.com"


def profile(platform: Platform, user_id: uuid.UUID) -> tuple[User | None, bool]:
    async def work(session: AsyncSession) -> tuple[User | None, bool]:
        user = await session.get(User, user_id)
        personal = await session.scalar(
            select(Organization.is_personal)
            .join(Membership, Membership.organization_id == Organization.id)
            .where(Membership.user_id == user_id, Membership.role == "owner")
        )
        return user, bool(personal)

    return platform.run(work)


def test_hs256_token_signs_in_and_creates_the_profile_on_first_sight(
    supabase_platform: Platform, project: SupabaseProject
) -> None:
    user_id, email = new_person()
    token = project.hs256(project.claims(user_id, email))

    assert call(supabase_platform, token).status_code == 200
    assert call(supabase_platform, token).status_code == 200  # and only once
    user, has_personal_org = profile(supabase_platform, user_id)
    assert user is not None and user.email == email and has_personal_org


def test_token_maps_to_the_profile_the_signup_trigger_made(
    supabase_platform: Platform, project: SupabaseProject
) -> None:
    user_id, email = new_person()

    async def trigger(session: AsyncSession) -> None:
        await create_user(session, email, name="From trigger", user_id=user_id)

    supabase_platform.run(trigger)
    assert call(supabase_platform, project.hs256(project.claims(user_id, email))).status_code == 200
    user, _ = profile(supabase_platform, user_id)
    assert user is not None and user.name == "From trigger"


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_asymmetric_tokens_verify_against_the_project_jwks(
    supabase_platform: Platform,
    project: SupabaseProject,
    supabase_clock: ManualClock,
    algorithm: str,
) -> None:
    kid = project.new_key(algorithm)
    supabase_clock.advance(60)  # past the refetch floor, so the new kid is looked up
    user_id, email = new_person()
    assert (
        call(supabase_platform, project.signed(kid, project.claims(user_id, email))).status_code
        == 200
    )


def test_an_unknown_kid_refreshes_the_jwks_at_most_every_30_seconds(
    supabase_platform: Platform, project: SupabaseProject, supabase_clock: ManualClock
) -> None:
    first = project.new_key("RS256")
    supabase_clock.advance(60)
    user_id, email = new_person()
    assert (
        call(supabase_platform, project.signed(first, project.claims(user_id, email))).status_code
        == 200
    )
    fetches = project.fetches

    rotated = project.new_key("ES256")
    token = project.signed(rotated, project.claims(user_id, email))
    assert call(supabase_platform, token).status_code == 401
    assert project.fetches == fetches  # too soon after the last fetch to ask again

    supabase_clock.advance(31)  # well inside the 10-minute cache lifetime
    assert call(supabase_platform, token).status_code == 200
    assert project.fetches == fetches + 1
    assert call(supabase_platform, token).status_code == 200
    assert project.fetches == fetches + 1


def test_bad_tokens_are_rejected(supabase_platform: Platform, project: SupabaseProject) -> None:
    kid = project.new_key("RS256")
    user_id, email = new_person()
    now = int(time.time())
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    bad = {
        "expired": project.hs256(project.claims(user_id, email, exp=now - 10, iat=now - 3610)),
        "anon audience": project.hs256(project.claims(user_id, email, aud="anon", role="anon")),
        "other issuer": project.hs256(
            project.claims(user_id, email, iss="https://other.supabase.co/auth/v1")
        ),
        "wrong secret": project.hs256(project.claims(user_id, email), secret="x" * 40),
        "service role key": project.hs256(
            {"iss": "supabase", "ref": "abc", "role": "service_role", "iat": now, "exp": now + 60}
        ),
        "no sub": project.hs256(project.claims(user_id, email, sub="not-a-uuid")),
        "wrong key, known kid": jwt.encode(
            project.claims(user_id, email), stranger, algorithm="RS256", headers={"kid": kid}
        ),
        "alg none": jwt.encode(project.claims(user_id, email), "", algorithm="none"),
        "garbage": "not.a.jwt",
    }
    for reason, token in bad.items():
        response = call(supabase_platform, token)
        assert response.status_code == 401, reason
        assert response.json()["error"]["code"] == "invalid_authorization", reason
    assert profile(supabase_platform, user_id)[0] is None


def test_config_hands_the_console_the_supabase_project(
    supabase_platform: Platform, project: SupabaseProject
) -> None:
    config = httpx.get(f"{supabase_platform.url}/api/config").json()
    assert config["auth_provider"] == "supabase"
    assert config["supabase_url"] == project.url
    assert config["supabase_anon_key"] == "anon-key"
    assert config["oauth_providers"] == []


def test_local_account_endpoints_can_refuse_in_supabase_mode() -> None:
    refuse_in_supabase_mode(Settings(_env_file=None))
    with pytest.raises(ApiError) as refused:
        refuse_in_supabase_mode(Settings(_env_file=None, auth_provider="supabase"))
    assert refused.value.status == 404


def test_the_latest_amr_step_counts_as_the_last_confirmation(
    supabase_platform: Platform, project: SupabaseProject
) -> None:
    authenticator: BearerAuthenticator | None = supabase_platform.runtime.console.bearer
    assert authenticator is not None
    user_id, email = new_person()

    async def trigger(session: AsyncSession) -> None:
        await create_user(session, email, user_id=user_id)

    supabase_platform.run(trigger)
    now = int(time.time())
    with_mfa = project.claims(
        user_id,
        email,
        iat=now - 5,
        amr=[
            {"method": "password", "timestamp": now - 600},
            {"method": "totp", "timestamp": now - 30},
        ],
    )
    without_amr = project.claims(user_id, email, iat=now - 5)
    del without_amr["amr"]

    async def confirmed_at(session: AsyncSession, claims: dict[str, object]) -> datetime | None:
        identity = await authenticator.authenticate(session, project.hs256(claims))
        assert identity is not None and identity.user.id == user_id
        return identity.authenticated_at

    assert supabase_platform.run(lambda s: confirmed_at(s, with_mfa)) == datetime.fromtimestamp(
        now - 30, UTC
    )
    assert supabase_platform.run(lambda s: confirmed_at(s, without_amr)) == datetime.fromtimestamp(
        now - 5, UTC
    )
