"""Organisations: listing mine, creating, renaming, switching and deleting."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.admin import service
from gptapi.kit.money import dollars_to_nanos
from gptapi.models import ApiKey, Organization, StoredResponse
from tests.support.console import Member, sign_in
from tests.support.platform import Platform


def test_everyone_starts_with_a_personal_organization(member: Member) -> None:
    orgs = member.client.get("/api/orgs").json()
    assert [(o["id"], o["role"], o["is_personal"], o["default"]) for o in orgs] == [
        (str(member.org_id), "owner", True, True)
    ]


def test_creating_an_organization_makes_me_its_owner(member: Member) -> None:
    created = member.client.post("/api/orgs", json={"name": "  Acme  "})
    assert created.status_code == 201
    body = created.json()
    assert (body["name"], body["role"], body["is_personal"]) == ("Acme", "owner", False)
    listed = {o["id"]: o for o in member.client.get("/api/orgs").json()}
    assert listed[body["id"]]["role"] == "owner"
    assert member.client.get(f"/api/orgs/{body['id']}").json()["name"] == "Acme"


def test_a_bad_name_is_refused(member: Member) -> None:
    for name in ["", "   ", "x" * 201]:
        response = member.client.post("/api/orgs", json={"name": name})
        assert response.status_code == 422, name
        assert response.json()["error"]["param"] == "name"
    assert len(member.client.get("/api/orgs").json()) == 1


def test_switching_organizations_is_remembered(member: Member) -> None:
    acme = member.client.post("/api/orgs", json={"name": "Acme"}).json()["id"]
    assert member.client.put(f"/api/orgs/{acme}/default").status_code == 204
    defaults = [o["id"] for o in member.client.get("/api/orgs").json() if o["default"]]
    assert defaults == [acme]
    member.client.put(f"/api/orgs/{member.org_id}/default")
    defaults = [o["id"] for o in member.client.get("/api/orgs").json() if o["default"]]
    assert defaults == [str(member.org_id)]


def test_owners_rename_and_set_default_limits(member: Member) -> None:
    url = f"/api/orgs/{member.org_id}"
    response = member.client.patch(url, json={"name": "Renamed", "default_rpm_limit": 60})
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["default_rpm_limit"]) == ("Renamed", 60)
    cleared = member.client.patch(url, json={"default_rpm_limit": None}).json()
    assert (cleared["name"], cleared["default_rpm_limit"]) == ("Renamed", None)
    for bad, status in [({"default_tpm_limit": -1}, 422), ({"name": None}, 400)]:
        assert member.client.patch(url, json=bad).status_code == status, bad
    assert member.client.get(url).json()["default_tpm_limit"] is None
    actions = [e["action"] for e in member.client.get(f"{url}/audit-log").json()["data"]]
    assert actions == ["organization.update", "organization.update"]


def test_the_personal_organization_cannot_be_deleted(member: Member) -> None:
    response = member.client.delete(f"/api/orgs/{member.org_id}")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "personal_organization"


def test_an_organization_with_a_balance_cannot_be_deleted(
    console: Platform, member: Member
) -> None:
    acme = uuid.UUID(member.client.post("/api/orgs", json={"name": "Acme"}).json()["id"])

    async def fund(session: AsyncSession) -> None:
        organization = await session.get(Organization, acme)
        assert organization is not None
        await service.grant_credit(session, organization, dollars_to_nanos("1"), reason="test")

    console.run(fund)
    response = member.client.delete(f"/api/orgs/{acme}")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "balance_not_zero"
    assert member.client.get(f"/api/orgs/{acme}").status_code == 200


def test_deleting_an_organization_revokes_its_keys_and_removes_everyone(
    console: Platform, member: Member
) -> None:
    acme = member.client.post("/api/orgs", json={"name": "Acme"}).json()["id"]
    key = member.client.post(f"/api/orgs/{acme}/keys", json={"name": "k"}).json()
    colleague = sign_in(console, org_id=uuid.UUID(acme), role="admin")
    assert colleague.client.delete(f"/api/orgs/{acme}").status_code == 403

    async def store(session: AsyncSession) -> None:
        session.add(
            StoredResponse(id="resp_acme", organization_id=uuid.UUID(acme), history=[], response={})
        )

    console.run(store)

    assert member.client.delete(f"/api/orgs/{acme}").status_code == 204

    for person in (member, colleague):
        assert person.client.get(f"/api/orgs/{acme}").status_code == 404
        assert acme not in [o["id"] for o in person.client.get("/api/orgs").json()]

    async def state(session: AsyncSession) -> tuple[bool, bool, bool]:
        row = await session.scalar(select(ApiKey).where(ApiKey.id == uuid.UUID(key["id"])))
        organization = await session.get(Organization, uuid.UUID(acme))
        assert row is not None and organization is not None
        stored = await session.get(StoredResponse, "resp_acme")
        return row.revoked, organization.deleted_at is not None, stored is None

    assert console.run(state) == (True, True, True)
    colleague.client.close()
