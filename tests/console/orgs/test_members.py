"""Members: roles, owners kept, leaving and removal (which revokes the member's keys)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.models import ApiKey
from tests.support.console import Member, sign_in
from tests.support.platform import Platform


def _join(console: Platform, owner: Member, role: str) -> Member:
    return sign_in(console, org_id=owner.org_id, role=role)


def _roles(member: Member) -> dict[str, str]:
    rows = member.client.get(f"/api/orgs/{member.org_id}/members").json()
    return {r["email"]: r["role"] for r in rows}


def test_members_are_listed_with_their_roles(console: Platform, member: Member) -> None:
    dev = _join(console, member, "developer")
    assert _roles(dev) == {member.email: "owner", dev.email: "developer"}


def test_admins_change_roles_but_only_owners_touch_owners(
    console: Platform, member: Member
) -> None:
    admin = _join(console, member, "admin")
    dev = _join(console, member, "developer")
    url = f"/api/orgs/{member.org_id}/members"

    promoted = admin.client.patch(f"{url}/{dev.user_id}", json={"role": "billing"})
    assert promoted.status_code == 200 and promoted.json()["role"] == "billing"
    for target, role in [(dev.user_id, "owner"), (member.user_id, "admin")]:
        response = admin.client.patch(f"{url}/{target}", json={"role": role})
        assert response.status_code == 403
    assert dev.client.patch(f"{url}/{admin.user_id}", json={"role": "billing"}).status_code == 403
    assert admin.client.patch(f"{url}/{dev.user_id}", json={"role": "root"}).status_code == 422
    assert _roles(member) == {member.email: "owner", admin.email: "admin", dev.email: "billing"}

    assert member.client.patch(f"{url}/{admin.user_id}", json={"role": "owner"}).status_code == 200
    assert _roles(member)[admin.email] == "owner"


def test_the_last_owner_stays(console: Platform, member: Member) -> None:
    url = f"/api/orgs/{member.org_id}/members/{member.user_id}"
    demote = member.client.patch(url, json={"role": "admin"})
    assert demote.status_code == 409 and demote.json()["error"]["code"] == "last_owner"
    leave = member.client.delete(url)
    assert leave.status_code == 409 and leave.json()["error"]["code"] == "last_owner"
    assert _roles(member) == {member.email: "owner"}

    second = _join(console, member, "owner")
    assert member.client.patch(url, json={"role": "admin"}).status_code == 200
    assert _roles(second)[member.email] == "admin"


def test_anyone_may_leave_and_loses_access(console: Platform, member: Member) -> None:
    billing = _join(console, member, "billing")
    response = billing.client.delete(f"/api/orgs/{member.org_id}/members/{billing.user_id}")
    assert response.status_code == 204
    assert billing.client.get(f"/api/orgs/{member.org_id}").status_code == 404
    assert billing.email not in _roles(member)
    actions = [
        e["action"]
        for e in member.client.get(f"/api/orgs/{member.org_id}/audit-log").json()["data"]
    ]
    assert actions[0] == "member.leave"


def test_removing_someone_takes_members_manage(console: Platform, member: Member) -> None:
    dev = _join(console, member, "developer")
    other = _join(console, member, "developer")
    url = f"/api/orgs/{member.org_id}/members/{other.user_id}"
    assert dev.client.delete(url).status_code == 403
    assert other.email in _roles(member)
    assert member.client.delete(url).status_code == 204
    assert other.email not in _roles(member)
    missing = member.client.delete(f"/api/orgs/{member.org_id}/members/{uuid.uuid4()}")
    assert missing.status_code == 404


def test_a_removed_members_keys_stop_working(console: Platform, member: Member) -> None:
    dev = _join(console, member, "developer")
    theirs = dev.client.post(f"/api/orgs/{member.org_id}/keys", json={"name": "dev"}).json()
    mine = member.client.post(f"/api/orgs/{member.org_id}/keys", json={"name": "own"}).json()
    assert (
        member.client.delete(f"/api/orgs/{member.org_id}/members/{dev.user_id}").status_code == 204
    )

    async def revoked(session: AsyncSession) -> dict[str, bool]:
        ids = [uuid.UUID(theirs["id"]), uuid.UUID(mine["id"])]
        rows = (await session.scalars(select(ApiKey).where(ApiKey.id.in_(ids)))).all()
        return {row.name: row.revoked for row in rows}

    assert console.run(revoked) == {"dev": True, "own": False}
