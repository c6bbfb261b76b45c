"""Users, organisations and credit grants through the operator API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.kit import cursor as keyset
from gptapi.models import CreditTransaction, Organization
from tests.support.console import Member, sign_in
from tests.support.platform import Platform


def audit(operator: Member, **params: Any) -> list[dict[str, Any]]:
    return list(operator.client.get("/api/admin/audit-log", params=params).json()["data"])


def balance(console: Platform, org_id: uuid.UUID) -> int:
    async def work(session: AsyncSession) -> int:
        organization = await session.get(Organization, org_id)
        assert organization is not None
        return organization.balance_nanos

    return console.run(work)


def test_users_are_searchable_and_paged(console: Platform, operator: Member) -> None:
    tag = uuid.uuid4().hex[:8]
    people = [sign_in(console, email=f"{tag}-{i}@example.com") for i in range(5)]
    try:
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"query": tag.upper(), "limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = operator.client.get("/api/admin/users", params=params).json()
            seen += [u["email"] for u in page["data"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert seen == [f"{tag}-{i}@example.com" for i in reversed(range(5))]
        assert operator.client.get("/api/admin/users", params={"query": "%"}).status_code == 200
        for junk in ("junk", keyset.encode(datetime(1, 1, 1, tzinfo=UTC), uuid.uuid4())):
            bad = operator.client.get("/api/admin/users", params={"cursor": junk})
            assert bad.status_code == 400
    finally:
        for person in people:
            person.client.close()


def test_suspending_a_user_ends_their_sessions(
    console: Platform, operator: Member, member: Member
) -> None:
    assert member.client.get(f"/api/orgs/{member.org_id}/usage/requests").status_code == 200
    response = operator.client.post(f"/api/admin/users/{member.user_id}/suspend")
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert member.client.get(f"/api/orgs/{member.org_id}/usage/requests").status_code == 401
    response = operator.client.post(f"/api/admin/users/{member.user_id}/unsuspend")
    assert response.json()["is_active"] is True
    actions = [e["action"] for e in audit(operator, actor_id=str(operator.user_id))][:2]
    assert actions == ["user.unsuspend", "user.suspend"]
    myself = operator.client.post(f"/api/admin/users/{operator.user_id}/suspend")
    assert myself.status_code == 400
    assert operator.client.post(f"/api/admin/users/{uuid.uuid4()}/suspend").status_code == 404


def test_suspending_an_organisation(console: Platform, operator: Member, member: Member) -> None:
    org = f"/api/admin/orgs/{member.org_id}"
    assert operator.client.post(f"{org}/suspend").json()["is_active"] is False
    # Members can still look, but nothing changes while it is suspended.
    assert member.client.get(f"/api/orgs/{member.org_id}/usage/requests").status_code == 200
    assert operator.client.post(f"{org}/unsuspend").json()["is_active"] is True
    entries = audit(operator, org_id=str(member.org_id))
    assert [e["action"] for e in entries] == ["organization.unsuspend", "organization.suspend"]
    listed = operator.client.get("/api/admin/orgs", params={"limit": 200}).json()["data"]
    assert str(member.org_id) in {o["id"] for o in listed}


def test_credit_grants_are_ledger_entries_applied_once(
    console: Platform, operator: Member, member: Member
) -> None:
    path = f"/api/admin/orgs/{member.org_id}/credit-grants"
    before = balance(console, member.org_id)
    key = {"Idempotency-Key": f"grant-{uuid.uuid4()}"}
    first = operator.client.post(
        path, json={"amount_usd": "12.5", "reason": "conference credit"}, headers=key
    )
    assert first.status_code == 201, first.text
    assert first.json()["applied"] is True
    assert first.json()["amount_nanos"] == 12_500_000_000
    assert first.json()["balance_nanos"] == before + 12_500_000_000
    replay = operator.client.post(
        path, json={"amount_usd": "12.5", "reason": "conference credit"}, headers=key
    )
    assert replay.status_code == 200 and replay.json()["applied"] is False
    assert balance(console, member.org_id) == before + 12_500_000_000
    other = operator.client.post(path, json={"amount_usd": "1", "reason": "x"}, headers=key)
    assert other.status_code == 409
    correction = operator.client.post(path, json={"amount_usd": "-2.5", "reason": "typo"})
    assert correction.status_code == 201
    assert balance(console, member.org_id) == before + 10_000_000_000

    async def entries(session: AsyncSession) -> list[tuple[int, str, str, uuid.UUID | None]]:
        rows = await session.scalars(
            select(CreditTransaction)
            .where(CreditTransaction.organization_id == member.org_id)
            .order_by(CreditTransaction.id)
        )
        return [(r.amount_nanos, r.kind, r.description, r.created_by) for r in rows]

    assert console.run(entries)[-2:] == [
        (12_500_000_000, "grant", "conference credit", operator.user_id),
        (-2_500_000_000, "adjustment", "typo", operator.user_id),
    ]
    grants = audit(operator, action="credit.grant", org_id=str(member.org_id))
    assert [e["data"]["amount_nanos"] for e in grants] == [-2_500_000_000, 12_500_000_000]


def test_bad_grants_change_nothing(console: Platform, operator: Member, member: Member) -> None:
    path = f"/api/admin/orgs/{member.org_id}/credit-grants"
    before = balance(console, member.org_id)
    for body, status in [
        ({"amount_usd": "5"}, 422),
        ({"amount_usd": "5", "reason": ""}, 422),
        ({"amount_usd": "5", "reason": "   "}, 400),
        ({"amount_usd": "0", "reason": "nothing"}, 400),
        ({"amount_usd": "0.0000000001", "reason": "too fine"}, 422),
        ({"amount_usd": "1e12", "reason": "too much"}, 422),
    ]:
        response = operator.client.post(path, json=body)
        assert response.status_code == status, (body, response.text)
    missing = operator.client.post(
        f"/api/admin/orgs/{uuid.uuid4()}/credit-grants", json={"amount_usd": "5", "reason": "r"}
    )
    assert missing.status_code == 404
    assert balance(console, member.org_id) == before


def test_audit_log_pages(operator: Member, member: Member) -> None:
    path = f"/api/admin/orgs/{member.org_id}"
    for _ in range(3):
        operator.client.post(f"{path}/suspend")
        operator.client.post(f"{path}/unsuspend")
    first = operator.client.get(
        "/api/admin/audit-log", params={"org_id": str(member.org_id), "limit": 4}
    ).json()
    second = operator.client.get(
        "/api/admin/audit-log",
        params={"org_id": str(member.org_id), "limit": 4, "cursor": first["next_cursor"]},
    ).json()
    ids = [e["id"] for e in first["data"] + second["data"]]
    assert len(ids) == 6 and ids == sorted(ids, reverse=True)
    assert second["next_cursor"] is None
    assert first["data"][0]["actor_email"] == operator.email


def test_audit_log_refuses_foreign_cursors(operator: Member) -> None:
    for junk in ["abc", "²", "9" * 20]:
        response = operator.client.get("/api/admin/audit-log", params={"cursor": junk})
        assert response.status_code == 400, junk
        assert response.json()["error"]["param"] == "cursor"
