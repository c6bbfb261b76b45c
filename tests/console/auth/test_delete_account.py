"""Deleting an account: keys revoked, person anonymised, books kept, shared organisations
not left without an owner."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.admin import service
from gptapi.models import (
    ApiKey,
    CreditTransaction,
    Membership,
    Organization,
    StoredResponse,
    User,
)
from tests.console.auth.flows import PASSWORD, Account, AuthPlatform, confirm, error_code, register
from tests.support.threads import wait_until


@dataclass(frozen=True)
class Holdings:
    user_id: uuid.UUID
    personal_id: uuid.UUID
    secret: str


def _holdings(auth: AuthPlatform, account: Account) -> Holdings:
    async def work(session: AsyncSession) -> Holdings:
        user = await service.find_user(session, account.email)
        personal = await service.find_organization(session, account.email)
        await service.grant_credit(session, personal, 1_000_000_000, reason="test")
        _, secret = await service.create_key(session, personal, user, name="mine")
        session.add(
            StoredResponse(id="resp_kept", organization_id=personal.id, history=[], response={})
        )
        return Holdings(user.id, personal.id, secret)

    return auth.platform.run(work)


def _models(auth: AuthPlatform, secret: str) -> int:
    return httpx.get(
        f"{auth.url}/v1/models", headers={"Authorization": f"Bearer {secret}"}
    ).status_code


def test_deleting_an_account_revokes_keys_and_forgets_the_person(auth: AuthPlatform) -> None:
    account = register(auth)
    held = _holdings(auth, account)
    assert _models(auth, held.secret) == 200

    auth.clock.advance(11 * 60)
    unconfirmed = account.client.delete("/api/me")
    assert unconfirmed.status_code == 403 and error_code(unconfirmed) == "reauthentication_required"
    confirm(account)
    assert account.client.delete("/api/me").status_code == 204
    assert account.client.get("/api/me").status_code == 401

    async def state(
        session: AsyncSession,
    ) -> tuple[User, Organization, list[ApiKey], int, int, int]:
        user = await session.get(User, held.user_id)
        personal = await session.get(Organization, held.personal_id)
        assert user is not None and personal is not None
        keys = list((await session.scalars(select(ApiKey).where(ApiKey.user_id == user.id))).all())
        memberships = await session.scalar(
            select(func.count()).select_from(Membership).where(Membership.user_id == user.id)
        )
        ledger = await session.scalar(
            select(func.count())
            .select_from(CreditTransaction)
            .where(CreditTransaction.organization_id == personal.id)
        )
        stored = await session.scalar(
            select(func.count())
            .select_from(StoredResponse)
            .where(StoredResponse.organization_id == personal.id)
        )
        return user, personal, keys, int(memberships or 0), int(ledger or 0), int(stored or 0)

    user, personal, keys, memberships, ledger, stored = auth.platform.run(state)
    assert account.email not in user.email and user.name == "" and user.password_hash is None
    assert not user.is_active and user.totp_secret is None
    assert not personal.is_active
    assert keys and all(key.revoked for key in keys)
    assert memberships == 0
    assert ledger == 2  # the books stay: the welcome credit and the grant
    assert stored == 0  # what was asked of the models does not
    wait_until(lambda: _models(auth, held.secret) == 401)

    gone = httpx.post(
        f"{auth.url}/api/auth/signin", json={"email": account.email, "password": PASSWORD}
    )
    assert gone.status_code == 401
    # The address is free again.
    again = register(auth, email=account.email)
    assert again.client.get("/api/me").json()["user"]["id"] != str(held.user_id)
    again.client.close()
    account.client.close()


def test_the_only_owner_of_a_shared_organisation_must_hand_it_over_first(
    auth: AuthPlatform,
) -> None:
    owner = register(auth)
    colleague = register(auth)

    async def share(session: AsyncSession) -> uuid.UUID:
        user = await service.find_user(session, owner.email)
        other = await service.find_user(session, colleague.email)
        team = await service.create_organization(session, "Team", user)
        session.add(Membership(organization_id=team.id, user_id=other.id, role="developer"))
        return team.id

    team_id = auth.platform.run(share)
    confirm(owner)
    refused = owner.client.delete("/api/me")
    assert refused.status_code == 409 and error_code(refused) == "ownership_transfer_required"
    assert owner.client.get("/api/me").status_code == 200

    async def promote(session: AsyncSession) -> None:
        other = await service.find_user(session, colleague.email)
        membership = await session.get(Membership, (team_id, other.id))
        assert membership is not None
        membership.role = "owner"

    auth.platform.run(promote)
    assert owner.client.delete("/api/me").status_code == 204

    async def team(session: AsyncSession) -> Organization | None:
        return await session.get(Organization, team_id)

    kept = auth.platform.run(team)
    assert kept is not None and kept.is_active
    assert [o["name"] for o in colleague.client.get("/api/me").json()["organizations"]] == [
        f"{colleague.email}'s organization",
        "Team",
    ]
    owner.client.close()
    colleague.client.close()
