"""The audit log: every change, newest first, paged by cursor, for owners and admins only."""

from __future__ import annotations

from tests.support.console import Member, sign_in
from tests.support.platform import Platform


def test_changes_are_paged_newest_first(member: Member) -> None:
    url = f"/api/orgs/{member.org_id}"
    for name in ["one", "two", "three"]:
        member.client.patch(url, json={"name": name})
    member.client.post(f"{url}/keys", json={"name": "k"})

    first = member.client.get(f"{url}/audit-log", params={"limit": 3}).json()
    assert [e["action"] for e in first["data"]] == ["api_key.create"] + ["organization.update"] * 2
    assert first["data"][0]["actor_email"] == member.email
    assert first["data"][1]["data"]["name"] == {"from": "two", "to": "three"}
    rest = member.client.get(
        f"{url}/audit-log", params={"limit": 3, "cursor": first["next_cursor"]}
    ).json()
    assert [e["data"]["name"]["to"] for e in rest["data"]] == ["one"]
    assert rest["next_cursor"] is None


def test_a_page_ending_at_the_oldest_entry_is_the_last(member: Member) -> None:
    url = f"/api/orgs/{member.org_id}/audit-log"
    member.client.patch(f"/api/orgs/{member.org_id}", json={"name": "renamed"})
    everything = member.client.get(url).json()["data"]
    page = member.client.get(url, params={"limit": len(everything)}).json()
    assert page["data"] == everything
    assert page["next_cursor"] is None


def test_bad_paging_is_refused(member: Member) -> None:
    url = f"/api/orgs/{member.org_id}/audit-log"
    for params in [{"cursor": ""}, {"cursor": "abc"}, {"limit": 0}, {"limit": 201}]:
        response = member.client.get(url, params=params)
        assert response.status_code == 422, params


def test_only_owners_and_admins_read_it(console: Platform, member: Member) -> None:
    url = f"/api/orgs/{member.org_id}/audit-log"
    for role, status in [("admin", 200), ("developer", 403), ("billing", 403)]:
        colleague = sign_in(console, org_id=member.org_id, role=role)
        assert colleague.client.get(url).status_code == status, role
        colleague.client.close()
